"""CEL conditions in plain words (assay.cel.words): what was required and what was found,
with values and units, built from the syntax tree of the unmet part; never CEL syntax or a
Python repr."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from assay.cel import words
from assay.cel.words import Scope, requirement, show, span, unmet
from assay.models.duration import Duration

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CEL_SYNTAX = re.compile(
    r"\br\.|\bsrc\.|params\.|&&|\|\||==|!=|\bTrue\b|\bFalse\b|\bNone\b|(?<!\w)'[^']*'"
)


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=UTC)


def scope(
    record: dict[str, Any],
    params: dict[str, Any] | None = None,
    sources: dict[str, str] | None = None,
    **extra: Any,
) -> Scope:
    """A scope as a check builds it: CEL sees calendar durations as timedeltas; the
    sentence shows the parameter as the policy wrote it."""
    raw = params or {}
    cel = {k: v.as_timedelta() if isinstance(v, Duration) else v for k, v in raw.items()}
    variables = {"r": record, "params": cel, "now": NOW, "workflow": {"owner": "ana"}, **extra}
    return Scope(variables, params=raw, param_sources=sources or {}, **extra_scope(extra))


def extra_scope(extra: dict[str, Any]) -> dict[str, Any]:
    return {"labels": {"src": "deploy record DEP-1"}} if "src" in extra else {}


def sentence(source: str, sc: Scope) -> str:
    text = unmet(source, sc).text()
    assert not CEL_SYNTAX.search(text), text
    return text


def test_a_duration_comparison_names_the_span_the_bound_and_the_parameter_source() -> None:
    record = {"started_at": at(8, 5, day=26), "ended_at": at(13, 5, day=27)}
    sc = scope(record, {"min_duration": Duration(48, "h")}, {"min_duration": "hypercare (high)"})
    source = "r.verdict == 'pass' || r.ended_at - r.started_at >= params.min_duration"
    got = unmet("r.ended_at - r.started_at >= params.min_duration", sc)
    assert got.text() == (
        "it ran 29 h 0 m (from started_at to ended_at); at least 48 h is required "
        "(min_duration during hypercare)"
    )
    assert got.condition == "r.ended_at - r.started_at >= params.min_duration"
    either = scope({**record, "verdict": "x"}, {"min_duration": Duration(48, "h")})
    assert sentence(source.replace("'", '"'), either) == (
        'verdict is "x"; it must be "pass"; nor does the alternative hold: it ran 29 h 0 m '
        "(from started_at to ended_at); at least 48 h is required (min_duration)"
    )


def test_the_time_between_two_other_fields_is_named_from_start_to_end() -> None:
    sc = scope({"paged_at": at(10), "acked_at": at(10, 30)}, {"ack": Duration(15, "m")})
    assert sentence("r.acked_at - r.paged_at <= params.ack", sc) == (
        "the time from paged_at to acked_at is 30 m; at most 15 m is allowed (ack)"
    )


def test_only_the_unmet_conjuncts_are_explained_and_kept_as_the_condition() -> None:
    sc = scope({"owner": "bob", "timeline": [], "blameless": False})
    got = unmet('r.owner != "" && r.blameless && size(r.timeline) >= 1', sc)
    assert got.clauses == (
        "blameless is false; it must be true",
        "timeline has 0 items; at least 1 is required",
    )
    assert got.condition == "r.blameless && size(r.timeline) >= 1"


def test_booleans_and_strings_are_words_not_python() -> None:
    sc = scope({"emergency": True, "verdict": "fail", "note": ""})
    assert sentence("!r.emergency", sc) == "emergency is true; it must be false"
    assert sentence('r.verdict == "pass"', sc) == 'verdict is "fail"; it must be "pass"'
    assert sentence('r.note != ""', sc) == "note is empty"
    assert sentence("r.emergency == false", sc) == "emergency is true; it must be false"


def test_missing_values_say_missing() -> None:
    sc = scope({"triaged_at": None, "triage_ref": None})
    assert sentence("r.triaged_at != null && r.triage_ref != null", sc) == (
        "triaged_at is missing; and triage_ref is missing"
    )


def test_size_more_than_zero_reads_as_at_least_one() -> None:
    assert sentence("size(r.actions) > 0", scope({"actions": []})) == (
        "actions has 0 items; at least 1 is required"
    )


def test_in_a_list_names_the_allowed_values_and_their_parameter() -> None:
    sc = scope({"tier": "gold"}, {"tiers": ["primary", "secondary"]}, {"tiers": "high"})
    assert sentence("r.tier in params.tiers", sc) == (
        'tier is "gold"; it must be one of "primary", "secondary" (tiers for class high)'
    )
    assert sentence('"latency" in r.signals', scope({"signals": ["errors"]})) == (
        'signals does not include "latency"'
    )
    assert sentence('"art13" in r.transparency', scope({"transparency": {}})) == (
        'transparency has no entry "art13"'
    )


def test_all_names_the_offending_item_by_its_identifying_key() -> None:
    sc = scope(
        {
            "created_at": at(12),
            "approvers": [
                {"id": "ana", "approved_at": at(9)},
                {"id": "bob", "approved_at": at(14)},
            ],
        }
    )
    assert sentence("r.approvers.all(a, a.approved_at <= r.created_at)", sc) == (
        'approver "bob": approved_at is 2026-05-01 14:00 UTC, and created_at is '
        "2026-05-01 12:00 UTC; approved_at must be no later than created_at"
    )
    actions = {"actions": [{"owner": "ana"}, {"owner": ""}]}
    assert sentence('r.actions.all(a, a.owner != "")', scope(actions)) == (
        "action 2 of 2: owner is empty"
    )


def test_exists_says_what_no_item_has_and_an_empty_list_is_named() -> None:
    sc = scope({"lines": [{"category": "compute", "amount": 0.0}]})
    assert sentence('r.lines.exists(x, x.category == "labelling" && x.amount > 0.0)', sc) == (
        'lines has no item where category is "labelling" and amount is more than 0'
    )
    assert sentence("r.shifts.exists(s, s.start <= now)", scope({"shifts": []})) == (
        "shifts has no items"
    )


def test_all_over_a_parameter_list_names_the_missing_value() -> None:
    sc = scope({"alerts": [{"signal": "errors"}]}, {"signals": ["errors", "latency"]})
    assert sentence("params.signals.all(s, r.alerts.exists(a, a.signal == s))", sc) == (
        'alerts has no item where signal is "latency"'
    )


def test_a_guard_decided_by_a_parameter_is_dropped_and_named_as_the_reason() -> None:
    sc = scope({"signed_off_by": None}, {"require_signoff": True}, {"require_signoff": "high"})
    source = '!params.require_signoff || (r.signed_off_by != null && r.signed_off_by != "")'
    assert sentence(source, sc) == (
        "signed_off_by is missing (required as require_signoff is true for class high)"
    )


def test_alternatives_that_all_fail_are_each_explained() -> None:
    sc = scope({"variance_pct": 25.0, "variance_note": None}, {"tol_pct": 20})
    source = "r.variance_pct <= params.tol_pct || r.variance_note != null"
    assert sentence(source, sc) == (
        "variance_pct is 25 %; at most 20 % is allowed (tol_pct); nor does the alternative "
        "hold: variance_note is missing"
    )


def test_a_field_compared_with_another_record_names_both_values() -> None:
    src = {"started_at": at(9)}
    sc = scope({"performed_at": at(10)}, src=src)
    assert sentence("r.performed_at <= src.started_at", sc) == (
        "performed_at is 2026-05-01 10:00 UTC, and started_at of deploy record DEP-1 is "
        "2026-05-01 09:00 UTC; performed_at must be no later than started_at of deploy "
        "record DEP-1"
    )


def test_a_time_bound_worked_out_from_the_workflow_is_shown_with_how() -> None:
    sc = scope({"reviewed_at": at(9, day=20)}, workflow={"launched": at(0, day=3)})
    assert sentence('r.reviewed_at < workflow.launched + duration("24h")', sc) == (
        "reviewed_at is 2026-05-20 09:00 UTC; it must be earlier than 2026-05-04 00:00 UTC "
        "(24 h after the workflow's launch date)"
    )


def test_requirement_drops_decided_guards_and_merges_alternatives() -> None:
    sc = scope({}, {"require_owner": False})
    source = (
        '(r.priority == "P0" || r.priority == "P1") && (!params.require_owner || r.owner != "")'
    )
    assert requirement(source, sc) == 'priority is "P0" or "P1"'
    assert requirement("!params.require_owner || r.x", sc) == "always"


def test_a_condition_that_errors_says_it_could_not_be_checked() -> None:
    got = sentence('r.closed_at - r.received_at <= duration("1h")', scope({}))
    assert got == (
        "the time from received_at to closed_at is at most 1 h could not be checked "
        '(no such key "closed_at" in r)'
    )


def test_a_false_operand_beside_an_error_is_the_reason_not_the_error() -> None:
    # CEL's && absorbs the error of the second operand when the first is false.
    sc = scope({"closed_at": None, "received_at": at(9)}, {"limit": Duration(30, "d")})
    source = "r.closed_at != null && r.closed_at - r.received_at <= params.limit"
    got = unmet(source, sc)
    assert got.clauses == ("closed_at is missing",)
    assert got.condition == "r.closed_at != null"


def test_the_pooled_ratio_pattern_is_recognised() -> None:
    source = (
        'double(size(r.actions.filter(a, a.priority == "P1" && a.closed_at != null))) '
        '- params.share * double(size(r.actions.filter(a, a.priority == "P1")))'
    )
    pooled = words.pooled_ratio(source, scope({}, {"share": 0.9}))
    assert pooled is not None
    assert pooled.share == "params.share"
    assert pooled.phrase == (
        'the share of actions where priority is "P1" that also meet: closed_at is set'
    )
    assert words.pooled_ratio("r.a - r.b", scope({})) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (None, "missing"),
        ("kill_switch", '"kill_switch"'),
        (0.1 + 0.2, "0.3"),
        (5000, "5000"),
        (Duration(5, "bd"), "5 business days"),
        (Duration(48, "h"), "48 h"),
        (Duration(90, "d"), "90 days"),
        (timedelta(hours=29), "29 h 0 m"),
        (timedelta(minutes=31, seconds=20), "31 m 20 s"),
        (timedelta(days=100, hours=4), "100 days 4 h"),
        (datetime(2026, 11, 7, 3, 15, tzinfo=UTC), "2026-11-07 03:15 UTC"),
        (["a", "b"], '"a", "b"'),
        ([{"x": 1}] * 7, "7 items"),
    ],
)
def test_values_are_shown_for_humans(value: Any, text: str) -> None:
    assert show(value) == text


def test_units_come_from_the_name() -> None:
    assert show(12.5, words.unit_of("error_budget_remaining_pct")) == "12.5 %"
    assert show(2, words.unit_of("min_runway_months")) == "2 months"
    assert show(1, words.unit_of("retention_days")) == "1 day"
    assert show(30, words.unit_of("measured_rto_min")) == "30 min"


def test_span_and_kind_words() -> None:
    assert span(59) == "59 s"
    assert span(-90) == "−1 m 30 s"
    assert words.kind_words("canary_report") == "canary report"
    assert words.kind_plural("drift_log", 1) == "1 drift log"
    assert words.kind_plural("incident", 3) == "3 incidents"
    assert words.article("oversight report") == "an oversight report"
    assert words.source_words("hypercare (high)") == "during hypercare"
    assert words.source_words("default") == "by default"


def test_both_sides_of_a_comparison_are_in_the_unit_one_side_declares() -> None:
    # `max_traffic` declares no unit, but it bounds `max_traffic_pct`: "at most 5 %", not
    # "7 %; at most 5" (the field in percent, the parameter a bare number).
    sc = scope({"max_traffic_pct": 7.0}, {"max_traffic": 5}, {"max_traffic": "high"})
    assert sentence("r.max_traffic_pct <= params.max_traffic", sc) == (
        "max_traffic_pct is 7 %; at most 5 % is allowed (max_traffic for class high)"
    )
    assert requirement("r.max_traffic_pct <= params.max_traffic", sc) == (
        "max_traffic_pct is at most 5 % (max_traffic for class high)"
    )
    assert (
        sentence("r.max_traffic_pct <= 5", sc) == "max_traffic_pct is 7 %; at most 5 % is allowed"
    )
    # A parameter that declares its own unit keeps it.
    sc = scope({"share_pct": 7.0}, {"cap_days": 5})
    assert "at most 5 days" in sentence("r.share_pct <= params.cap_days", sc)


@pytest.mark.parametrize("utc_first", [True, False])
def test_one_instant_in_two_offsets_keeps_each_its_own_words(utc_first: bool) -> None:
    # Equal datetimes (one instant) hash alike: the words of the first seen must not be
    # reused for the other.
    utc = datetime(2026, 1, 1, 12, 0, 30 if utc_first else 31, tzinfo=UTC)
    plus_two = utc.astimezone(timezone(timedelta(hours=2)))
    assert utc == plus_two
    order = [utc, plus_two] if utc_first else [plus_two, utc]
    said = {id(v): words.time_words(v) for v in order}
    assert said[id(utc)] == "2026-01-01 12:00 UTC"
    assert said[id(plus_two)] == plus_two.isoformat()
    assert said[id(plus_two)].endswith("+02:00")
