"""YAML evidence files: one record (a mapping) or a list of records."""

from __future__ import annotations

from collections.abc import Iterator

from ...parsing.yamlsafe import load_yaml
from .base import RawRecord, ReaderLimits


def read(data: bytes, file: str, limits: ReaderLimits) -> Iterator[RawRecord]:
    """Yield the records of a YAML document, each with its field positions."""
    value, positions = load_yaml(data, file, max_bytes=limits.max_yaml_bytes)
    if isinstance(value, list):
        for index, item in enumerate(value):
            pointer = f"/{index}"
            located = positions.location(pointer)
            yield RawRecord(item, located.line, pointer, positions.shifted(pointer))
    elif value is not None:
        yield RawRecord(value, positions.location("").line, "", positions)
