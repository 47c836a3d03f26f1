"""JSON evidence files: one record (an object) or a list of records.

Parsed by msgspec, like JSON Lines (one rule for both: no NaN or Infinity, no number out of
range, no lone surrogate, no duplicate key, no nesting deeper than 64 levels): the document
is split into its records as raw JSON (``msgspec.Raw``, no objects built), each of which
then takes the same decode-and-keep path as a line of a ``.jsonl`` file, with the line and
column it starts at.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from ...errors import ErrorCode, InputError, Location
from ...parsing.jsonsafe import decode_error, depth_error, line_column
from ...parsing.yamlsafe import check_size
from .base import RawRecord, ReaderLimits

_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_WHITESPACE = b" \t\r\n"


def read(data: bytes, file: str, limits: ReaderLimits) -> Iterator[RawRecord]:
    """Yield the records of a JSON document (as raw JSON) with where each starts."""
    check_size(data, file, limits.max_evidence_bytes)
    yield from chunks(data, file)


def chunks(data: bytes, file: str) -> list[RawRecord]:
    """The records of a JSON document as raw JSON bytes, each with its line, column and
    JSON pointer; InputError (located) when the document is not JSON or not records."""
    return list(iter_chunks(data, file))


def iter_chunks(data: bytes, file: str) -> Iterator[RawRecord]:
    """:func:`chunks` one at a time (the document is parsed before the first)."""
    body = data.lstrip(_WHITESPACE)
    if body.startswith(b"\xef\xbb\xbf"):
        raise InputError(
            "a byte-order mark is not allowed in JSON", location=Location(file, 1, 1),
            code=ErrorCode.JSON,
        )  # fmt: skip
    if not body.startswith(b"["):
        try:
            msgspec.json.decode(data, type=msgspec.Raw)
        except RecursionError:
            raise depth_error(data, file) from None
        except (msgspec.DecodeError, msgspec.ValidationError) as err:
            raise decode_error(err, data, file) from None
        line, column = line_column(data, len(data) - len(body))
        yield RawRecord(body.rstrip(_WHITESPACE), line, "", None, column)
        return
    try:
        items = _LIST.decode(data)
    except RecursionError:
        raise depth_error(data, file) from None
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        raise decode_error(err, data, file) from None
    position = data.index(b"[") + 1
    line = data.count(b"\n", 0, position) + 1
    line_start = data.rfind(b"\n", 0, position) + 1
    for index, item in enumerate(items):
        # Each record is found right after the previous one (past a comma and spaces):
        # every scan below is bounded by the bytes between them, so this stays linear.
        raw = bytes(item)
        found = data.find(raw, position)
        gap = data.count(b"\n", position, found)
        if gap:
            line += gap
            line_start = data.rfind(b"\n", position, found) + 1
        # The column counts bytes (characters for ASCII, as machine exports usually are).
        record = RawRecord(raw, line, f"/{index}", None, found - line_start + 1)
        position = found + len(raw)
        inner = raw.count(b"\n")
        if inner:
            line += inner
            line_start = found + raw.rfind(b"\n") + 1
        yield record
