"""Instants in and out: parsing user-given times (the `--as-of` option) and writing them
the one way every report does (ISO 8601, UTC, ``Z``)."""

from __future__ import annotations

from datetime import UTC, datetime

from ..errors import UsageError


def parse_instant(text: str, what: str = "--as-of") -> datetime:
    """An ISO 8601 timestamp with a timezone (``Z`` or an offset), normalised to UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{what}: expected an ISO 8601 timestamp like 2026-05-01T12:00:00Z, got {text!r}"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise UsageError(
            f"{what}: the timestamp {text!r} has no timezone; add Z or an offset "
            f"(e.g. {text.strip()}Z)"
        )
    return value.astimezone(UTC)


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix; a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
