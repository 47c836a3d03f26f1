"""The shipped policy tests (policies/tests/*.test.yaml) pass on the bundled policies, with
every control covered in a pass and a fail state, and their JUnit report is valid."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped]
from policytest_support import ROOT, Run
from standards import standards_dir

from assay.authoring.policytest import discover_case_files, load_cases
from assay.models.config import bundled_path

POLICIES = bundled_path("policies")


def test_shipped_cases_pass_with_full_control_coverage(
    run_cli: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    report = tmp_path / "policy-tests.xml"
    run = run_cli(
        "src/assay/bundled/policies",
        "--min-coverage",
        "100",
        "--format",
        "junit",
        "--output",
        str(report),
    )
    assert run.code == 0, run.out + run.err
    assert "FAIL " not in run.out
    assert "coverage: controls 40/40 (control, state) pairs 100.0%" in run.out
    assert "uncovered control" not in run.out
    assert run.out.rstrip().endswith(" passed, 0 failed")
    cases = load_cases(POLICIES)
    assert f"{len(cases)} passed, 0 failed" in run.out
    assert f"PASS src/assay/bundled/policies/tests/high.test.yaml::{cases[0].name}" in run.out

    xml = report.read_bytes()
    doc = etree.fromstring(xml)
    assert doc.get("tests") == str(len(cases))
    assert doc.get("failures") == "0"
    xsd = etree.XMLSchema(etree.parse(str(standards_dir() / "jenkins-xunit-junit-10.xsd")))
    assert xsd.validate(doc), xsd.error_log.last_error


def test_every_bundled_control_has_a_named_fail_case() -> None:
    """Each control has a case whose name starts with its short id, so a reader finds it."""
    names = [case.name for case in load_cases(POLICIES)]
    for short in ("CLASS", "DOC", "CHG", "CANARY", "ROLLBACK", "OBS", "LOG", "SLO", "DRIFT"):
        assert any(name.startswith(f"{short} fails") for name in names), short
    for short in ("HITL", "ONCALL", "INC", "PM", "SIR", "RETRAIN", "FEEDBACK", "TRANSP"):
        assert any(name.startswith(f"{short} fails") for name in names), short
    for short in ("REVIEW", "HYPERCARE", "BUDGET"):
        assert any(name.startswith(f"{short} fails") for name in names), short


def test_case_files_are_skipped_by_the_policy_loader() -> None:
    """The test files live under policies/ and must not be read as policies."""
    from assay.load.project import TEST_SUFFIXES

    files = discover_case_files(POLICIES)
    assert files
    assert all(f.name.endswith(TEST_SUFFIXES) for f in files)
