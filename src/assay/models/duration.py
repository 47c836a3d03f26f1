"""Durations as policies write them: ``90d``, ``24h``, ``15m``, ``30s``, ``2w``, ``5bd``,
``12mo`` or ``1y``.

``s``, ``m``, ``h``, ``d`` and ``w`` are fixed spans. ``bd`` means business days (Monday to
Friday, UTC; public holidays are not modelled).

``mo`` and ``y`` are calendar months and years (a year is twelve months). Moved across, they
change the date by whole months and keep the time of day; a day the target month lacks
becomes its last day: 31 January + ``1mo`` is 28 February (29 in a leap year), 29 February
2028 + ``1y`` is 28 February 2029. That is how windows, ``max_age`` and deadlines apply them.

A *period* given by its first and last instant, as budgets and fiscal years are written
(1 January 00:00:00 to 31 December 23:59:59), lasts a calendar duration when the second
after its last instant is no earlier than the start moved by the duration
(:meth:`Duration.spanned_by`): that fiscal year lasts ``12mo`` and ``1y``, and a period
that stops a second or a day short does not.

CEL has only fixed-length durations. There a calendar duration stands for the *shortest*
span it can cover wherever it starts (``1mo`` is 28 days, ``12mo`` and ``1y`` are 365
days): `x >= params.horizon` never fails a span that covers the calendar duration, and
`x <= params.limit` never passes one that exceeds it. Where a span of twelve months
contains 29 February, CEL is a day lenient; compare calendar durations outside CEL
(windows, deadlines) when that day matters.

Bounds (checked wherever a duration is read): at most :data:`MAX_DAYS` days (about 100
years) of fixed-length time, :data:`MAX_BUSINESS_DAYS` business days, or 1,200 months
(100 years). An instant plus or minus a duration that would leave Python's calendar
(years 1 to 9999) is clamped to its end: a deadline after year 9999 never passes, a window
reaching before year 1 holds all.
"""

from __future__ import annotations

import calendar
import itertools
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

DURATION_PATTERN = r"^[0-9]+(s|m|h|d|w|bd|mo|y)$"
_DURATION_RE = re.compile(DURATION_PATTERN)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_DAYS = 36_600
"""The longest fixed-length duration accepted, in days (about 100 years)."""
MAX_BUSINESS_DAYS = 26_100
"""The longest business-day duration accepted (about 100 years of working days)."""
MAX_CALENDAR_MONTHS = 1_200
"""The longest calendar duration accepted, in months (100 years)."""
_MAX_DIGITS = 12
_LATEST = datetime.max.replace(tzinfo=UTC)
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_UNIT_WORDS = {
    "s": "second",
    "m": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "bd": "business day",
    "mo": "month",
    "y": "year",
}
_MONTHS_PER_UNIT = {"mo": 1, "y": 12}
MAX_MONTHS = 1000 * 12
"""Longest calendar duration accepted (a thousand years)."""
_MEAN_MONTH_SECONDS = 365.2425 * 86400 / 12
"""The mean Gregorian month: only for ordering durations of different units."""


class Duration:
    """A fixed span of time, a number of business days, or calendar months or years."""

    __slots__ = ("amount", "unit")

    def __init__(self, amount: int, unit: str):
        if unit not in _UNIT_WORDS:
            raise ValueError(f"unknown duration unit {unit!r}")
        if amount < 0:
            raise ValueError("a duration cannot be negative")
        if unit in _MONTHS_PER_UNIT and amount * _MONTHS_PER_UNIT[unit] > MAX_MONTHS:
            # Calendar arithmetic leaves the representable years beyond that.
            raise ValueError(f"a duration in months or years cannot exceed {MAX_MONTHS // 12}y")
        if unit == "bd":
            too_long = amount > MAX_BUSINESS_DAYS
        elif unit in _MONTHS_PER_UNIT:
            too_long = amount * _MONTHS_PER_UNIT[unit] > MAX_CALENDAR_MONTHS
        else:
            too_long = amount * _UNIT_SECONDS[unit] > MAX_DAYS * 86400
        if too_long:
            raise ValueError(
                f"a duration can be at most {MAX_DAYS}d (about 100 years), "
                f"{MAX_BUSINESS_DAYS}bd or {MAX_CALENDAR_MONTHS}mo, got {amount}{unit}"
            )
        self.amount = amount
        self.unit = unit

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``"24h"``-style text; raise ValueError saying what is expected."""
        match = _DURATION_RE.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise ValueError(
                f"expected a duration like 90d, 24h, 15m, 30s, 2w, 5bd (business days), "
                f"12mo or 1y (calendar months, years), got {text!r}"
            )
        digits = text.strip()[: match.start(1)]
        if len(digits) > _MAX_DIGITS:
            raise ValueError(
                f"a duration can be at most {MAX_DAYS}d (about 100 years), "
                f"{MAX_BUSINESS_DAYS}bd or {MAX_CALENDAR_MONTHS}mo, got a number of "
                f"{len(digits)} digits"
            )
        return cls(int(digits), match.group(1))

    @property
    def business(self) -> bool:
        return self.unit == "bd"

    @property
    def calendar(self) -> bool:
        """Calendar months or years: their length depends on where they start."""
        return self.unit in _MONTHS_PER_UNIT

    @property
    def months(self) -> int:
        """The number of calendar months (0 for other units)."""
        return self.amount * _MONTHS_PER_UNIT.get(self.unit, 0)

    def approx_seconds(self) -> float:
        """Seconds, counting a business day as 7/5 calendar days and a month as the mean
        Gregorian month (for ordering durations only)."""
        if self.unit == "bd":
            return self.amount * 86400 * 7 / 5
        if self.calendar:
            return self.months * _MEAN_MONTH_SECONDS
        return float(self.amount * _UNIT_SECONDS[self.unit])

    def as_timedelta(self) -> timedelta:
        """The fixed span, for CEL and other fixed-length uses. Calendar months and years
        give their shortest span (see the module notes); business days are not a span at
        all, so they are refused."""
        if self.unit == "bd":
            raise ValueError("business days have no fixed length")
        if self.calendar:
            return _shortest_span(self.months)
        return timedelta(seconds=self.amount * _UNIT_SECONDS[self.unit])

    def after(self, start: datetime) -> datetime:
        """The instant this duration after ``start``: calendar arithmetic or business days."""
        try:
            if self.unit == "bd":
                return add_business_days(start, self.amount)
            if self.calendar:
                return add_months(start, self.months)
            return start + self.as_timedelta()
        except (OverflowError, ValueError):  # past year 9999: a deadline that never passes
            return _LATEST

    def before(self, end: datetime) -> datetime:
        """The instant this duration before ``end`` (business days counted backwards)."""
        try:
            if self.unit == "bd":
                return add_business_days(end, -self.amount)
            if self.calendar:
                return add_months(end, -self.months)
            return end - self.as_timedelta()
        except (OverflowError, ValueError):  # before year 1: a window that holds all
            return _EARLIEST

    def spanned_by(self, first: datetime, last: datetime) -> bool:
        """Whether the period from ``first`` to its last instant ``last`` lasts this long:
        the second after ``last`` is no earlier than ``first`` moved by this duration.
        1 Jan 00:00:00 to 31 Dec 23:59:59 of one year is spanned by ``12mo`` and ``365d``."""
        return last + timedelta(seconds=1) >= self.after(first)

    def describe(self) -> str:
        """Words for reports: ``5 business days``, ``7 minutes 30 seconds``, ``12 months``."""
        if self.unit in ("bd", "mo", "y"):
            return _words(self.amount, self.unit)
        seconds = self.amount * _UNIT_SECONDS[self.unit]
        parts: list[str] = []
        for unit in ("d", "h", "m", "s"):
            size = _UNIT_SECONDS[unit]
            if seconds >= size:
                count, seconds = divmod(seconds, size)
                parts.append(_words(count, unit))
            if len(parts) == 2 or not seconds:
                break
        return " ".join(parts) or "0 seconds"

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    def __repr__(self) -> str:
        return f"Duration({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Duration) and (self.amount, self.unit) == (
            other.amount,
            other.unit,
        )

    def __hash__(self) -> int:
        return hash((self.amount, self.unit))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any) -> Duration:
            if isinstance(value, Duration):
                return value
            if not isinstance(value, str):
                raise ValueError(f"expected a duration string like 24h or 5bd, got {value!r}")
            return cls.parse(value)

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": (
                "A duration: 90d, 24h, 15m, 30s, 2w, 5bd (business days), or 12mo / 1y "
                "(calendar months / years)."
            ),
        }


def _words(count: int, unit: str) -> str:
    word = _UNIT_WORDS[unit]
    return f"{count} {word}{'' if count == 1 else 's'}"


def add_months(start: datetime, months: int) -> datetime:
    """Move ``months`` calendar months from ``start`` (negative: back), keeping the time of
    day; a day the target month lacks becomes its last day (31 Jan + 1 = 28/29 Feb)."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


_CYCLE_MONTHS = 400 * 12
"""The Gregorian calendar repeats after 400 years (146,097 days)."""


@lru_cache(maxsize=1)
def _month_days() -> tuple[int, ...]:
    """Running day counts over two 400-year cycles from January 2000: entry ``i`` is the days
    from 1 January 2000 to the first of month ``i``."""
    lengths: list[int] = []
    for year in range(2000, 2800):
        february = 29 if calendar.isleap(year) else 28
        lengths += (31, february, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return (0, *itertools.accumulate(lengths))


@lru_cache(maxsize=64)
def _shortest_span(months: int) -> timedelta:
    """The fewest days ``months`` calendar months can cover, over a whole 400-year cycle of
    the Gregorian calendar (which repeats after it): the shortest run of ``months``
    consecutive month lengths, from running sums (a window of the cycle read twice)."""
    cycles, rest = divmod(months, _CYCLE_MONTHS)
    days = _month_days()
    shortest = min(days[first + rest] - days[first] for first in range(_CYCLE_MONTHS))
    return timedelta(days=cycles * days[_CYCLE_MONTHS] + shortest)


def add_business_days(start: datetime, days: int) -> datetime:
    """Move ``days`` business days (Mon-Fri) from ``start``, keeping the time of day.

    Weekend days are skipped and the clock time is kept: from Friday 10:00, 1bd is
    Monday 10:00; from Saturday 10:00, 1bd is also Monday 10:00.
    """
    step = 1 if days >= 0 else -1
    remaining = abs(days)
    current = start
    while remaining:
        current += timedelta(days=step)
        if current.weekday() < 5:
            remaining -= 1
    return current
