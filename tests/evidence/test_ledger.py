"""The tamper-evident ledger: seal, then every kind of tampering is found and named."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from assay.errors import InputErrors, UsageError, VerificationError
from assay.evidence.ledger import (
    GENESIS,
    LEDGER_NAME,
    LedgerError,
    canonical_json,
    iter_entries,
    record_digest,
    seal,
    seal_folders,
    verify,
    verify_folders,
)

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)


def _record(rid: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": rid,
        "kind": "drift_log",
        "workflow": "wf",
        "created_at": "2026-05-04T09:00:00Z",
        "recorded_by": "bot",
        "source_uri": f"https://dq.example/{rid}",
        "run_at": "2026-05-04T09:00:00Z",
        "metric": "psi_amount",
        "value": 0.04,
        "threshold": 0.2,
        "breach": False,
        **extra,
    }
    return {**body, "sha256": record_digest(body)}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    evidence = tmp_path / "evidence"
    (evidence / "wf").mkdir(parents=True)
    lines = "".join(json.dumps(_record(f"d{i}")) + "\n" for i in range(3))
    (evidence / "wf" / "drift.jsonl").write_text(lines)
    (evidence / "wf" / "pm.md").write_text(
        "---\n"
        + "".join(
            f"{k}: {json.dumps(v)}\n"
            for k, v in _record("pm", body="Root cause: a stale feature.").items()
            if k != "body"
        )
        + "---\nRoot cause: a stale feature.\n"
    )
    return evidence


def _problems(err: pytest.ExceptionInfo[LedgerError]) -> list[str]:
    return [f"{p.location.file if p.location else ''}: {p.message}" for p in err.value.problems]


def test_seal_then_verify(folder: Path) -> None:
    sealed = seal(folder, by="alice", now=T0, display="evidence")
    assert [(e.seq, e.op, e.file, e.by) for e in sealed.entries] == [
        (1, "add", "wf/drift.jsonl", "alice"),
        (2, "add", "wf/pm.md", "alice"),
    ]
    assert sealed.entries[0].prev == GENESIS
    assert sealed.entries[1].prev == sealed.entries[0].hash
    result = verify(folder, now=LATER, head=sealed.head, display="evidence")
    assert (result.entries, result.files, result.records) == (2, 2, 4)
    # Sealing again with nothing changed appends nothing and leaves the file alone.
    before = (folder / LEDGER_NAME).read_bytes()
    assert seal(folder, by="bob", now=LATER).entries == ()
    assert (folder / LEDGER_NAME).read_bytes() == before


def test_the_ledger_format_is_deterministic(folder: Path, tmp_path: Path) -> None:
    seal(folder, by="alice", now=T0)
    first = (folder / LEDGER_NAME).read_bytes()
    (folder / LEDGER_NAME).unlink()
    seal(folder, by="alice", now=T0)
    assert (folder / LEDGER_NAME).read_bytes() == first
    line = first.split(b"\n")[0]
    entry = json.loads(line)
    assert line == canonical_json(entry)
    assert list(entry) == sorted(entry)
    assert entry["at"] == "2026-06-01T09:00:00Z"
    # Each entry names the workflows of the file's records (the gate checks one workflow's).
    assert entry["workflows"] == ["wf"]


def test_a_removal_names_no_workflows_and_old_entries_without_them_verify(folder: Path) -> None:
    from assay.evidence.ledger import _new_entry

    seal(folder, by="alice", now=T0)
    (folder / "wf" / "drift.jsonl").unlink()
    (entry,) = seal(folder, by="alice", now=LATER).entries
    assert (entry.op, entry.workflows) == ("remove", None)
    assert "workflows" not in json.loads(entry.line())
    # An entry written without the field (an earlier format) still chains and verifies.
    plain = _new_entry(1, GENESIS, T0, "alice", "add", "wf/x.jsonl", "a" * 64)
    assert plain.workflows is None and "workflows" not in json.loads(plain.line())


def test_an_edited_file_is_named_with_the_entry_that_sealed_it(folder: Path) -> None:
    seal(folder, by="alice", now=T0, display="evidence")
    path = folder / "wf" / "drift.jsonl"
    path.write_text(path.read_text().replace('"value": 0.04', '"value": 0.03', 1))
    with pytest.raises(LedgerError) as caught:
        verify(folder, now=LATER, display="evidence")
    problems = _problems(caught)
    assert any(
        p.startswith("evidence/wf/drift.jsonl: edited after it was sealed")
        and "entry 1 (2026-06-01T09:00:00Z, by alice)" in p
        for p in problems
    )
    # The record's own digest no longer matches either, and says which record.
    assert any("record 'd0': sha256" in p for p in problems)
    assert caught.value.exit_code == 3


def test_a_deleted_file(folder: Path) -> None:
    seal(folder, by="alice", now=T0)
    (folder / "wf" / "pm.md").unlink()
    with pytest.raises(LedgerError) as caught:
        verify(folder, now=LATER, display="evidence")
    assert _problems(caught) == [
        "evidence/wf/pm.md: deleted, but sealed by entry 2 (2026-06-01T09:00:00Z, by alice) "
        f"with sha256 {caught.value.problems[0].message.split('sha256 ')[1]}"
    ]
    # Sealing records the removal; then the folder verifies again.
    resealed = seal(folder, by="bob", now=LATER)
    assert [(e.op, e.file, e.sha256) for e in resealed.entries] == [("remove", "wf/pm.md", None)]
    verify(folder, now=LATER)


def test_an_added_but_unsealed_file(folder: Path) -> None:
    seal(folder, by="alice", now=T0)
    (folder / "wf" / "late.json").write_text(json.dumps(_record("late")))
    (folder / ".hidden.json").write_text("{}")  # hidden files are not evidence
    with pytest.raises(LedgerError) as caught:
        verify(folder, now=LATER, display="evidence")
    assert _problems(caught) == [
        "evidence/wf/late.json: added but not sealed (run `assay evidence seal`)"
    ]


def test_a_back_dated_entry(folder: Path) -> None:
    seal(folder, by="alice", now=T0)
    (folder / "wf" / "late.json").write_text(json.dumps(_record("late")))
    # Someone appends a well-formed, correctly chained entry with an earlier date.
    from assay.evidence.ledger import _new_entry

    entries = list(iter_entries(folder))
    sha = __import__("hashlib").sha256((folder / "wf" / "late.json").read_bytes()).hexdigest()
    forged = _new_entry(
        3, entries[-1].hash, T0 - timedelta(days=30), "mallory", "add", "wf/late.json", sha
    )
    with (folder / LEDGER_NAME).open("ab") as handle:
        handle.write(forged.line() + b"\n")
    with pytest.raises(LedgerError) as caught:
        verify(folder, now=LATER, display="evidence")
    assert _problems(caught) == [
        "evidence/.assay-ledger.jsonl: entry 3 (add wf/late.json) is back-dated: sealed at "
        "2026-05-02T09:00:00Z, before the entry preceding it (2026-06-01T09:00:00Z)"
    ]
    assert caught.value.problems[0].location is not None
    assert caught.value.problems[0].location.line == 3


def test_an_entry_dated_in_the_future(folder: Path) -> None:
    seal(folder, by="alice", now=LATER)
    with pytest.raises(LedgerError, match="after the time of verification"):
        verify(folder, now=T0)


def test_a_seal_refuses_to_back_date(folder: Path) -> None:
    seal(folder, by="alice", now=LATER)
    (folder / "wf" / "late.json").write_text(json.dumps(_record("late")))
    with pytest.raises(UsageError, match="must not be back-dated"):
        seal(folder, by="alice", now=T0)


def _rewrite(folder: Path, change: Any) -> None:
    path = folder / LEDGER_NAME
    lines = [json.loads(x) for x in path.read_bytes().splitlines()]
    change(lines)
    path.write_bytes(b"".join(canonical_json(x) + b"\n" for x in lines))


def test_an_altered_entry_breaks_the_chain(folder: Path) -> None:
    seal(folder, by="alice", now=T0)
    _rewrite(folder, lambda lines: lines[0].update(by="mallory"))
    with pytest.raises(LedgerError) as caught:
        verify(folder, now=LATER, display="evidence")
    assert _problems(caught) == [
        "evidence/.assay-ledger.jsonl: broken chain: entry 1 (add wf/drift.jsonl) was altered "
        "(its hash does not match)"
    ]


def test_a_removed_entry_breaks_the_chain(folder: Path) -> None:
    seal(folder, by="alice", now=T0)
    (folder / "wf" / "late.json").write_text(json.dumps(_record("late")))
    seal(folder, by="alice", now=LATER)
    _rewrite(folder, lambda lines: lines.pop(1))
    with pytest.raises(LedgerError) as caught:
        verify(folder, now=LATER, display="evidence")
    problems = _problems(caught)
    assert (
        sum("broken chain: entry 3 (add wf/late.json) should be entry 2" in p for p in problems)
        == 1
    )
    assert (
        sum("entry 3 (add wf/late.json) does not chain the previous entry" in p for p in problems)
        == 1
    )
    assert any(p.startswith("evidence/wf/pm.md: added but not sealed") for p in problems)


def test_entries_dropped_at_the_end_are_found_with_the_head(folder: Path) -> None:
    first = seal(folder, by="alice", now=T0)
    (folder / "wf" / "late.json").write_text(json.dumps(_record("late")))
    head = seal(folder, by="alice", now=LATER).head
    # Drop the last entry and the file it sealed: the chain alone cannot tell...
    _rewrite(folder, lambda lines: lines.pop())
    (folder / "wf" / "late.json").unlink()
    assert verify(folder, now=LATER).head == first.head
    # ...the head kept from the seal can.
    with pytest.raises(LedgerError, match="entries were dropped or added at the end"):
        verify(folder, now=LATER, head=head)


def test_a_garbled_ledger_line(folder: Path) -> None:
    seal(folder, by="alice", now=T0)
    path = folder / LEDGER_NAME
    path.write_bytes(path.read_bytes() + b'{"seq": 3, "oops"\n')
    with pytest.raises(LedgerError) as caught:
        verify(folder, now=LATER, display="evidence")
    assert "entry 3 is not a valid ledger entry" in _problems(caught)[0]
    assert caught.value.problems[0].location is not None
    assert caught.value.problems[0].location.line == 3


def test_no_ledger_is_a_verification_failure(folder: Path) -> None:
    with pytest.raises(LedgerError, match="never been sealed"):
        verify(folder, now=LATER)


def test_seal_refuses_a_record_whose_digest_does_not_match(folder: Path) -> None:
    path = folder / "wf" / "drift.jsonl"
    path.write_text(path.read_text().replace('"value": 0.04', '"value": 0.05', 1))
    with pytest.raises(InputErrors) as caught:
        seal(folder, by="alice", now=T0, display="evidence")
    (err,) = caught.value.errors
    assert err.location is not None and (err.location.file, err.location.line) == (
        "evidence/wf/drift.jsonl",
        1,
    )
    assert "record 'd0'" in err.message
    assert not (folder / LEDGER_NAME).exists()


def test_the_record_digest_definition() -> None:
    record = _record("x")
    # Key order, formatting and the file format do not matter; content does.
    reordered = dict(reversed(list(record.items())))
    assert record_digest(reordered) == record["sha256"]
    assert record_digest({**record, "sha256": "f" * 64}) == record["sha256"]
    assert record_digest({**record, "value": 0.041}) != record["sha256"]
    # The documented serialisation, spelled out.
    body = {k: v for k, v in record.items() if k != "sha256"}
    expected = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    import hashlib

    assert record["sha256"] == hashlib.sha256(expected.encode()).hexdigest()
    # YAML's unquoted timestamps are written as ISO 8601 with Z.
    parsed = {**body, "created_at": datetime(2026, 5, 4, 9, 0, tzinfo=UTC)}
    assert record_digest(parsed) == record["sha256"]


def test_a_markdown_record_covers_its_body(folder: Path) -> None:
    seal(folder, by="alice", now=T0)
    path = folder / "wf" / "pm.md"
    path.write_text(path.read_text().replace("stale feature", "cosmic ray"))
    with pytest.raises(LedgerError) as caught:
        verify(folder, now=LATER, display="evidence")
    assert any("record 'pm': sha256" in p for p in _problems(caught))


def test_several_folders(tmp_path: Path, folder: Path) -> None:
    other = tmp_path / "more-evidence"
    other.mkdir()
    (other / "d.json").write_text(json.dumps(_record("other")))
    folders = [(folder, "evidence"), (other, "more-evidence")]
    sealed = seal_folders(folders, by="alice", now=T0)
    assert [len(r.entries) for r in sealed] == [2, 1]
    assert [r.files for r in verify_folders(folders, now=LATER)] == [2, 1]
    (folder / "wf" / "pm.md").unlink()
    (other / "d.json").write_text("{}")
    with pytest.raises(VerificationError) as caught:
        verify_folders(folders, now=LATER)
    assert caught.value.exit_code == 3
    assert "evidence/wf/pm.md: " in str(caught.value)
    assert "more-evidence/d.json: " in str(caught.value)


def test_the_example_evidence_declares_its_content_digests(tmp_path: Path) -> None:
    """Every record of the example project, Markdown documents included, declares the digest
    of its content as the ledger defines it: the example evidence can be sealed as it is."""
    examples = Path(__file__).resolve().parents[2] / "examples" / "evidence"
    copy = tmp_path / "evidence"
    shutil.copytree(examples, copy)
    sealed = seal(copy, by="test", now=T0)
    assert len(sealed.entries) == len(list(examples.rglob("*.*")))
    assert verify(copy, now=LATER).records > 20_000
