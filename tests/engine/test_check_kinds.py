"""Each check kind, passing and failing, with its sentence and its evidence pointers.

2026-06-01 (the default as-of) is a Monday; 2026-05-15 is a Friday.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from projectkit import (
    Kit,
    check,
    control,
    drift,
    incident,
    param,
    postmortem,
    review,
    risk_class,
    workflow,
)

from assay.models.assessment import CheckResult

EVIDENCE_FILE = "evidence/records.jsonl"


def single(
    kit: Kit,
    the_check: dict[str, Any],
    evidence: list[dict[str, Any]],
    params: dict[str, dict[str, Any]] | None = None,
    values: dict[str, Any] | None = None,
    as_of: str = "2026-06-01T00:00:00Z",
) -> CheckResult:
    """Assess one control with one check; return the check's result."""
    kit.setup(
        [control("T-ONE-01", the_check, params=params)],
        [risk_class("high", 3, ["T-ONE-01"], {"T-ONE-01": values} if values else None)],
        [workflow(launched="2025-01-06")],
        evidence,
    )
    (result,) = kit.control("T-ONE-01", as_of).checks
    return result


def lines_of(result: CheckResult) -> set[tuple[str, int | None]]:
    return {(e.file, e.line) for f in result.findings for e in f.evidence}


# --- present ----------------------------------------------------------------------------

PRESENT = check("present", min="$n", window="30d")
N = {"n": param("integer", "higher")}


def test_present_pass(kit: Kit) -> None:
    result = single(
        kit,
        PRESENT,
        [incident("I-1", "2026-05-10T00:00:00Z"), incident("I-2", "2026-05-20T00:00:00Z")],
        N,
        {"n": 2},
    )
    assert result.status == "pass"
    assert result.summary == "Expected at least 2 incidents in the last 30 days; found 2."
    assert lines_of(result) == {(EVIDENCE_FILE, 1), (EVIDENCE_FILE, 2)}


def test_present_fail_outside_window(kit: Kit) -> None:
    result = single(
        kit,
        PRESENT,
        [incident("I-1", "2026-04-10T00:00:00Z"), incident("I-2", "2026-05-20T00:00:00Z")],
        N,
        {"n": 2},
    )
    assert result.status == "fail"
    assert result.summary == "Expected at least 2 incidents in the last 30 days; found 1."
    found, closest = sorted(result.findings, key=lambda f: f.message)
    assert found.message == (
        "1 matching incident in the last 30 days; at least 2 are required (n for class high)"
    )
    # The record that did not count is named, with why and where it is.
    assert closest.message == (
        "the closest incident, I-1 (aware_at 2026-04-10 00:00 UTC), does not count: it lies "
        "outside the window of the last 30 days, which starts after 2026-05-02 00:00 UTC"
    )
    assert [(e.file, e.line) for e in closest.evidence] == [(EVIDENCE_FILE, 1)]
    assert lines_of(result) == {(EVIDENCE_FILE, 1), (EVIDENCE_FILE, 2)}


def test_record_created_after_as_of_is_ignored(kit: Kit) -> None:
    late = incident("I-1", "2026-05-20T00:00:00Z", created_at="2026-06-05T00:00:00Z")
    future = incident("I-2", "2026-06-03T00:00:00Z")
    result = single(kit, PRESENT, [late, future], N, {"n": 1})
    assert result.status == "fail"
    assert result.records == 0
    # As of a later time both exist and count.
    assert (
        single(kit, PRESENT, [late, future], N, {"n": 2}, as_of="2026-06-10T00:00:00Z").status
        == "pass"
    )


# --- fresh ------------------------------------------------------------------------------

FRESH = check("fresh", evidence="quarterly_review", max_age="92d")


def test_fresh_pass_uses_the_newest(kit: Kit) -> None:
    result = single(
        kit, FRESH, [review("R-1", "2025-06-01T00:00:00Z"), review("R-2", "2026-05-02T00:00:00Z")]
    )
    assert result.status == "pass"
    assert result.summary == (
        "Expected a quarterly review no older than 92 days; the newest "
        "(R-2, held_at 2026-05-02 00:00 UTC) is 30 days old."
    )
    assert lines_of(result) == {(EVIDENCE_FILE, 2)}


def test_fresh_fail_when_stale(kit: Kit) -> None:
    result = single(kit, FRESH, [review("R-1", "2026-01-01T00:00:00Z")])
    assert result.status == "fail"
    assert "is 151 days old" in result.summary
    assert result.findings[0].message == (
        "the newest quarterly review R-1 has held_at 2026-01-01 00:00 UTC, 151 days before "
        "the as-of time; it must be no older than 92 days, so no older than "
        "2026-03-01 00:00 UTC"
    )


def test_fresh_fail_when_none(kit: Kit) -> None:
    result = single(kit, FRESH, [incident("I-1", "2026-05-01T00:00:00Z")])
    assert result.status == "fail"
    assert result.summary == "Expected a quarterly review no older than 92 days; found none."


# --- every ------------------------------------------------------------------------------

EVERY = check("every", window="90d", assert_="r.acked_at - r.paged_at <= params.ack_sla")
ACK = {"ack_sla": param()}


def test_every_pass(kit: Kit) -> None:
    result = single(kit, EVERY, [incident("I-1", "2026-05-01T10:00:00Z")], ACK, {"ack_sla": "15m"})
    assert result.status == "pass"
    assert result.summary == "A every check: the one matching incident does."


def test_every_fail_names_the_record_and_values(kit: Kit) -> None:
    slow = incident("I-2", "2026-05-10T10:00:00Z", acked_at="2026-05-10T10:30:00Z")
    result = single(
        kit, EVERY, [incident("I-1", "2026-05-01T10:00:00Z"), slow], ACK, {"ack_sla": "15m"}
    )
    assert result.status == "fail"
    assert result.summary == "A every check: 1 of 2 incidents do not."
    (finding,) = [f for f in result.findings if f.outcome == "fail"]
    assert finding.message == (
        "incident I-2: the time from paged_at to acked_at is 30 m; at most 15 m is allowed "
        "(ack_sla for class high)"
    )
    assert finding.condition == "r.acked_at - r.paged_at <= params.ack_sla"
    (pointer,) = finding.evidence
    assert (pointer.file, pointer.line, pointer.record_id, pointer.kind) == (
        EVIDENCE_FILE,
        2,
        "I-2",
        "incident",
    )
    assert len(pointer.sha256) == 64


def test_every_with_no_evidence_fails(kit: Kit) -> None:
    result = single(kit, EVERY, [review("R-1", "2026-05-01T00:00:00Z")], ACK, {"ack_sla": "15m"})
    assert result.status == "fail"
    assert "no evidence" in result.summary


# --- covered ----------------------------------------------------------------------------


def covered(deadline: str) -> dict[str, Any]:
    return check(
        "covered",
        where='r.severity == "SEV1"',
        window="90d",
        by={"evidence": "postmortem", "key": "incident_id"},
        from_field="resolved_at",
        deadline=deadline,
        assert_="r.blameless",
        allow_empty=False,
    )


FRIDAY = "2026-05-15T10:00:00Z"


@pytest.mark.parametrize(
    ("deadline", "published", "status"),
    [
        ("2bd", "2026-05-19T09:00:00Z", "pass"),  # Tue: two business days after Friday
        ("2bd", "2026-05-19T11:00:00Z", "fail"),  # Tue, after 10:00
        ("2d", "2026-05-18T09:00:00Z", "fail"),  # calendar days end on Sunday
        ("1bd", "2026-05-18T10:00:00Z", "pass"),  # Monday 10:00 is one business day
    ],
)
def test_covered_business_days_across_a_weekend(
    kit: Kit, deadline: str, published: str, status: str
) -> None:
    evidence = [incident("I-1", FRIDAY), postmortem("PM-1", "I-1", published)]
    result = single(kit, covered(deadline), evidence)
    assert result.status == status
    assert lines_of(result) == {(EVIDENCE_FILE, 1), (EVIDENCE_FILE, 2)}
    if status == "fail":
        assert "came too late" in result.findings[0].message


def test_covered_missing_postmortem_after_deadline_fails(kit: Kit) -> None:
    result = single(
        kit, covered("5bd"), [incident("I-1", FRIDAY), incident("I-2", FRIDAY, severity="SEV3")]
    )
    assert result.status == "fail"
    # The summary leads with the check's own description, then what was found.
    assert result.summary == "A covered check: 0 of 1 incident covered, 1 not."
    assert result.findings[0].message == (
        "incident I-1: no postmortem links to it; it was due within 5 business days of "
        "resolved_at, by 2026-05-22 10:00 UTC"
    )


def test_covered_pending_before_the_deadline(kit: Kit) -> None:
    result = single(kit, covered("5bd"), [incident("I-1", "2026-05-29T10:00:00Z")])
    assert result.status == "pass"
    assert "1 not yet due" in result.summary
    assert result.findings[0].outcome == "pending"
    assert result.findings[0].message == (
        "incident I-1 has no postmortem yet; it is due within 5 business days of resolved_at, "
        "by 2026-06-05 10:00 UTC"
    )


def test_covered_assert_failure_is_explained(kit: Kit) -> None:
    evidence = [
        incident("I-1", FRIDAY),
        postmortem("PM-1", "I-1", "2026-05-18T00:00:00Z", blameless=False),
    ]
    result = single(kit, covered("5bd"), evidence)
    assert result.status == "fail"
    (finding,) = result.findings
    assert finding.message == (
        "incident I-1: postmortem PM-1 does not count: blameless is false; it must be true"
    )
    assert finding.condition == "r.blameless"
    # Both the incident and the postmortem that did not count are pointed at.
    assert [e.record_id for e in finding.evidence] == ["I-1", "PM-1"]


# --- aggregate --------------------------------------------------------------------------


def acks(minutes: list[int]) -> list[dict[str, Any]]:
    return [
        incident(
            f"I-{i}",
            f"2026-05-{i + 1:02d}T10:00:00Z",
            acked_at=f"2026-05-{i + 1:02d}T10:{m:02d}:00Z",
        )
        for i, m in enumerate(minutes)
    ]


P95 = check(
    "aggregate",
    function="p95",
    value="r.acked_at - r.paged_at",
    op="<=",
    threshold="$p95",
    window="90d",
)


def test_aggregate_p95_pass(kit: Kit) -> None:
    result = single(kit, P95, acks(list(range(1, 11))), {"p95": param()}, {"p95": "15m"})
    assert result.status == "pass"
    assert result.summary == (
        "Expected the 95th percentile of the time from paged_at to acked_at to be at most "
        "15 m (p95 for class high); it is met."
    )
    assert result.findings[0].message == (
        "the 95th percentile of the time from paged_at to acked_at is 10 m (over 10 "
        "incidents); at most 15 m (p95 for class high) is allowed"
    )


def test_aggregate_p95_fail(kit: Kit) -> None:
    result = single(kit, P95, acks(list(range(1, 21))), {"p95": param()}, {"p95": "15m"})
    assert result.status == "fail"
    assert result.summary.endswith("; it is not met.")
    # Nearest rank: the 19th of 20 values.
    assert result.findings[0].message.startswith(
        "the 95th percentile of the time from paged_at to acked_at is 19 m (over 20 incidents)"
    )


def daily(days: list[int], metric: str = "psi") -> list[dict[str, Any]]:
    """Drift runs on the given days before the as-of time (2026-06-01)."""
    base = datetime(2026, 6, 1, 0, 0)
    return [
        drift(
            f"D-{metric}-{d}",
            (base - timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            metric=metric,
        )
        for d in days
    ]


RATE = check(
    "aggregate",
    evidence="drift_log",
    function="rate",
    per="1d",
    op=">=",
    threshold=0.95,
    window="30d",
)


def test_aggregate_rate(kit: Kit) -> None:
    assert single(kit, RATE, daily(list(range(30)))).status == "pass"
    result = single(kit, RATE, daily(list(range(0, 30, 2))))
    assert result.status == "fail"
    assert result.findings[0].message == (
        "the share of the expected drift logs (one every 1 day) that exist is 50 % (over 15 "
        "drift logs); at least 95 % is required"
    )


GAP = check(
    "aggregate", evidence="drift_log", function="max_gap", op="<=", threshold="2d", window="30d"
)


def test_aggregate_max_gap(kit: Kit) -> None:
    assert single(kit, GAP, daily(list(range(30)))).status == "pass"
    result = single(kit, GAP, daily([d for d in range(30) if not 10 <= d <= 14]))
    assert result.status == "fail"
    assert result.findings[0].message == (
        "the longest time without a drift log is 6 days (over 25 drift logs); at most 2 days "
        "is allowed"
    )


def test_aggregate_max_gap_counts_the_time_since_the_last_record(kit: Kit) -> None:
    assert single(kit, GAP, daily(list(range(5, 30)))).status == "fail"


def test_aggregate_group_by_every_group_must_meet(kit: Kit) -> None:
    count = check(
        "aggregate",
        evidence="drift_log",
        function="count",
        group_by="metric",
        op=">=",
        threshold=10,
        window="30d",
    )
    result = single(kit, count, daily(list(range(20)), "psi") + daily([1, 2], "accuracy"))
    assert result.status == "fail"
    assert result.summary == (
        "Expected the number of drift logs, for every metric, to be at least 10; "
        "1 of 2 groups do not meet it."
    )
    messages = sorted(f.message for f in result.findings)
    assert messages == [
        "for metric accuracy: the number of drift logs is 2 (over 2 drift logs); "
        "at least 10 is required",
        "for metric psi: the number of drift logs is 20 (over 20 drift logs); "
        "at least 10 is required",
    ]
    assert [f.outcome for f in result.findings] == ["fail", "pass"]


def test_aggregate_ratio(kit: Kit) -> None:
    ratio = check(
        "aggregate",
        evidence="drift_log",
        function="ratio",
        value="!r.breach",
        op=">=",
        threshold=0.9,
        window="30d",
    )
    records = daily(list(range(10)))
    records[0]["breach"] = True
    assert single(kit, ratio, records).status == "pass"
    records[1]["breach"] = True
    assert single(kit, ratio, records).status == "fail"


def test_aggregate_no_evidence_fails(kit: Kit) -> None:
    result = single(kit, GAP, [incident("I-1", "2026-05-01T00:00:00Z")])
    assert result.status == "fail"
    assert "no evidence" in result.summary
