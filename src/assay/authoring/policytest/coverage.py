"""Control coverage of a policy test suite.

A (control, state) pair is *covered* when some passing case asserted that control's
status and the status was that state: ``pass``, or ``fail`` (the control's own checks
failed; ``blocked`` says nothing about the control itself). A check's state is covered
when, in a passing case that asserted its control, the check had that status. Only what
a case both exercised and asserted counts: running a control without checking its
verdict proves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .runner import CaseResult, PolicyUnderTest

STATES = ("pass", "fail")


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


def compute_coverage(results: list[CaseResult], outline: PolicyUnderTest | None) -> Coverage:
    """Coverage of ``outline``'s controls and checks by the passing, asserting cases."""
    controls: dict[str, set[str]] = {cid: set() for cid in (outline.controls if outline else {})}
    checks: dict[tuple[str, str], set[str]] = {
        (cid, check): set()
        for cid, ids in (outline.controls.items() if outline else [])
        for check in ids
    }
    for result in results:
        if result.outcome != "pass":
            continue
        for cid in result.case.expect:
            status = result.statuses.get(cid)
            if status in STATES and cid in controls:
                controls[cid].add(status)
            for (control, check), check_status in result.check_statuses.items():
                if control == cid and check_status in STATES and (control, check) in checks:
                    checks[(control, check)].add(check_status)
    return Coverage(
        controls={k: frozenset(v) for k, v in sorted(controls.items())},
        checks={k: frozenset(v) for k, v in sorted(checks.items())},
    )
