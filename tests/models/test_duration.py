"""Durations: the fixed units stay exactly as they were; calendar months and years move dates
by whole months, and a fiscal year lasts twelve of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from assay.models.duration import (
    DURATION_PATTERN,
    MAX_CALENDAR_MONTHS,
    Duration,
    _shortest_span,
    add_months,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (text, str, describe, fixed span or None for business days) of the units that existed before
# calendar units: reports, packs and golden files depend on these words.
EXISTING = [
    ("90d", "90d", "90 days", timedelta(days=90)),
    ("24h", "24h", "1 day", timedelta(hours=24)),
    ("15m", "15m", "15 minutes", timedelta(minutes=15)),
    ("450s", "450s", "7 minutes 30 seconds", timedelta(seconds=450)),
    ("30s", "30s", "30 seconds", timedelta(seconds=30)),
    ("2w", "2w", "14 days", timedelta(days=14)),
    ("0s", "0s", "0 seconds", timedelta(0)),
    ("5bd", "5bd", "5 business days", None),
    ("1bd", "1bd", "1 business day", None),
]


@pytest.mark.parametrize(("text", "shown", "words", "span"), EXISTING)
def test_existing_units_are_unchanged(
    text: str, shown: str, words: str, span: timedelta | None
) -> None:
    d = Duration.parse(text)
    assert (str(d), d.describe(), d.calendar) == (shown, words, False)
    if span is None:
        assert d.business
        with pytest.raises(ValueError, match="no fixed length"):
            d.as_timedelta()
    else:
        assert d.as_timedelta() == span
        assert d.approx_seconds() == span.total_seconds()
        assert d.after(at("2026-01-31T10:00:00")) == at("2026-01-31T10:00:00") + span


@pytest.mark.parametrize(
    ("text", "words", "months"),
    [("12mo", "12 months", 12), ("1mo", "1 month", 1), ("1y", "1 year", 12), ("2y", "2 years", 24)],
)
def test_calendar_units_parse_and_read(text: str, words: str, months: int) -> None:
    d = Duration.parse(text)
    assert str(d) == text and d.describe() == words
    assert d.calendar and not d.business and d.months == months


@pytest.mark.parametrize(
    ("start", "text", "end"),
    [
        ("2027-01-01T00:00:00", "12mo", "2028-01-01T00:00:00"),
        ("2027-03-15T14:30:00", "1mo", "2027-04-15T14:30:00"),  # time of day is kept
        ("2027-01-31T09:00:00", "1mo", "2027-02-28T09:00:00"),  # no 31 February: its last day
        ("2028-01-31T09:00:00", "1mo", "2028-02-29T09:00:00"),  # leap year
        ("2028-02-29T00:00:00", "1y", "2029-02-28T00:00:00"),
        ("2027-11-30T00:00:00", "3mo", "2028-02-29T00:00:00"),
        ("2026-12-15T00:00:00", "1mo", "2027-01-15T00:00:00"),  # across a year end
    ],
)
def test_calendar_units_move_dates_by_months(start: str, text: str, end: str) -> None:
    d = Duration.parse(text)
    assert d.after(at(start)) == at(end)


def test_before_counts_months_back() -> None:
    assert Duration.parse("1mo").before(at("2026-03-31T12:00:00")) == at("2026-02-28T12:00:00")
    assert Duration.parse("1y").before(at("2026-06-01T00:00:00")) == at("2025-06-01T00:00:00")
    assert add_months(at("2026-01-15T00:00:00"), -13) == at("2024-12-15T00:00:00")


@pytest.mark.parametrize(
    ("first", "last", "text", "spanned"),
    [
        # The fiscal year of evidence_templates/budget_record.yaml.
        ("2027-01-01T00:00:00", "2027-12-31T23:59:59", "12mo", True),
        ("2027-01-01T00:00:00", "2027-12-31T23:59:59", "1y", True),
        ("2028-01-01T00:00:00", "2028-12-31T23:59:59", "12mo", True),  # a leap year
        ("2027-01-01T00:00:00", "2027-12-31T23:59:58", "12mo", False),  # a second short
        ("2027-01-01T00:00:00", "2027-12-30T23:59:59", "12mo", False),  # a day short
        # Twelve calendar months from 1 March 2027 include 29 February 2028.
        ("2027-03-01T00:00:00", "2028-02-28T23:59:59", "12mo", False),
        ("2027-03-01T00:00:00", "2028-02-29T23:59:59", "12mo", True),
        ("2027-04-01T00:00:00", "2027-09-30T23:59:59", "6mo", True),
        ("2027-01-01T00:00:00", "2027-12-31T23:59:59", "365d", True),
    ],
)
def test_a_period_spans_a_duration_to_its_last_instant(
    first: str, last: str, text: str, spanned: bool
) -> None:
    assert Duration.parse(text).spanned_by(at(first), at(last)) is spanned


def test_cel_sees_the_shortest_span() -> None:
    """CEL has fixed-length durations only; a calendar duration is its shortest span, so
    `span >= horizon` never fails a span that really covers it."""
    assert Duration.parse("1mo").as_timedelta() == timedelta(days=28)
    assert Duration.parse("12mo").as_timedelta() == timedelta(days=365)
    assert Duration.parse("1y").as_timedelta() == timedelta(days=365)
    # 1 March 2097 to 1 March 2101 has no 29 February (2100 is not a leap year).
    assert Duration.parse("4y").as_timedelta() == timedelta(days=4 * 365)
    fiscal = at("2027-12-31T23:59:59") + timedelta(seconds=1) - at("2027-01-01T00:00:00")
    assert fiscal >= Duration.parse("12mo").as_timedelta()


def test_calendar_durations_order_between_fixed_ones() -> None:
    year = Duration.parse("12mo").approx_seconds()
    assert Duration.parse("365d").approx_seconds() < year < Duration.parse("366d").approx_seconds()
    assert Duration.parse("1y").approx_seconds() == year
    assert Duration.parse("1mo").approx_seconds() > Duration.parse("30d").approx_seconds()


@pytest.mark.parametrize("text", ["12 mo", "1.5y", "-1mo", "1yr", "12M", "1001y", "12001mo"])
def test_bad_calendar_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        Duration.parse(text)


def test_schema_pattern_accepts_calendar_units() -> None:
    class Model(BaseModel):
        span: Duration

    schema = Model.model_json_schema()["properties"]["span"]
    assert schema["pattern"] == DURATION_PATTERN
    assert "12mo" in schema["description"]
    assert Model.model_validate({"span": "12mo"}).span == Duration(12, "mo")
    assert Model.model_validate({"span": "1y"}).model_dump(mode="json") == {"span": "1y"}


@pytest.mark.parametrize("months", [*range(1, 31), 48, 100, 1199, 1200, 4799, 4800, 4801, 12000])
def test_the_shortest_span_is_the_fewest_days_over_the_calendar_cycle(months: int) -> None:
    """The running-sum form agrees with moving every first of the month of a 400-year cycle
    (the Gregorian calendar repeats after it) by ``months`` and keeping the shortest move;
    past the longest duration accepted (1200mo) too, where the cycle wraps."""
    firsts = [add_months(datetime(2000, 1, 1), shift) for shift in range(400 * 12)]
    expected = min(add_months(first, months) - first for first in firsts)
    assert _shortest_span(months) == expected
    if months <= MAX_CALENDAR_MONTHS:
        assert Duration(months, "mo").as_timedelta() == expected
