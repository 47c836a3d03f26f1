"""The reader Protocol and the registry of readers by file suffix."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ...parsing.yamlsafe import Positions


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read, before validation."""

    data: Any
    """The record: raw JSON bytes (JSON, JSON Lines) or parsed data (YAML, Markdown)."""
    line: int | None
    pointer: str
    positions: Positions | None
    """Field positions inside the record (YAML/Markdown only), relative to the record."""
    column: int = 1
    """Column of the record's first character on ``line`` (raw JSON only)."""


@dataclass(frozen=True)
class ReaderLimits:
    max_yaml_bytes: int
    max_evidence_bytes: int


class Reader(Protocol):
    """Reads the records of one evidence file; raises InputError with a location."""

    def __call__(self, data: bytes, file: str, limits: ReaderLimits) -> Iterator[RawRecord]: ...
