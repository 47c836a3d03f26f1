"""The reader Protocol and the registry of readers by file suffix."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ..yamlsafe import Positions


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read, before validation."""

    data: Any
    line: int | None
    pointer: str
    positions: Positions | None
    """Field positions inside the record (YAML/Markdown only), relative to the record."""


@dataclass(frozen=True)
class ReaderLimits:
    max_yaml_bytes: int
    max_evidence_bytes: int


class Reader(Protocol):
    """Reads the records of one evidence file; raises InputError with a location."""

    def __call__(self, data: bytes, file: str, limits: ReaderLimits) -> Iterator[RawRecord]: ...


def _registry() -> dict[str, Reader]:
    from . import json_reader, jsonl_reader, markdown_reader, yaml_reader

    return {
        ".json": json_reader.read,
        ".jsonl": jsonl_reader.read,
        ".ndjson": jsonl_reader.read,
        ".yaml": yaml_reader.read,
        ".yml": yaml_reader.read,
        ".md": markdown_reader.read,
    }


def supported_suffixes() -> list[str]:
    return sorted(_registry())


def reader_for(suffix: str) -> Reader | None:
    """The reader for a file suffix (lower-case, with the dot), or None."""
    return _registry().get(suffix.lower())
