"""The `sealed` check: a class can require the workflow's evidence to be sealed in the
evidence folder's hash-chained ledger; unsealed or tampered evidence then fails it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from projectkit import Kit, at, control, incident, param, risk_class, workflow

from assay.errors import InputErrors
from assay.evaluate import assess
from assay.evidence.ledger import LEDGER_NAME, record_digest, seal
from assay.load import load_files
from assay.models.assessment import CheckResult

SEALED_AT = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)
AS_OF = "2026-06-01T00:00:00Z"
SEAL = control(
    "T-SEAL-01",
    {
        "id": "evidence_sealed",
        "kind": "sealed",
        "evidence": "all",
        "description": "The evidence is sealed.",
        "required": "$require_sealing",
    },
    params={"require_sealing": param("boolean", stricter="true")},
    evidence=["incident"],
)


def _sealed_digest(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "sha256": record_digest(item)}


def _incidents(kit: Kit, rel: str, *items: dict[str, Any]) -> Path:
    return kit.dump(rel, [_sealed_digest(i) for i in items])


@pytest.fixture
def project(kit: Kit) -> Kit:
    """Workflows `wf` (critical: sealing required) and `other`, each with its own files."""
    kit.setup(
        [SEAL],
        [
            risk_class("high", 3, ["T-SEAL-01"], {"T-SEAL-01": {"require_sealing": False}}),
            risk_class(
                "critical",
                4,
                [],
                {"T-SEAL-01": {"require_sealing": True}},
                extends="high",
            ),
        ],
        [workflow("wf", risk_class="critical"), workflow("other", risk_class="critical")],
    )
    (kit.root / "evidence" / "records.jsonl").unlink()
    _incidents(kit, "evidence/wf/incidents.jsonl", incident("I-1", "2026-05-01T10:00:00Z"))
    _incidents(kit, "evidence/wf/more.jsonl", incident("I-2", "2026-05-02T10:00:00Z"))
    _incidents(
        kit,
        "evidence/other/incidents.jsonl",
        incident("I-9", "2026-05-01T10:00:00Z", workflow="other"),
    )
    return kit


def _check(kit: Kit, workflow_id: str = "wf", as_of: str = AS_OF) -> CheckResult:
    assessment = kit.assess(as_of, workflow_id)
    return assessment.control("T-SEAL-01").checks[0]


def _messages(result: CheckResult) -> list[str]:
    return [f.message for f in result.findings if f.outcome == "fail"]


def _seal(kit: Kit, now: datetime = SEALED_AT) -> None:
    seal(kit.root / "evidence", by="alice", now=now)


def test_unsealed_evidence_fails_naming_each_file(project: Kit) -> None:
    result = _check(project)
    assert result.status == "fail"
    assert _messages(result) == [
        "evidence/wf/incidents.jsonl is not sealed: the evidence folder evidence has no "
        "ledger (run `assay evidence seal`)",
        "evidence/wf/more.jsonl is not sealed: the evidence folder evidence has no ledger "
        "(run `assay evidence seal`)",
    ]


def test_sealed_evidence_passes_and_the_ledger_is_an_input(project: Kit) -> None:
    _seal(project)
    assessment = project.assess(AS_OF, "wf")
    result = assessment.control("T-SEAL-01").checks[0]
    assert result.status == "pass", _messages(result)
    assert result.records == 2
    (passed,) = result.findings
    assert passed.message.startswith(
        "2 evidence files of wf sealed and unchanged in evidence/.assay-ledger.jsonl (head "
    )
    assert passed.evidence[0].file == f"evidence/{LEDGER_NAME}"
    roles = {i.path: i.role for i in assessment.inputs}
    assert roles[f"evidence/{LEDGER_NAME}"] == "ledger"
    # The ledger is never read as evidence.
    assert "evidence/.assay-ledger.jsonl" not in project.load().evidence.files_of("wf")


def test_an_edited_file_fails_naming_the_file_and_the_ledger_entry(project: Kit) -> None:
    _seal(project)
    # A valid record, digest and all: only the ledger can tell it was changed.
    _incidents(
        project,
        "evidence/wf/incidents.jsonl",
        incident("I-1", "2026-05-01T10:00:00Z", acked_at="2026-05-01T10:01:00Z"),
    )
    result = _check(project)
    assert result.status == "fail"
    (message,) = _messages(result)
    assert message.startswith("evidence/wf/incidents.jsonl was edited after it was sealed")
    assert "ledger entry 2 (2026-05-20 09:00 UTC, by alice) sealed" in message
    pointers = result.findings[0].evidence
    assert [(p.file, p.line) for p in pointers] == [
        ("evidence/wf/incidents.jsonl", None),
        (f"evidence/{LEDGER_NAME}", 2),
    ]


def test_another_workflows_edit_does_not_fail_this_workflow(project: Kit) -> None:
    _seal(project)
    _incidents(
        project,
        "evidence/other/incidents.jsonl",
        incident("I-9", "2026-05-01T11:00:00Z", workflow="other"),
    )
    assert _check(project, "wf").status == "pass"
    assert _check(project, "other").status == "fail"


def test_a_deleted_file_and_an_unsealed_file(project: Kit) -> None:
    _seal(project)
    (project.root / "evidence" / "wf" / "more.jsonl").unlink()
    _incidents(project, "evidence/wf/late.jsonl", incident("I-3", "2026-05-03T10:00:00Z"))
    assert _messages(_check(project)) == [
        "evidence/wf/late.jsonl was added but not sealed: no entry of "
        "evidence/.assay-ledger.jsonl seals it (run `assay evidence seal`)",
        "evidence/wf/more.jsonl was sealed by ledger entry 3 (2026-05-20 09:00 UTC, by alice) "
        "with records of wf, and holds none of them now: it was deleted or its records were "
        "removed",
    ]


def test_a_record_moved_to_another_workflow_is_seen(project: Kit) -> None:
    _seal(project)
    _incidents(
        project,
        "evidence/wf/more.jsonl",
        incident("I-2", "2026-05-02T10:00:00Z", workflow="other"),
    )
    (message,) = _messages(_check(project))
    assert "evidence/wf/more.jsonl was sealed by ledger entry 3" in message
    assert "holds none of them now" in message


def test_an_altered_ledger_entry_fails(project: Kit) -> None:
    _seal(project)
    ledger = project.root / "evidence" / LEDGER_NAME
    lines = ledger.read_bytes().splitlines(keepends=True)
    entry = json.loads(lines[0])
    entry["by"] = "mallory"
    lines[0] = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    ledger.write_bytes(b"".join(lines))
    result = _check(project)
    assert _messages(result) == [
        "evidence/.assay-ledger.jsonl: broken chain: entry 1 (add other/incidents.jsonl) was "
        "altered (its hash does not match)"
    ]
    assert result.findings[0].evidence[0].line == 1


def test_evidence_sealed_after_the_as_of_time_does_not_count(project: Kit) -> None:
    _seal(project)
    messages = _messages(_check(project, as_of="2026-05-10T00:00:00Z"))
    assert len(messages) == 3
    assert all("after the time of verification (2026-05-10T00:00:00Z)" in m for m in messages)


def test_not_required_at_a_lower_class(project: Kit) -> None:
    project.dump(
        "workflows/workflows.yaml",
        [workflow("wf", risk_class="high"), workflow("other", risk_class="critical")],
    )
    result = _check(project)
    assert result.status == "pass"
    assert result.summary == "Sealing the evidence is not required at this class."


def test_a_reassessment_from_the_assessment_inputs_alone_agrees(project: Kit) -> None:
    """A pack carries the assessment's inputs only (this workflow's evidence and the
    ledgers); re-assessing those gives the same result, failures included."""
    _seal(project)
    _incidents(
        project,
        "evidence/wf/incidents.jsonl",
        incident("I-1", "2026-05-01T10:00:00Z", acked_at="2026-05-01T10:02:00Z"),
    )
    (project.root / "evidence" / "wf" / "more.jsonl").unlink()
    first = project.assess(AS_OF, "wf")
    assert first.control("T-SEAL-01").status == "fail"
    files = {i.path: (project.root / i.path).read_bytes() for i in first.inputs}
    assert "evidence/other/incidents.jsonl" not in files
    again = assess(load_files(files), "wf", at(AS_OF))
    assert again.canonical_json() == first.canonical_json()


def test_a_sealed_check_takes_no_record_filters(kit: Kit) -> None:
    bad = {**SEAL["checks"][0], "where": "r.severity == 'SEV1'"}
    kit.setup(
        [{**SEAL, "checks": [bad]}],
        [risk_class("high", 3, ["T-SEAL-01"], {"T-SEAL-01": {"require_sealing": True}})],
    )
    with pytest.raises(InputErrors) as caught:
        kit.load()
    assert "a sealed check looks at files, not records: where does not apply" in str(caught.value)
