"""JSON Lines evidence files: one record per line (the format for high-volume evidence).

Lines are parsed with orjson: this is the hot path of the gate for millions of records.
orjson keeps the last of duplicate keys; every key must still be a known field of the
record's kind, so a duplicate can only repeat a known field.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from ...errors import InputError, Location
from .base import RawRecord, ReaderLimits


def read(data: bytes, file: str, limits: ReaderLimits) -> Iterator[RawRecord]:
    """Yield one record per non-blank line."""
    if len(data) > limits.max_evidence_bytes:
        raise InputError(
            f"file is {len(data)} bytes, larger than the limit of {limits.max_evidence_bytes}",
            location=Location(file),
            code="SIZE",
        )
    loads = orjson.loads
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            value = loads(line)
        except orjson.JSONDecodeError as err:
            raise InputError(
                f"invalid JSON on this line: {err.msg}",
                location=Location(file, number, err.colno),
                code="JSON",
            ) from None
        yield RawRecord(value, number, "", None)
