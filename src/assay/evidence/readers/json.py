"""JSON evidence files: one record (an object) or a list of records."""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from typing import Any

from ...errors import ErrorCode, InputError, Location
from ...parsing.yamlsafe import check_size, decode_utf8
from .base import RawRecord, ReaderLimits


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _decode_error(err: json.JSONDecodeError, file: str) -> InputError:
    return InputError(
        f"invalid JSON: {err.msg}",
        location=Location(file, err.lineno, err.colno),
        code=ErrorCode.JSON,
    )


def read(data: bytes, file: str, limits: ReaderLimits) -> Iterator[RawRecord]:
    """Yield the records of a JSON document with the line each starts on."""
    check_size(data, file, limits.max_evidence_bytes)
    text = decode_utf8(data, file)
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def line_of(offset: int) -> int:
        return bisect.bisect_right(newlines, offset - 1) + 1

    decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates)
    pos = _skip_ws(text, 0)
    try:
        if pos < len(text) and text[pos] == "[":
            pos = _skip_ws(text, pos + 1)
            index = 0
            if pos < len(text) and text[pos] == "]":
                pos += 1
            else:
                while True:
                    start = pos
                    value, pos = decoder.raw_decode(text, pos)
                    yield RawRecord(value, line_of(start), f"/{index}", None)
                    index += 1
                    pos = _skip_ws(text, pos)
                    if pos < len(text) and text[pos] == ",":
                        pos = _skip_ws(text, pos + 1)
                        continue
                    if pos < len(text) and text[pos] == "]":
                        pos += 1
                        break
                    raise json.JSONDecodeError("expected ',' or ']'", text, pos)
        else:
            start = pos
            value, pos = decoder.raw_decode(text, pos)
            yield RawRecord(value, line_of(start), "", None)
        pos = _skip_ws(text, pos)
        if pos != len(text):
            raise json.JSONDecodeError("extra data after the document", text, pos)
    except json.JSONDecodeError as err:
        raise _decode_error(err, file) from None
    except _DuplicateKey as err:
        # The hook does not know where it is: find the second occurrence of the key after
        # the start of the record being decoded.
        key = err.args[0]
        hits = [m.start() for m in re.finditer(re.escape(json.dumps(key)) + r"\s*:", text[pos:])]
        offset = pos + hits[1] if len(hits) > 1 else pos
        raise InputError(
            f"duplicate key {key!r}", location=Location(file, line_of(offset)), code=ErrorCode.JSON
        ) from None
    except RecursionError:
        raise InputError("nesting too deep", location=Location(file), code=ErrorCode.JSON) from None


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos
