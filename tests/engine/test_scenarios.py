"""End-to-end scenarios: every folder under tests/scenarios/ with an `expected.yaml` is
loaded, assessed as of its time, and its control statuses compared with the expectation.

`expected.yaml` holds `as_of` (a quoted ISO 8601 time with a timezone), `workflow`, an
optional `release`, an optional `verdict` (COMPLIANT, NON-COMPLIANT or PROHIBITED) and
`controls`, a mapping of control id to expected status. Every control the assessment
reports must be listed, so a new or vanished control is a visible change.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from assay.evaluate import assess
from assay.load.project import load_project
from assay.models.time import parse_instant

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FOLDERS = sorted(p.parent for p in SCENARIOS.glob("*/expected.yaml"))


def _expected(folder: Path) -> dict[str, Any]:
    data = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict), "expected.yaml must be a mapping"
    unknown = set(data) - {"as_of", "workflow", "release", "verdict", "controls"}
    assert not unknown, f"unknown keys in expected.yaml: {sorted(unknown)}"
    return data


def test_there_are_scenarios() -> None:
    assert len(FOLDERS) >= 2


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_scenario(folder: Path) -> None:
    expected = _expected(folder)
    as_of = expected["as_of"]
    when = as_of if isinstance(as_of, datetime) else parse_instant(str(as_of))
    assessment = assess(load_project(folder), expected["workflow"], when, expected.get("release"))
    statuses = {c.id: c.status for c in assessment.controls}
    assert statuses == dict(expected.get("controls") or {})
    if "verdict" in expected:
        assert assessment.summary.verdict == expected["verdict"]
    # The verdict follows the statuses: compliant iff all are accepted.
    accepted = {"pass", "waived", "not_applicable"}
    if not assessment.risk_class.prohibited:
        assert assessment.summary.compliant == all(s in accepted for s in statuses.values())
