"""`assay policy test`: unit tests for policies, run on the real engine.

cases.py     discover, read and validate `*.test.yaml`; apply defaults (the base set)
runner.py    materialise each case as a project in memory; load_files + assess; compare
coverage.py  which controls and checks some case asserted in a pass and a fail state

The results are data (:mod:`assay.models.policytest`); :mod:`assay.formats.policytest`
renders them as text (like a test runner) or JUnit XML.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import ErrorCode, InputError, Location
from ...models.policytest import CaseResult, Coverage, SuiteResult
from .cases import TestCase, discover_case_files, load_case_file, load_cases
from .coverage import compute_coverage
from .runner import run_case, run_cases

__all__ = [
    "CaseResult",
    "Coverage",
    "SuiteResult",
    "TestCase",
    "compute_coverage",
    "discover_case_files",
    "load_case_file",
    "load_cases",
    "run_case",
    "run_cases",
    "run_policy_tests",
]


def run_policy_tests(
    policies: str | Path, tests: str | Path | None = None, *, select: str | None = None
) -> SuiteResult:
    """Run the test cases under ``tests`` (default: ``policies``) against ``policies``.

    Raises InputErrors (exit 2) for a malformed case file, evidence that does not load,
    policies that do not load, or when no case is found.
    """
    policies = Path(policies)
    tests = Path(tests) if tests is not None else policies
    if not policies.is_dir():
        raise InputError(
            "expected a folder of policies", location=Location(str(policies)), code=ErrorCode.IO
        )
    if not tests.exists():
        raise InputError(
            "test folder does not exist", location=Location(str(tests)), code=ErrorCode.IO
        )
    cases = load_cases(tests)
    if select:
        cases = [c for c in cases if select in c.name or select in c.file]
    if not cases:
        raise InputError(
            f"no test case matches -k {select!r}"
            if select
            else "no test cases found (expected *.test.yaml files)",
            location=Location(str(tests)),
            code=ErrorCode.EMPTY,
        )
    results, outline = run_cases(cases, policies)
    return SuiteResult(results, compute_coverage(results, outline))
