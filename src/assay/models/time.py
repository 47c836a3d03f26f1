"""Instants in and out: parsing user-given times (the `--as-of` option, the dates and
timestamps of authored files: workflows, waivers) and writing them the one way every
report does (ISO 8601, UTC, ``Z``).

Every instant Assay evaluates at lies between :data:`EARLIEST` and :data:`LATEST`
(documented bounds): far enough apart for any real audit, and far enough from the ends
of Python's calendar (years 1 and 9999) that a window or deadline of the longest allowed
duration (see :mod:`assay.models.duration`) cannot overflow it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from ..errors import UsageError

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
"""The earliest as-of time accepted."""
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""The latest as-of time accepted."""
_DATE_ONLY = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})Z?")
"""A calendar date, optionally with the ``Z`` an earlier hint suggested."""


def parse_instant(text: str, what: str = "--as-of") -> datetime:
    """An ISO 8601 timestamp with a timezone (``Z`` or an offset), normalised to UTC, between
    :data:`EARLIEST` and :data:`LATEST`.

    A calendar date alone (``2026-11-20``) is that day's start in UTC: a date names no
    time of day, so there is no local time to be ambiguous about, and "as of 20 November"
    reads as its midnight. A date *with* a time of day still needs a timezone."""
    stripped = text.strip()
    day = _DATE_ONLY.fullmatch(stripped)
    if day is not None:
        try:
            value = datetime.fromisoformat(day.group(1)).replace(tzinfo=UTC)
        except ValueError:
            raise UsageError(f"{what}: {text!r} is not a calendar date") from None
        check_instant(value, what)
        return value
    try:
        value = datetime.fromisoformat(stripped)
    except ValueError:
        raise UsageError(
            f"{what}: expected an ISO 8601 timestamp like 2026-05-01T12:00:00Z "
            f"(or a date like 2026-05-01, its midnight UTC), got {text!r}"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        # The hint is itself a value this function accepts, whatever spelling came in.
        raise UsageError(
            f"{what}: the timestamp {text!r} has no timezone; add Z or an offset "
            f"(e.g. {timestamp(value)})"
        )
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise UsageError(f"{what}: {_OUTSIDE}") from None
    check_instant(value, what)
    return value


_OUTSIDE = f"the timestamp is outside the supported range {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}"


def check_instant(value: datetime, what: str = "the as-of time") -> None:
    """Refuse an instant outside the documented range (a usage error)."""
    if not EARLIEST <= value <= LATEST:
        raise UsageError(f"{what}: {_OUTSIDE}")


def _iso_date(value: Any) -> Any:
    # A quoted ISO date ("2026-01-05") is the same date, not a coercion; numbers are not.
    if type(value) is str:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return value  # pydantic words the error
    return value


def _iso_datetime(value: Any) -> Any:
    if type(value) is str:
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return value
    return value


def _in_range_day(value: date) -> date:
    if not EARLIEST.date() <= value <= LATEST.date():
        raise ValueError(f"a date must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return value


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"a time must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return value


Day = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_in_range_day)]
"""A calendar date: a YAML date or an ISO 8601 date string (never a number), within the
supported range."""
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_datetime), AfterValidator(_in_range)]
"""A timezone-aware instant: a YAML timestamp or an ISO 8601 string (never a number), within
the supported range."""


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix; a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
