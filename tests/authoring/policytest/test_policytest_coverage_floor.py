"""The shipped policy tests keep their check-level coverage.

`assay policy test` reports (check, state) coverage next to control coverage but only
gates on the latter. This floor makes sure that no check of the bundled catalog silently
loses its pass or fail case: removing a case, breaking one, or adding a check without a
case fails here, with the uncovered checks named.
"""

from __future__ import annotations

import pytest
from policytest_support import ROOT

from assay.authoring.policytest import SuiteResult, run_policy_tests
from assay.models.config import bundled_path

POLICIES = bundled_path("policies")

CHECK_COVERAGE_FLOOR = 100.0
"""Share of (check, state) pairs the shipped suite covers, in percent (140/140 when set)."""

MIN_CHECKS = 70
"""Checks of the bundled catalog when the floor was set: guards against a vacuous 100 %
(an outline with no checks covers everything)."""


@pytest.fixture(scope="module")
def suite(request: pytest.FixtureRequest) -> SuiteResult:
    """The shipped suite, run once for this module (it takes several seconds)."""
    monkeypatch = pytest.MonkeyPatch()
    request.addfinalizer(monkeypatch.undo)
    monkeypatch.chdir(ROOT)
    return run_policy_tests(POLICIES)


def test_every_shipped_case_passes(suite: SuiteResult) -> None:
    failed = [r.case.case_id for r in suite.results if r.outcome != "pass"]
    assert not failed, failed


def test_check_coverage_stays_at_the_floor(suite: SuiteResult) -> None:
    coverage = suite.coverage
    covered, total = coverage.check_pairs
    assert total >= 2 * MIN_CHECKS, f"only {total // 2} checks in the bundled catalog"
    uncovered = [
        f"{check}: never seen {' and '.join(states)}"
        for check, states in coverage.uncovered_checks()
    ]
    assert coverage.check_percent >= CHECK_COVERAGE_FLOOR, (
        f"check coverage {covered}/{total} ({coverage.check_percent:.1f}%) is below "
        f"{CHECK_COVERAGE_FLOOR}%: add a case for\n" + "\n".join(uncovered)
    )


def test_every_check_is_seen_failing(suite: SuiteResult) -> None:
    """The fail state is the one that proves a check can catch something: list any check
    whose failure no case asserts, whatever the overall figure."""
    never_failed = sorted(
        f"{cid}/{check}"
        for (cid, check), states in suite.coverage.checks.items()
        if "fail" not in states
    )
    assert not never_failed, never_failed
