"""Evidence file readers, one module per file format, behind one small Protocol
(:class:`~assay.evidence.readers.base.Reader`), registered here by file suffix.

A reader turns the bytes of one file into raw records, each with the line and JSON
pointer it came from. Validation against the evidence models happens afterwards, in
:mod:`assay.evidence.index`, the same way for every format.
"""

from __future__ import annotations

from . import json, jsonl, markdown, parquet, yaml
from .base import RawRecord, Reader, ReaderLimits

READERS: dict[str, Reader] = {
    ".json": json.read,
    ".jsonl": jsonl.read,
    ".ndjson": jsonl.read,
    ".yaml": yaml.read,
    ".yml": yaml.read,
    ".md": markdown.read,
    ".parquet": parquet.read,
}


def supported_suffixes() -> list[str]:
    return sorted(READERS)


def reader_for(suffix: str) -> Reader | None:
    """The reader for a file suffix (lower-case, with the dot), or None."""
    return READERS.get(suffix.lower())


__all__ = ["READERS", "RawRecord", "Reader", "ReaderLimits", "reader_for", "supported_suffixes"]
