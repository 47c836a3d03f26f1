"""Control coverage of a policy test suite (what "covered" means is told in
:mod:`assay.models.policytest`). Only what a case both exercised and asserted counts:
running a control without checking its verdict proves nothing.
"""

from __future__ import annotations

from ...models.policytest import STATES, CaseResult, Coverage
from .runner import PolicyUnderTest


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
        for cid in result.asserted:
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
