"""Cross-field rules (an end before its start, a band upside down) are checked on the fast
path's Structs, and a record they refuse is worded exactly as pydantic words it, at the
same line and pointer, as when every record of those kinds went through pydantic."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from assay.evidence.index import SourceFile, validate_json_lines, validate_records
from assay.evidence.readers import RawRecord
from assay.models import codec
from assay.models.evidence_kinds import EVIDENCE_KINDS

_spec = importlib.util.spec_from_file_location(
    "evidence_kinds_cases", Path(__file__).parents[1] / "models" / "test_evidence_kinds.py"
)
assert _spec is not None and _spec.loader is not None
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)
record = _cases.record

SHIFT = {
    "start": "2026-05-02T00:00:00Z",
    "end": "2026-05-01T00:00:00Z",
    "person": "ana",
    "tier": "primary",
}
BROKEN: list[tuple[str, dict[str, Any]]] = [
    ("oversight_report", {"override_band": [0.2, 0.1]}),
    ("canary_report", {"ended_at": "2026-05-03T00:00:00Z"}),
    ("budget_record", {"period_end": "2025-01-01T00:00:00Z"}),
    ("deploy_record", {"promoted_at": "2026-05-01T00:00:00Z"}),
    ("oncall_schedule", {"shifts": [SHIFT]}),
]


def test_every_kind_with_rules_has_them_run_on_structs_or_goes_to_pydantic() -> None:
    with_rules = {kind for kind, model in EVIDENCE_KINDS.items() if codec._has_validators(model)}
    assert with_rules == set(codec._CHECKS) | codec.NEEDS_PYDANTIC
    assert {kind for kind, _ in BROKEN} <= with_rules


@pytest.mark.parametrize(("kind", "changes"), BROKEN)
def test_a_record_a_rule_refuses_is_worded_by_pydantic_at_its_line(
    kind: str, changes: dict[str, Any]
) -> None:
    good = record(kind)
    if kind == "oncall_schedule":
        good["shifts"] = [{**SHIFT, "start": "2026-04-30T00:00:00Z"}]
    bad = {**record(kind, **changes), "id": f"{kind}-2"}
    assert codec.pattern_violations(kind, [codec.convert(good)]) == set()
    assert codec.pattern_violations(kind, [codec.convert(bad)]) == {0}
    lines = [json.dumps(good).encode(), json.dumps(bad).encode()]
    source = SourceFile("evidence/e.jsonl", "0" * 64)
    records, errors = validate_json_lines(b"\n".join(lines) + b"\n", source, {"fraud-scoring"})
    assert [r.line for r in records] == [1]
    # What the per-record path (pydantic) says of the same line.
    _, expected = validate_records([RawRecord(lines[1], 2, "", None)], source, {"fraud-scoring"})
    assert expected
    assert [(str(e), e.location) for e in errors] == [(str(e), e.location) for e in expected]
    assert all(e.location is not None and e.location.line == 2 for e in errors)
    assert any("before the start" in str(e) or "above hi" in str(e) for e in errors)
