"""What `assay policy test` finds: per case, whether the engine met its expectations, and
which control and check states the suite covered.

Results are data: :mod:`assay.authoring.policytest` runs the cases and fills them in, the
formatters of :mod:`assay.formats.policytest` render them, and :meth:`SuiteResult.exit_code`
is the run's verdict.

A (control, state) pair is *covered* when some passing case asserted that control's
status and the status was that state: ``pass``, or ``fail`` (the control's own checks
failed; ``blocked`` says nothing about the control itself). A check's state is covered
when, in a passing case that asserted its control, the check had that status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..errors import Location

Outcome = Literal["pass", "fail"]
STATES = ("pass", "fail")
"""The states a control or check must be seen in to be covered."""


@dataclass(frozen=True)
class Mismatch:
    """A control whose actual status is not the expected one."""

    control: str
    expected: str
    actual: str


@dataclass(frozen=True)
class MissingFinding:
    """An expected finding text that no finding of the control contains."""

    control: str
    text: str


@dataclass(frozen=True)
class CaseRef:
    """Which case a result is about, as reports name it."""

    file: str
    """The case file as reports show it."""
    name: str
    location: Location
    """Where the case starts in its file."""

    @property
    def case_id(self) -> str:
        return f"{self.file}::{self.name}"


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case, and what coverage needs from its assessment."""

    case: CaseRef
    outcome: Outcome
    verdict: str
    statuses: dict[str, str]
    """Actual status of every control the class requires."""
    check_statuses: dict[tuple[str, str], str]
    """Actual status of every check that ran, by (control, check)."""
    asserted: tuple[str, ...] = ()
    """The controls whose status the case asserted (only these count for coverage)."""
    mismatches: list[Mismatch] = field(default_factory=list)
    missing_findings: list[MissingFinding] = field(default_factory=list)
    verdict_mismatch: tuple[str, str] | None = None
    """(expected, actual) verdict when they differ."""
    failing_findings: dict[str, list[str]] = field(default_factory=dict)
    """Per control of interest, the messages of its failing findings (for the report)."""


@dataclass(frozen=True)
class Coverage:
    """Which states of which controls and checks the suite covered."""

    controls: dict[str, frozenset[str]]
    """Every control of the policies under test, with the states covered (may be empty)."""
    checks: dict[tuple[str, str], frozenset[str]]
    """Every (control, check), with the states covered."""

    @staticmethod
    def _share(items: dict[str, frozenset[str]] | dict[tuple[str, str], frozenset[str]]) -> float:
        total = len(items) * len(STATES)
        covered = sum(len(states & set(STATES)) for states in items.values())
        return 100.0 * covered / total if total else 100.0

    @property
    def control_pairs(self) -> tuple[int, int]:
        """(covered, total) (control, state) pairs."""
        covered = sum(len(s) for s in self.controls.values())
        return covered, len(self.controls) * len(STATES)

    @property
    def check_pairs(self) -> tuple[int, int]:
        covered = sum(len(s) for s in self.checks.values())
        return covered, len(self.checks) * len(STATES)

    @property
    def control_percent(self) -> float:
        """Share of (control, state) pairs covered, in percent (100 with no controls)."""
        return self._share(self.controls)

    @property
    def check_percent(self) -> float:
        return self._share(self.checks)

    def uncovered_controls(self) -> list[tuple[str, list[str]]]:
        """Controls missing a state, with the missing states, sorted."""
        return [
            (cid, [s for s in STATES if s not in states])
            for cid, states in sorted(self.controls.items())
            if len(states) < len(STATES)
        ]

    def uncovered_checks(self) -> list[tuple[str, list[str]]]:
        """``CONTROL/check`` ids missing a state, with the missing states, sorted."""
        return [
            (f"{cid}/{check}", [s for s in STATES if s not in states])
            for (cid, check), states in sorted(self.checks.items())
            if len(states) < len(STATES)
        ]


@dataclass(frozen=True)
class SuiteResult:
    """Every case result of a run, in file then case order, and the coverage."""

    results: list[CaseResult]
    coverage: Coverage

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.outcome == "pass")

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.outcome == "fail")

    def below(self, min_coverage: float | None) -> bool:
        """Whether control coverage falls short of ``min_coverage`` percent (None: no floor)."""
        return min_coverage is not None and self.coverage.control_percent < min_coverage

    def exit_code(self, min_coverage: float | None = None) -> int:
        """1 when a case failed or control coverage is below ``min_coverage``, else 0."""
        return 1 if self.failed or self.below(min_coverage) else 0
