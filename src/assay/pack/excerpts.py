"""Evidence excerpts: the text a finding points at, cut from the embedded file.

Excerpts are untrusted text. They are returned as plain strings and the template escapes
them; nothing here interprets markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import yaml

from ..models.assessment import EvidencePointer
from .inputs import ProjectFileLike

MAX_EXCERPT_CHARS = 700
_BLOCK_LINES = 8  # a YAML or Markdown record rarely needs more to be recognisable


class ExcerptSource:
    """Cuts excerpts from project files, splitting each file into lines once."""

    def __init__(self, files: Iterable[ProjectFileLike]) -> None:
        self._files: Mapping[str, ProjectFileLike] = {f.path: f for f in files}
        self._lines: dict[str, list[str]] = {}

    def _file_lines(self, path: str) -> list[str] | None:
        if path not in self._lines:
            item = self._files.get(path)
            if item is None:
                return None
            self._lines[path] = item.data.decode("utf-8", errors="replace").splitlines()
        return self._lines[path]

    def excerpt(self, pointer: EvidencePointer) -> str | None:
        """The record's text at ``pointer`` (one line for JSONL, a short block otherwise)."""
        lines = self._file_lines(pointer.file)
        if not lines or pointer.line is None or not 1 <= pointer.line <= len(lines):
            return None
        start = pointer.line - 1
        if pointer.file.endswith(".jsonl"):
            text = lines[start]
        else:
            block = [lines[start]]
            for line in lines[start + 1 : start + _BLOCK_LINES]:
                # Stop at the next record of a YAML list or a front-matter end.
                if line.startswith("- ") or line.strip() == "---":
                    break
                block.append(line)
            text = "\n".join(block)
        text = text.strip("\n")
        if len(text) > MAX_EXCERPT_CHARS:
            text = text[:MAX_EXCERPT_CHARS] + " …"
        return text


def _created_values(data: bytes, path: str) -> list[str]:
    """The ``created_at`` strings of the records of one evidence file."""
    text = data.decode("utf-8", errors="replace")
    records: list[Any] = []
    if path.endswith(".jsonl"):
        for line in text.splitlines():
            if line.strip():
                records.append(json.loads(line))
    elif path.endswith(".json"):
        loaded = json.loads(text)
        records = loaded if isinstance(loaded, list) else [loaded]
    elif path.endswith((".yaml", ".yml")):
        loaded = yaml.safe_load(text)
        records = loaded if isinstance(loaded, list) else [loaded]
    elif path.endswith(".md") and text.startswith("---"):
        front = text.split("---", 2)[1] if text.count("---") >= 2 else ""
        records = [yaml.safe_load(front)]
    return [str(r["created_at"]) for r in records if isinstance(r, dict) and "created_at" in r]


def created_span(data: bytes, path: str) -> tuple[str, str] | None:
    """Earliest and latest ``created_at`` of an evidence file's records, for the index.

    Display only: a file this cannot read yields None (the loader already judged it).
    """
    try:
        values = _created_values(data, path)
    except (ValueError, yaml.YAMLError):
        return None
    moments: list[tuple[datetime, str]] = []
    for value in values:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        if moment.tzinfo is not None:  # the schema requires aware times; skip anything else
            moments.append((moment, value))
    if not moments:
        return None
    moments.sort(key=lambda m: m[0])
    return moments[0][1], moments[-1][1]
