"""The verdict has one owner: Verdict.of decides it, the Summary refuses contradictions."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from assay.models.assessment import Summary, Verdict


@pytest.mark.parametrize(
    ("statuses", "prohibited", "expected"),
    [
        (["pass", "waived", "not_applicable"], False, Verdict.COMPLIANT),
        (["pass", "blocked"], False, Verdict.NON_COMPLIANT),
        (["pass", "error"], False, Verdict.NON_COMPLIANT),
        ([], False, Verdict.NON_COMPLIANT),  # no controls prove nothing
        (["pass"], True, Verdict.PROHIBITED),
    ],
)
def test_verdict_of_statuses(statuses: list[str], prohibited: bool, expected: Verdict) -> None:
    verdict = Verdict.of(statuses, prohibited=prohibited)
    assert verdict is expected
    assert verdict.exit_code == (0 if expected is Verdict.COMPLIANT else 1)


def test_fleet_takes_its_worst_member() -> None:
    assert Verdict.worst([]) is Verdict.COMPLIANT
    assert Verdict.worst([Verdict.COMPLIANT, Verdict.NON_COMPLIANT]) is Verdict.NON_COMPLIANT
    assert (
        Verdict.worst([Verdict.PROHIBITED, Verdict.NON_COMPLIANT, Verdict.COMPLIANT])
        is Verdict.PROHIBITED
    )


def test_summary_refuses_a_verdict_it_does_not_know_or_contradicts() -> None:
    with pytest.raises(ValidationError):
        Summary(counts={}, compliant=False, verdict="non-compliant")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Summary(counts={}, compliant=True, verdict=Verdict.NON_COMPLIANT)
