"""The renderers of `assay policy test`: text like a test runner, and JUnit XML for CI.

Pure: a :class:`~assay.models.policytest.SuiteResult` in, a string out; the CLI does the
I/O (it prints the text summary even when the JUnit report goes to a file).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from enum import StrEnum
from typing import Protocol

from ..models.policytest import CaseResult, Coverage, SuiteResult

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MAX_FINDINGS = 5
"""Failing findings shown per control of a failed case; the rest are counted."""


class PolicyTestFormat(StrEnum):
    """The formats of ``assay policy test --format`` (values feed ``click.Choice``)."""

    TEXT = "text"
    JUNIT = "junit"


class PolicyTestFormatter(Protocol):
    """Render a policy test run as text; pure and deterministic."""

    def __call__(self, suite: SuiteResult, /) -> str: ...


def failure_lines(result: CaseResult) -> list[str]:
    """What differs, as indented lines: statuses, verdict, missing findings, findings."""
    lines: list[str] = []
    if result.mismatches:
        width = max(len(m.control) for m in result.mismatches)
        lines.append(f"  {'control'.ljust(width)}  {'expected':<14}  actual")
        lines.extend(
            f"  {m.control.ljust(width)}  {m.expected:<14}  {m.actual}" for m in result.mismatches
        )
    if result.verdict_mismatch is not None:
        expected, actual = result.verdict_mismatch
        lines.append(f"  verdict: expected {expected}, got {actual}")
    for missing in result.missing_findings:
        lines.append(f"  {missing.control}: no finding contains {missing.text!r}")
    for control, messages in result.failing_findings.items():
        lines.append(f"  {control} findings:")
        lines.extend(f"    - {_one_line(m)}" for m in messages[:MAX_FINDINGS])
        if len(messages) > MAX_FINDINGS:
            lines.append(f"    ... {len(messages) - MAX_FINDINGS} more")
    return lines


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _states(states: list[str]) -> str:
    return " and ".join(states)


def coverage_lines(coverage: Coverage, *, verbose_checks: bool = True) -> list[str]:
    """The coverage summary and what is not covered."""
    c_cov, c_total = coverage.control_pairs
    k_cov, k_total = coverage.check_pairs
    lines = [
        f"coverage: controls {c_cov}/{c_total} (control, state) pairs "
        f"{coverage.control_percent:.1f}%; checks {k_cov}/{k_total} "
        f"{coverage.check_percent:.1f}%"
    ]
    for cid, missing in coverage.uncovered_controls():
        lines.append(f"  uncovered control {cid}: no case asserts it in a {_states(missing)} state")
    if verbose_checks:
        for cid, missing in coverage.uncovered_checks():
            lines.append(f"  uncovered check {cid}: never seen {_states(missing)}")
    return lines


def policytest_text(
    suite: SuiteResult, *, min_coverage: float | None = None, verbose_checks: bool = True
) -> str:
    """One line per case, a diff for each failure, coverage, and the summary line.

    ``min_coverage`` adds the line saying coverage is below it; ``verbose_checks=False``
    leaves out the uncovered checks (``--quiet-checks``).
    """
    lines: list[str] = []
    for result in suite.results:
        word = "PASS" if result.outcome == "pass" else "FAIL"
        lines.append(f"{word} {result.case.case_id}")
        if result.outcome == "fail":
            loc = result.case.location
            lines.append(f"  at {loc.file}:{loc.line}" if loc.line else f"  at {loc.file}")
            lines.extend(failure_lines(result))
    lines.append("")
    lines.extend(coverage_lines(suite.coverage, verbose_checks=verbose_checks))
    if suite.below(min_coverage):
        lines.append(
            f"control coverage {suite.coverage.control_percent:.1f}% is below "
            f"--min-coverage {min_coverage:g}%"
        )
    lines.append(summary_line(suite))
    return "\n".join(lines) + "\n"


def summary_line(suite: SuiteResult) -> str:
    """``N passed, M failed``."""
    return f"{suite.passed} passed, {suite.failed} failed"


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def policytest_junit(suite: SuiteResult) -> str:
    """JUnit XML (Jenkins xUnit ``junit-10``): one suite per case file, one test per case."""
    by_file: dict[str, list[CaseResult]] = {}
    for result in suite.results:
        by_file.setdefault(result.case.file, []).append(result)
    root = ET.Element("testsuites", {"name": "assay policy test"})
    for file in sorted(by_file):
        results = by_file[file]
        failures = sum(1 for r in results if r.outcome == "fail")
        element = ET.SubElement(
            root,
            "testsuite",
            {
                "name": _xml(file),
                "tests": str(len(results)),
                "failures": str(failures),
                "errors": "0",
                "skipped": "0",
                "time": "0",
            },
        )
        for result in results:
            case = ET.SubElement(
                element,
                "testcase",
                {"classname": _xml(file), "name": _xml(result.case.name), "time": "0"},
            )
            if result.outcome == "fail":
                summary = (
                    "; ".join(
                        f"{m.control}: expected {m.expected}, got {m.actual}"
                        for m in result.mismatches
                    )
                    or "expectations not met"
                )
                failure = ET.SubElement(
                    case, "failure", {"type": "expectation", "message": _xml(summary)}
                )
                failure.text = _xml("\n".join(line.strip() for line in failure_lines(result)))
    root.set("tests", str(len(suite.results)))
    root.set("failures", str(suite.failed))
    root.set("errors", "0")
    root.set("time", "0")
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


POLICYTEST_FORMATTERS: dict[PolicyTestFormat, PolicyTestFormatter] = {
    PolicyTestFormat.TEXT: policytest_text,
    PolicyTestFormat.JUNIT: policytest_junit,
}
