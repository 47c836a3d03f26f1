"""Instants in and out: parsing user-given times (the `--as-of` option) and writing them
the one way every report does (ISO 8601, UTC, ``Z``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ..errors import UsageError

_DATE_ONLY = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})Z?")
"""A calendar date, optionally with the ``Z`` an earlier hint suggested."""


def parse_instant(text: str, what: str = "--as-of") -> datetime:
    """An ISO 8601 timestamp with a timezone (``Z`` or an offset), normalised to UTC.

    A calendar date alone (``2026-11-20``) is that day's start in UTC: a date names no
    time of day, so there is no local time to be ambiguous about, and "as of 20 November"
    reads as its midnight. A date *with* a time of day still needs a timezone."""
    stripped = text.strip()
    day = _DATE_ONLY.fullmatch(stripped)
    if day is not None:
        try:
            return datetime.fromisoformat(day.group(1)).replace(tzinfo=UTC)
        except ValueError:
            raise UsageError(f"{what}: {text!r} is not a calendar date") from None
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
    return value.astimezone(UTC)


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix; a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
