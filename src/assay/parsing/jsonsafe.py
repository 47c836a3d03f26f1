"""Safe JSON parsing with located errors: one rule for every JSON input (evidence `.json`
and `.jsonl`, assessment files given to `assay diff`).

msgspec's decoder is the parser: it refuses what is not JSON (``NaN``, ``Infinity``,
trailing data, invalid UTF-8, lone surrogates such as ``"\\ud800"``), refuses numbers out
of range (``1e999``, integers of thousands of digits) instead of turning them into
infinities, and is ~5x faster than the standard library. What it does not do is added
here:

* **duplicate keys** are refused (``{"breach": true, "breach": false}`` means two things;
  most parsers, msgspec too, silently keep the last): :func:`find_duplicate_key` finds
  the first one exactly, with its offset;
* **deep nesting** (``[`` × 100,000) is refused with the line and column where it passes
  :data:`MAX_DEPTH` levels, never as a RecursionError;
* every error names the file, line and column (from msgspec's byte offset).
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import orjson

from ..errors import ErrorCode, InputError, Location
from .yamlsafe import MAX_DEPTH, check_size

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]')
_TOKEN_BYTES = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\]]')
_BYTE = re.compile(r"\(byte (\d+)\)")
_DECODER = msgspec.json.Decoder()


def line_column(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte ``offset`` of ``data``."""
    offset = max(0, min(offset, len(data)))
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def shift(line: int, column: int, start: tuple[int, int]) -> tuple[int, int]:
    """A (line, column) inside a chunk that starts at ``start`` of its file, in the file."""
    return start[0] + line - 1, (start[1] + column - 1) if line == 1 else column


def _clean(message: str) -> str:
    text = _BYTE.sub("", message).replace("JSON is malformed: ", "").strip()
    return {
        "Input data was truncated": "the JSON ends too early (an unclosed string, object or list)",
        "Number out of range": "a number is out of range (too large for a 64-bit float)",
        "Integer value out of range": "an integer is out of range (too many digits)",
    }.get(text, text)


def decode_error(
    err: Exception, data: bytes, file: str, *, start: tuple[int, int] = (1, 1)
) -> InputError:
    """Why msgspec refused ``data`` (a file, or a chunk of one starting at line/column
    ``start``), located. Invalid UTF-8 is located at its byte; other problems are worded
    by orjson where it says more precisely where (a lone surrogate), else by msgspec."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        line, column = shift(*line_column(data, bad.start), start)
        return InputError(
            f"not valid UTF-8 (byte 0x{data[bad.start]:02x})",
            location=Location(file, line, column),
            code=ErrorCode.ENCODING,
        )
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError as other:
        if "depth" not in other.msg:
            line, column = shift(other.lineno, other.colno, start)
            return InputError(
                f"invalid JSON: {other.msg}", location=Location(file, line, column),
                code=ErrorCode.JSON,
            )  # fmt: skip
    except Exception:  # noqa: BLE001 - orjson only words the error; msgspec's stands
        pass
    text = str(err)
    match = _BYTE.search(text)
    offset = int(match.group(1)) if match else (len(data) if "truncated" in text else None)
    if offset is None:
        return InputError(
            f"invalid JSON: {_clean(text)}", location=Location(file), code=ErrorCode.JSON
        )
    line, column = shift(*line_column(data, offset), start)
    return InputError(
        f"invalid JSON: {_clean(text)}", location=Location(file, line, column), code=ErrorCode.JSON
    )


def too_deep_at(data: bytes, limit: int = MAX_DEPTH) -> int | None:
    """Offset of the first ``[`` or ``{`` nested deeper than ``limit`` levels, or None."""
    depth = 0
    for match in _TOKEN_BYTES.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return match.start()
        elif token in (b"]", b"}"):
            depth -= 1
    return None


def depth_error(data: bytes, file: str, *, start: tuple[int, int] = (1, 1)) -> InputError:
    offset = too_deep_at(data)
    location = Location(file)
    if offset is not None:
        location = Location(file, *shift(*line_column(data, offset), start))
    return InputError(
        f"nesting deeper than {MAX_DEPTH} levels is not allowed",
        location=location,
        code=ErrorCode.JSON,
    )


def find_duplicate_key(text: str) -> tuple[str, int] | None:
    """The first key that appears twice in one object of valid JSON ``text``, and the offset
    of its second occurrence; None when every object's keys are distinct. Keys are compared
    decoded (``"a"`` and ``"\\u0061"`` are one key)."""
    stack: list[tuple[set[str] | None, list[bool]]] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == '"':
            if stack and stack[-1][0] is not None and stack[-1][1][0]:
                keys = stack[-1][0]
                key = json.loads(token) if "\\" in token else token[1:-1]
                if key in keys:
                    return key, match.start()
                keys.add(key)
                stack[-1][1][0] = False
        elif first == "{":
            stack.append((set(), [True]))
        elif first == "[":
            stack.append((None, [False]))
        elif first in "}]":
            if stack:
                stack.pop()
        elif first == "," and stack and stack[-1][0] is not None:
            stack[-1][1][0] = True
    return None


def duplicate_error(
    text: str, file: str, key: str, offset: int, *, start: tuple[int, int] = (1, 1)
) -> InputError:
    """``offset`` counts characters of ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    line, column = shift(line, column, start)
    return InputError(
        f"duplicate key {key!r} (a key may appear once per object: which value counts would "
        "depend on the parser)",
        location=Location(file, line, column),
        code=ErrorCode.JSON,
    )


def load_json(data: bytes, file: str, *, max_bytes: int) -> Any:
    """Parse one JSON document strictly; raise a located InputError for every refusal."""
    check_size(data, file, max_bytes)
    try:
        value = _DECODER.decode(data)
    except RecursionError:
        raise depth_error(data, file) from None
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        raise decode_error(err, data, file) from None
    offset = too_deep_at(data)
    if offset is not None:
        raise depth_error(data, file)
    text = data.decode("utf-8")
    duplicate = find_duplicate_key(text)
    if duplicate is not None:
        raise duplicate_error(text, file, *duplicate)
    return value
