"""Durations as policies write them: ``90d``, ``24h``, ``15m``, ``30s``, ``2w`` or ``5bd``.

``bd`` means business days (Monday to Friday, UTC; public holidays are not modelled).

Bounds (checked wherever a duration is read): at most :data:`MAX_DAYS` days (about 100
years) of calendar time, or :data:`MAX_BUSINESS_DAYS` business days. An instant plus or
minus a duration that would leave Python's calendar (years 1 to 9999) is clamped to its
end: a deadline after year 9999 never passes, a window reaching before year 1 holds all.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

DURATION_PATTERN = r"^[0-9]+(s|m|h|d|w|bd)$"
_DURATION_RE = re.compile(DURATION_PATTERN)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_DAYS = 36_600
"""The longest calendar duration accepted, in days (about 100 years)."""
MAX_BUSINESS_DAYS = 26_100
"""The longest business-day duration accepted (about 100 years of working days)."""
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
}


class Duration:
    """A span of calendar time, or a number of business days."""

    __slots__ = ("amount", "unit")

    def __init__(self, amount: int, unit: str):
        if unit not in _UNIT_WORDS:
            raise ValueError(f"unknown duration unit {unit!r}")
        if amount < 0:
            raise ValueError("a duration cannot be negative")
        too_long = (
            amount > MAX_BUSINESS_DAYS
            if unit == "bd"
            else amount * _UNIT_SECONDS[unit] > MAX_DAYS * 86400
        )
        if too_long:
            raise ValueError(
                f"a duration can be at most {MAX_DAYS}d (about 100 years) or "
                f"{MAX_BUSINESS_DAYS}bd, got {amount}{unit}"
            )
        self.amount = amount
        self.unit = unit

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``"24h"``-style text; raise ValueError saying what is expected."""
        match = _DURATION_RE.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise ValueError(
                f"expected a duration like 90d, 24h, 15m, 30s, 2w or 5bd (business days), "
                f"got {text!r}"
            )
        digits = text.strip()[: match.start(1)]
        if len(digits) > _MAX_DIGITS:
            raise ValueError(
                f"a duration can be at most {MAX_DAYS}d (about 100 years) or "
                f"{MAX_BUSINESS_DAYS}bd, got a number of {len(digits)} digits"
            )
        return cls(int(digits), match.group(1))

    @property
    def business(self) -> bool:
        return self.unit == "bd"

    def approx_seconds(self) -> float:
        """Seconds, counting a business day as 7/5 calendar days (for comparisons only)."""
        if self.unit == "bd":
            return self.amount * 86400 * 7 / 5
        return float(self.amount * _UNIT_SECONDS[self.unit])

    def as_timedelta(self) -> timedelta:
        """The calendar span; business days are not a fixed span, so they are refused."""
        if self.unit == "bd":
            raise ValueError("business days have no fixed length")
        return timedelta(seconds=self.amount * _UNIT_SECONDS[self.unit])

    def after(self, start: datetime) -> datetime:
        """The instant this duration after ``start``: calendar arithmetic or business days."""
        try:
            if self.unit != "bd":
                return start + self.as_timedelta()
            return add_business_days(start, self.amount)
        except OverflowError:
            return _LATEST

    def before(self, end: datetime) -> datetime:
        """The instant this duration before ``end`` (business days counted backwards)."""
        try:
            if self.unit != "bd":
                return end - self.as_timedelta()
            return add_business_days(end, -self.amount)
        except OverflowError:
            return _EARLIEST

    def describe(self) -> str:
        """Words for reports: ``5 business days``, ``7 minutes 30 seconds``."""
        if self.unit == "bd":
            return _words(self.amount, "bd")
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
            "description": "A duration: 90d, 24h, 15m, 30s, 2w, or 5bd (business days).",
        }


def _words(count: int, unit: str) -> str:
    word = _UNIT_WORDS[unit]
    return f"{count} {word}{'' if count == 1 else 's'}"


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
