"""What a check's findings and summary say: a check that could not be evaluated says so,
and a failing finding names only the part of a condition the record does not meet."""

from __future__ import annotations

from projectkit import Kit, check, control, incident, param, risk_class, workflow


def test_every_check_that_could_not_be_evaluated_says_so(kit: Kit) -> None:
    broken = control("T-ERR-01", check("every", assert_="r.no_such_field == 1"))
    kit.setup(
        [broken],
        [risk_class("high", 3, ["T-ERR-01"])],
        [workflow()],
        [incident("I-1", "2026-05-01T00:00:00Z")],
    )
    result = kit.control("T-ERR-01")
    assert result.status == "error"
    assert "could not be evaluated on 1 incident." in result.checks[0].summary


def test_a_failing_finding_names_only_the_unmet_part_of_a_condition(kit: Kit) -> None:
    every = control(
        "T-E-01",
        check(
            "every",
            assert_='r.owner != "" && r.acked_at - r.paged_at <= params.ack && size(r.timeline) > 0',
        ),
        params={"ack": param()},
    )
    high = risk_class("high", 3, ["T-E-01"], params={"T-E-01": {"ack": "5m"}})
    slow_ack = incident(
        "I-1",
        "2026-05-01T00:00:00Z",
        acked_at="2026-05-01T00:30:00Z",
        timeline=[{"ts": "2026-05-01T00:00:00Z", "entry": "paged"}],
    )
    kit.setup([every], [high], [workflow()], [slow_ack])
    (finding,) = kit.control("T-E-01").checks[0].findings
    assert finding.message == (
        "incident I-1: the time from paged_at to acked_at is 30 m; at most 5 m is allowed "
        "(ack for class high)"
    )
    # The CEL of the unmet part, and only that part, is kept apart from the sentence.
    assert finding.condition == "r.acked_at - r.paged_at <= params.ack"
