"""The shape every importer shares, and the helpers they use to read exports.

An importer is a pure function ``(files, options) -> Conversion``: it reads the bytes of one
tool's export files and returns *drafts*, records with their kind's fields, original id and
``source_uri``. It never writes: completing the envelope, validating against the evidence
models, de-duplicating and the atomic write are done once for every importer by
:mod:`assay.evidence.importers.write`.

Every problem in an export is an :class:`~assay.errors.InputError` located at the export
file and the JSON pointer (or line and column) of the offending item, naming the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from assay.errors import ErrorCode, InputError, Location
from assay.parsing.yamlsafe import (
    Positions,
    check_size,
    decode_utf8,
    escape_pointer_token,
    load_yaml,
)

MAX_EXPORT_BYTES = 512_000_000
"""Largest export file read (a guard against resource exhaustion)."""


class Source(StrEnum):
    """The tools Assay imports evidence from (values feed ``click.Choice``)."""

    MLFLOW = "mlflow"
    EVIDENTLY = "evidently"
    PAGERDUTY = "pagerduty"
    GITHUB = "github"
    ARGO_ROLLOUTS = "argo-rollouts"
    PROMETHEUS = "prometheus"
    MAPPING = "mapping"


@dataclass(frozen=True)
class ExportFile:
    """One export file: the name messages show (as the user gave it) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class ImportOptions:
    """What an importer may need besides the export itself."""

    workflow: str
    """Id of the workflow the records are evidence for."""
    now: datetime
    """The instant of the import, for records whose export carries no time of its own."""
    fields: Mapping[str, Any] = field(default_factory=dict)
    """Values set on every produced record whose kind has that field (``--set``)."""
    mapping: ExportFile | None = None
    """The mapping file of the generic importer."""


@dataclass(frozen=True)
class Draft:
    """A record an importer made: its kind, id and fields, and where in the export it came from.

    ``fields`` holds ``created_at``, ``source_uri`` and the kind's fields; the writer adds
    ``kind``, ``workflow``, ``recorded_by`` and ``sha256``.
    """

    kind: str
    id: str
    fields: dict[str, Any]
    origin: Location
    volatile: frozenset[str] = frozenset()
    """Fields taken from the time of the import rather than from the export: a re-import of
    the same export keeps the earlier values instead of counting the record as changed."""


@dataclass(frozen=True)
class Conversion:
    """What an importer made of an export: drafts, and the items it deliberately left out."""

    drafts: list[Draft]
    skipped: list[str] = field(default_factory=list)
    """One sentence per export item that produced no record, saying why."""


class Importer(Protocol):
    """Convert the export files of one tool into drafts; raise InputError with a location."""

    def __call__(self, files: Sequence[ExportFile], options: ImportOptions) -> Conversion: ...


# --- reading exports ----------------------------------------------------------------------


def load_json(export: ExportFile) -> Any:
    """Parse a JSON export; a truncated or malformed file is one error with line and column."""
    check_size(export.data, export.name, MAX_EXPORT_BYTES)
    text = decode_utf8(export.data, export.name)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        hint = " (the file ends early: is the export truncated?)" if err.pos >= len(text) else ""
        raise InputError(
            f"invalid JSON: {err.msg}{hint}",
            location=Location(export.name, err.lineno, err.colno),
            code=ErrorCode.JSON,
        ) from None
    except RecursionError:
        raise InputError(
            "nesting too deep", location=Location(export.name), code=ErrorCode.JSON
        ) from None


def load_yaml_documents(export: ExportFile) -> list[tuple[Any, Positions]]:
    """Parse a YAML export with the strict loader; ``---``-separated documents are split
    (Kubernetes manifests often hold several) and each keeps its own line numbers."""
    check_size(export.data, export.name, MAX_EXPORT_BYTES)
    text = decode_utf8(export.data, export.name)
    docs: list[tuple[Any, Positions]] = []
    lines = text.split("\n")
    start = 0
    for index, line in enumerate([*lines, "---"]):
        if re.match(r"^---(\s|$)", line) or index == len(lines):
            chunk = "\n".join(lines[start:index])
            if chunk.strip() and not all(
                not ln.strip() or ln.lstrip().startswith("#") for ln in lines[start:index]
            ):
                value, positions = load_yaml(
                    chunk, export.name, max_bytes=MAX_EXPORT_BYTES, line_offset=start
                )
                if value is not None:
                    docs.append((value, positions))
            start = index + 1
    return docs


def child(pointer: str, key: str | int) -> str:
    return f"{pointer}/{escape_pointer_token(str(key))}"


class Node:
    """A value of an export with its file and JSON pointer, so that every complaint about it
    names where it is. ``positions`` (YAML exports) adds line numbers."""

    __slots__ = ("file", "pointer", "positions", "value")

    def __init__(
        self, value: Any, file: str, pointer: str = "", positions: Positions | None = None
    ):
        self.value = value
        self.file = file
        self.pointer = pointer
        self.positions = positions

    @property
    def location(self) -> Location:
        if self.positions is not None:
            loc = self.positions.location(self.pointer)
            return Location(self.file, loc.line, loc.column, self.pointer or None)
        return Location(self.file, None, None, self.pointer or None)

    def error(self, message: str) -> InputError:
        return InputError(message, location=self.location, code=ErrorCode.IMPORT)

    def _expect(self, kind: type | tuple[type, ...], what: str) -> Any:
        # bool is an int subclass in Python, not a number in an export.
        wrong_bool = isinstance(self.value, bool) and kind is not bool
        if wrong_bool or not isinstance(self.value, kind):
            raise self.error(f"expected {what}, got {_describe(self.value)}")
        return self.value

    def mapping(self) -> dict[str, Any]:
        return self._expect(dict, "an object")  # type: ignore[no-any-return]

    def items(self) -> list[Node]:
        """The elements of a list."""
        values = self._expect(list, "a list")
        return [self._at(i, v) for i, v in enumerate(values)]

    def _at(self, key: str | int, value: Any) -> Node:
        return Node(value, self.file, child(self.pointer, key), self.positions)

    def get(self, key: str) -> Node | None:
        """The member ``key`` of an object, or None when absent or null."""
        value = self.mapping().get(key)
        return None if value is None else self._at(key, value)

    def __getitem__(self, key: str) -> Node:
        """The member ``key`` of an object; a located error when absent or null."""
        found = self.get(key)
        if found is None:
            raise Node(None, self.file, child(self.pointer, key), self.positions).error(
                f"missing required field {key!r}"
            )
        return found

    def text(self) -> str:
        value = self._expect(str, "a string")
        if not value.strip():
            raise self.error("expected a non-empty string")
        return value  # type: ignore[no-any-return]

    def number(self) -> float:
        value = self._expect((int, float), "a number")
        return float(value)

    def integer(self) -> int:
        return self._expect(int, "an integer")  # type: ignore[no-any-return]

    def boolean(self) -> bool:
        return self._expect(bool, "true or false")  # type: ignore[no-any-return]

    def instant(self) -> datetime:
        """An ISO 8601 timestamp with a timezone (as every API here writes them), in UTC."""
        value = self.value
        if isinstance(value, datetime):  # YAML parses unquoted timestamps
            parsed = value
        else:
            text = self.text()
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise self.error(
                    f"expected an ISO 8601 timestamp like 2026-05-04T09:30:00Z, got {text!r}"
                ) from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise self.error(f"the timestamp {self.value!s} has no timezone")
        return parsed.astimezone(UTC)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def iso(moment: datetime) -> str:
    """An instant as evidence files write it: UTC, ``Z``, whole seconds unless there are
    fractions."""
    moment = moment.astimezone(UTC)
    text = moment.isoformat()
    return text.replace("+00:00", "Z")


def epoch_ms(value: int) -> datetime:
    """An instant from milliseconds since the epoch (MLflow stores times so)."""
    return datetime.fromtimestamp(value / 1000, tz=UTC)
