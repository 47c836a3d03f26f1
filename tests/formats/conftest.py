"""Assessments shared by the format tests, and golden-file helpers.

The assessments are the engine's real output on the scenario tests/scenarios/format-escaping
(never hand-built): one control of every status, an expired waiver on a failing control and
one not yet valid, evidence files whose names hold spaces, commas and colons, and titles,
conditions and waiver reasons with ``<``, ``|``, ``%`` and line breaks, so every format's
escaping is exercised.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standards import standards_dir

from assay.evaluate import assess
from assay.load.project import Project, load_project
from assay.models.assessment import Assessment

GOLDEN = Path(__file__).resolve().parent / "golden"
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "format-escaping"
AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ODD_FILE = "evidence/canary runs, 2026: eu/deploys.jsonl"


@functools.cache
def scenario_project() -> Project:
    """The scenario, loaded once per test run (formatters never change it)."""
    return load_project(SCENARIO)


@functools.cache
def make_noncompliant() -> Assessment:
    """fraud-scoring, release 2.4.0: fail, blocked, error, waived, fail with an expired
    waiver, not applicable and pass."""
    return assess(scenario_project(), "fraud-scoring", AS_OF, "2.4.0")


@functools.cache
def make_compliant() -> Assessment:
    """chat-assistant: its one control passes."""
    return assess(scenario_project(), "chat-assistant", AS_OF)


@pytest.fixture
def noncompliant() -> Assessment:
    return make_noncompliant()


@pytest.fixture
def compliant() -> Assessment:
    return make_compliant()


@pytest.fixture
def standards() -> Path:
    return standards_dir()


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """Compare an output with tests/formats/golden/<name> exactly."""
    return check_golden


def check_golden(name: str, actual: str) -> None:
    """Compare with tests/formats/golden/<name>; ASSAY_UPDATE_GOLDEN=1 rewrites the file."""
    path = GOLDEN / name
    if os.environ.get("ASSAY_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode())
    assert path.exists(), f"missing golden file {path}; run with ASSAY_UPDATE_GOLDEN=1"
    expected = path.read_bytes().decode()
    assert actual == expected, f"output differs from {path}; run with ASSAY_UPDATE_GOLDEN=1"
