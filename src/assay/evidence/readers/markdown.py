"""Markdown evidence documents: YAML front matter between `---` lines, then the body.

Postmortems and reviews are written as documents; the front matter is the record and
the text after it becomes the record's `body`.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...errors import ErrorCode, InputError, Location
from ...parsing.yamlsafe import check_size, decode_utf8, load_yaml
from .base import RawRecord, ReaderLimits


def read(data: bytes, file: str, limits: ReaderLimits) -> Iterator[RawRecord]:
    """Yield the single record of a Markdown document with front matter."""
    check_size(data, file, limits.max_yaml_bytes)
    text = decode_utf8(data, file)
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise InputError(
            "expected YAML front matter: the first line must be '---'",
            location=Location(file, 1, 1),
            code=ErrorCode.FRONTMATTER,
        )
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
    except StopIteration:
        raise InputError(
            "front matter is not closed: expected a second '---' line",
            location=Location(file, 1, 1),
            code=ErrorCode.FRONTMATTER,
        ) from None
    front = "\n".join(lines[1:end])
    value, positions = load_yaml(front, file, max_bytes=limits.max_yaml_bytes, line_offset=1)
    if not isinstance(value, dict):
        raise InputError(
            "front matter must be a mapping of fields",
            location=Location(file, 2, 1),
            code=ErrorCode.FRONTMATTER,
        )
    body = "\n".join(lines[end + 1 :]).strip("\n")
    if "body" in value:
        raise InputError(
            "'body' is taken from the document text and cannot be set in the front matter",
            location=positions.key_location("/body"),
            code=ErrorCode.FRONTMATTER,
        )
    value = {**value, "body": body}
    yield RawRecord(value, 1, "", positions)
