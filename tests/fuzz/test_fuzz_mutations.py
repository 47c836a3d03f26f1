"""Bounded property-based fuzzing of the inputs Assay reads (issue 8, "keep it that way").

A small valid project that is *non-compliant* (a SEV1 acknowledged late, an untriaged
drift breach) is mutated one way at a time — byte flips, truncation, deleted and duplicated
keys, type swaps, huge and tiny values, dropped and repeated records — in its policy,
class, workflow, waiver and evidence files (JSON Lines, JSON, YAML, Markdown). For every
mutation, loading and assessing it in memory (the library API the CLI calls) must:

* raise nothing but Assay's own errors (never a crash, so the CLI's catch-all `internal
  error` is never reached), each input error naming its file;
* refuse what must be refused: a duplicated key, a typed value of the wrong type, a
  timestamp past the calendar's end or a record created in the future;
* never turn the non-compliant verdict into a compliant one without a documented reason:
  the only reason accepted is that what was *loaded* (the validated workflow, policies,
  waivers or evidence records) means something else than before, e.g. a flipped digit
  that acknowledges the SEV1 on time. A verdict that changes while the loaded meaning does
  not is a bug;
* when it yields an assessment, render it (canonical JSON and text) without error.

`make test` runs a fixed budget with a fixed seed (derandomized: the same examples every
run, well under two minutes); `make fuzz` runs many more (ASSAY_FUZZ_EXAMPLES) before a
release.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.errors import AssayError, InputError, InputErrors, UsageError
from assay.evaluate import assess
from assay.formats import get_formatter
from assay.load.project import Project, load_files
from assay.models.assessment import Assessment
from assay.models.evidence_kinds import EVIDENCE_KINDS

EXAMPLES = int(os.environ.get("ASSAY_FUZZ_EXAMPLES", "1000"))
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 2, tzinfo=UTC)
"""The wall clock of the fuzzed loads (fixed: the outcome must not depend on the day)."""

CATALOG = """\
catalog: fuzz
version: "1"
controls:
  - id: T-INC-01
    title: Incidents are acknowledged
    intent: Every incident is acknowledged in time.
    severity: high
    mappings: {eu_ai_act: ["Art. 73"]}
    remediation: Acknowledge pages faster.
    evidence: [incident]
    params:
      ack_sla: {type: duration, description: Longest time to acknowledge., stricter: lower}
    checks:
      - id: acked
        kind: every
        description: Every incident is acknowledged within the SLA.
        evidence: incident
        window: 90d
        assert: 'r.acked_at - r.paged_at <= params.ack_sla'
  - id: T-PM-01
    title: Postmortems
    intent: SEV1 incidents get a postmortem.
    severity: high
    mappings: {eu_ai_act: ["Art. 73"]}
    remediation: Write the postmortem.
    requires: [T-INC-01]
    evidence: [incident, postmortem]
    checks:
      - id: sev1_pm
        kind: covered
        description: Every SEV1 has a postmortem within five business days.
        evidence: incident
        where: 'r.severity == "SEV1"'
        by: {evidence: postmortem, key: incident_id}
        deadline: 5bd
  - id: T-DRIFT-01
    title: Drift is triaged
    intent: Every drift breach is triaged.
    severity: high
    mappings: {eu_ai_act: ["Art. 72"]}
    remediation: Triage the breach.
    applies_if: >-
      has(workflow.metadata.decides_about_people)
      && workflow.metadata.decides_about_people == true
    evidence: [drift_log]
    params:
      min_runs: {type: integer, description: Fewest runs expected., stricter: higher}
    checks:
      - id: triaged
        kind: every
        description: Every breach is triaged.
        evidence: drift_log
        window: 30d
        assert: '!r.breach || r.triage_ref != null'
      - id: runs
        kind: present
        description: Drift runs happen.
        evidence: drift_log
        window: 30d
        min: $min_runs
"""

CLASS = """\
id: high
title: C3 High
level: 3
aliases: [C3]
controls: [T-INC-01, T-PM-01, T-DRIFT-01]
params:
  T-INC-01: {ack_sla: 15m}
  T-DRIFT-01: {min_runs: 2}
waivers:
  max_days: 90
  allowed_approvers: [carol, dana]
"""

WORKFLOW = """\
id: wf
name: Fraud scoring
owner: risk-ml
risk_class: C3
launched: 2025-01-06
eu_scope: true
metadata:
  decides_about_people: true
  team: payments
"""

WAIVER = """\
- id: W-1
  workflow: wf
  control: T-PM-01
  reason: Accepted while the fix is rolled out.
  requested_by: alice
  approved_by: carol
  approved_at: 2026-05-01T00:00:00Z
  expires_at: 2026-07-01T00:00:00Z
"""


def _envelope(kind: str, rid: str, created: str) -> dict[str, Any]:
    return {
        "id": rid,
        "kind": kind,
        "workflow": "wf",
        "created_at": created,
        "recorded_by": "bot",
        "source_uri": f"https://example.test/{rid}",
        "sha256": "a" * 64,
    }


def _incident(rid: str, day: int, severity: str, ack_minutes: int) -> dict[str, Any]:
    at = f"2026-05-{day:02d}T10:00:00Z"
    return {
        **_envelope("incident", rid, at),
        "severity": severity,
        "aware_at": at,
        "paged_at": at,
        "acked_at": f"2026-05-{day:02d}T10:{ack_minutes:02d}:00Z",
        "owner": "alice",
        "users_affected": False,
        "budget_burn_pct": 1.0,
        "si_determination": "no",
        "widespread_infringement": False,
    }


def _drift(rid: str, day: int, breach: bool, triage: str | None) -> dict[str, Any]:
    at = f"2026-05-{day:02d}T08:00:00Z"
    record = {
        **_envelope("drift_log", rid, at),
        "run_at": at,
        "metric": "psi",
        "value": 0.3 if breach else 0.1,
        "threshold": 0.2,
        "breach": breach,
    }
    if triage is not None:
        record["triage_ref"] = triage
    return record


INCIDENTS = [_incident("INC-1", 3, "SEV2", 5), _incident("INC-2", 12, "SEV1", 50)]
DRIFT = [_drift(f"D-{n}", 10 + n, n == 2, "T-9" if n == 1 else None) for n in range(4)]
JSON_RECORDS = [_incident("INC-J", 20, "SEV3", 3)]
YAML_RECORD = _incident("INC-Y", 21, "SEV2", 4)
POSTMORTEM = {
    **_envelope("postmortem", "PM-1", "2026-05-05T09:00:00Z"),
    "incident_id": "INC-1",
    "published_at": "2026-05-05T09:00:00Z",
    "blameless": True,
    "root_causes": ["a cache"],
}


def _jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


BASE: dict[str, str] = {
    "policies/catalog.yaml": CATALOG,
    "policies/high.yaml": CLASS,
    "workflows/wf.yaml": WORKFLOW,
    "waivers/w.yaml": WAIVER,
    "evidence/incidents.jsonl": _jsonl(INCIDENTS),
    "evidence/drift.jsonl": _jsonl(DRIFT),
    "evidence/more.json": json.dumps(JSON_RECORDS, indent=2) + "\n",
    "evidence/one.yaml": yaml.safe_dump(YAML_RECORD, sort_keys=False),
    "evidence/pm.md": "---\n" + yaml.safe_dump(POSTMORTEM, sort_keys=False) + "---\nBody.\n",
}

# --------------------------------------------------------------------------- outcomes


def _run(files: dict[str, bytes]) -> Assessment | AssayError:
    """Load and assess; Assay's own errors are outcomes, anything else fails the test."""
    try:
        project = load_files(files, now=NOW)
        assessment = assess(project, "wf", AS_OF)
    except AssayError as err:
        return err
    assessment.canonical_json()
    get_formatter("text")([assessment])
    _meaning_cache[id(assessment)] = _meaning(project)
    return assessment


_meaning_cache: dict[int, dict[str, Any]] = {}


def _meaning(project: Project) -> dict[str, Any]:
    """What was loaded, as plain data: the verdict may only change when this does."""
    records = sorted(
        msgspec.json.encode(r.data)
        for workflow in project.workflows
        for kind in EVIDENCE_KINDS
        for r in project.evidence.records(workflow, kind)
    )
    return {
        "config": project.config.model_dump(mode="json"),
        "workflows": {k: v.model_dump(mode="json") for k, v in project.workflows.items()},
        "controls": {
            k: v.model_dump(mode="json", by_alias=True) for k, v in project.controls.items()
        },
        "classes": {k: v.model_dump(mode="json") for k, v in project.classes.items()},
        "waivers": [w.model_dump(mode="json") for w in project.waivers],
        "evidence": records,
    }


def _encode(files: dict[str, str]) -> dict[str, bytes]:
    return {path: text.encode("utf-8") for path, text in files.items()}


BASE_OUTCOME = _run(_encode(BASE))


def test_the_base_project_is_valid_and_non_compliant() -> None:
    assert isinstance(BASE_OUTCOME, Assessment), BASE_OUTCOME
    assert not BASE_OUTCOME.compliant
    statuses = {c.id: c.status for c in BASE_OUTCOME.controls}
    assert statuses["T-INC-01"] == "fail" and statuses["T-DRIFT-01"] == "fail"


# --------------------------------------------------------------------------- mutations


@dataclass(frozen=True)
class Mutation:
    kind: str
    path: str
    text: str | bytes
    """The mutated file."""
    must_refuse: bool = False
    """An input Assay must refuse (exit 2), whatever it would mean."""


# Keys whose values are free-form (a type swap there is legitimate).
FREE_FORM = {"metadata", "team", "body", "reason", "description", "intent", "remediation"}
TYPED_SWAPS: list[tuple[type, Any]] = [
    (bool, "yes"),
    (bool, "true"),
    (bool, "off"),
    (int, "3"),
    (int, 3.5),
    (float, "0.5"),
    (str, 12345),
    (str, True),
    (list, "C3"),
]
EXTREMES: list[Any] = [
    0,
    -1,
    2**63 - 1,
    10**30,
    1e308,
    -1e308,
    "",
    "x" * 5_000,
    "9999-12-31T23:00:00Z",
    "0001-01-01T00:00:00Z",
    "2099-01-01T00:00:00Z",
    "\u202e",
    None,
    [],
    {},
]


def _is_json(path: str) -> bool:
    return path.endswith((".json", ".jsonl"))


def _documents(path: str, text: str) -> list[Any]:
    """The records of a file as plain data (each JSON Lines line is one)."""
    if path.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if path.endswith(".json"):
        data = json.loads(text)
        return data if isinstance(data, list) else [data]
    if path.endswith(".md"):
        return [yaml.safe_load(text.split("---\n")[1])]
    data = yaml.safe_load(text)
    return data if isinstance(data, list) else [data]


def _render(path: str, original: str, docs: list[Any]) -> str:
    if path.endswith(".jsonl"):
        return "".join(json.dumps(d) + "\n" for d in docs)
    if path.endswith(".json"):
        data: Any = docs if original.lstrip().startswith("[") else docs[0]
        return json.dumps(data, indent=2) + "\n"
    if path.endswith(".md"):
        body = original.split("---\n", 2)[2]
        return "---\n" + yaml.safe_dump(docs[0], sort_keys=False) + "---\n" + body
    data = docs if original.lstrip().startswith("-") else docs[0]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _mappings(value: Any, trail: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """(path to a mapping, key) for every key of every mapping inside ``value``."""
    found: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((trail, key))
            found.extend(_mappings(item, (*trail, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_mappings(item, (*trail, index)))
    return found


def _get(value: Any, trail: tuple[Any, ...]) -> Any:
    for step in trail:
        value = value[step]
    return value


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    path = draw(st.sampled_from(sorted(BASE)))
    text = BASE[path]
    how = draw(
        st.sampled_from(
            ["flip", "truncate", "delete", "duplicate", "swap", "extreme", "drop", "repeat"]
        )
    )
    if how == "flip":
        data = bytearray(text.encode("utf-8"))
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.sampled_from(b'\x00\xff"{}[],:-\n 0189aZ\\'))
        return Mutation("flip", path, bytes(data))
    if how == "truncate":
        return Mutation("truncate", path, text[: draw(st.integers(0, len(text) - 1))])
    docs = _documents(path, text)
    if how in ("drop", "repeat"):
        index = draw(st.integers(0, len(docs) - 1))
        changed = docs[:index] + docs[index + 1 :] if how == "drop" else [*docs, docs[index]]
        if not changed and path.endswith((".md", ".yaml")) and not path.startswith("waivers"):
            changed = docs
        return Mutation(how, path, _render(path, text, changed))
    index = draw(st.integers(0, len(docs) - 1))
    keys = _mappings(docs[index])
    trail, key = draw(st.sampled_from(keys))
    holder = _get(docs[index], trail)
    if how == "delete":
        del holder[key]
        return Mutation("delete", path, _render(path, text, docs))
    if how == "duplicate":
        return Mutation("duplicate", path, _duplicate(path, text, docs, index, trail, key))
    if how == "swap":
        current = holder[key]
        swaps = [new for old, new in TYPED_SWAPS if type(current) is old]
        if not swaps or key in FREE_FORM or "metadata" in trail:
            holder[key] = draw(st.sampled_from(EXTREMES))
            return Mutation(
                "extreme", path, _render(path, text, docs), _must_refuse(key, holder[key])
            )
        holder[key] = draw(st.sampled_from(swaps))
        # A boolean or number written as a string is the coercion Assay must refuse; a
        # string turned into a number may be legal where a field takes either (`min: 3`
        # for `min: $name`), so that is judged like any other change.
        coerced = isinstance(current, bool | int | float) and isinstance(holder[key], str)
        return Mutation("swap", path, _render(path, text, docs), must_refuse=coerced)
    holder[key] = draw(st.sampled_from(EXTREMES))
    return Mutation("extreme", path, _render(path, text, docs), _must_refuse(key, holder[key]))


def _must_refuse(key: str, value: Any) -> bool:
    """Extreme values Assay must refuse: a timestamp (a field named ``*_at``) past year
    9000, and a record created after the clock."""
    if key.endswith("_at") and isinstance(value, str) and re.match(r"^9999-", value):
        return True
    return key == "created_at" and isinstance(value, str) and value.startswith("2099-")


def _duplicate(
    path: str, text: str, docs: list[Any], index: int, trail: tuple[Any, ...], key: str
) -> str:
    """The file with ``key`` written twice in its mapping (the second time with another
    value), as a person or an exporter could write it."""
    holder = _get(docs[index], trail)
    other: Any = "other" if holder[key] != "other" else "different"
    if isinstance(holder[key], bool):
        other = not holder[key]
    if _is_json(path):
        marker = "\x00DUP\x00"
        holder[marker] = other
        rendered = _render(path, text, docs)
        return rendered.replace(json.dumps(marker), json.dumps(key))
    marker = "zz_dup_marker"
    holder[marker] = other
    rendered = _render(path, text, docs)
    return rendered.replace(f"{marker}:", f"{key}:")


# --------------------------------------------------------------------------- the property


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(mutation=mutations())
def test_a_mutation_never_crashes_nor_passes_without_a_reason(mutation: Mutation) -> None:
    files = _encode(BASE)
    files[mutation.path] = (
        mutation.text if isinstance(mutation.text, bytes) else mutation.text.encode("utf-8")
    )
    outcome = _run(files)
    if isinstance(outcome, AssayError):
        assert isinstance(outcome, InputError | UsageError), outcome
        problems = outcome.errors if isinstance(outcome, InputErrors) else [outcome]
        for problem in problems:
            if isinstance(problem, InputError):
                assert problem.location is not None and problem.location.file, str(problem)
        return
    assert not mutation.must_refuse and mutation.kind != "duplicate", (
        f"{mutation.kind} in {mutation.path} was accepted:\n{mutation.text!r}"
    )
    assert isinstance(BASE_OUTCOME, Assessment)
    if outcome.compliant:
        before = _meaning_cache[id(BASE_OUTCOME)]
        after = _meaning_cache[id(outcome)]
        changed = sorted(k for k in before if before[k] != after[k])
        assert changed, (
            f"{mutation.kind} in {mutation.path} made the project compliant while what was "
            f"loaded means the same:\n{mutation.text!r}"
        )
