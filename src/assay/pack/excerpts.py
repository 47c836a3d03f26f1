"""Evidence excerpts: the record a finding points at, pretty-printed from the embedded file
with its source line numbers, the fields the check read marked.

A JSON Lines record is one long line; printed as it stands it breaks mid-token and hides
the fields that matter. So every record is re-rendered one field per row (nested values
indented below their key, YAML-like), each row carrying the line of the file it comes
from. The fields the check read are shown and highlighted, the others left out (the pack
says how many), so the excerpt stays short and shows the point. Long values are shortened
at word boundaries and long unbroken tokens in their middle, and rows are wrapped at
spaces, so no token is ever split across lines.

Excerpts are untrusted text. They are returned as plain data and the template escapes
them; nothing here interprets markup. Display only: a file or record this cannot read
yields no excerpt (the loader has already judged the file).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..load.discover import ProjectFile
from ..models.assessment import EvidencePointer
from ..models.evidence_kinds import EVIDENCE_KINDS
from ..parsing.yamlsafe import Positions, escape_pointer_token, load_yaml

MAX_VALUE_CHARS = 140
"""A longer string value is cut at a word boundary (the whole record is embedded)."""
MAX_TOKEN_CHARS = 72
"""A longer unbroken token (a URL, a digest) is shortened in its middle: a row never has
to break inside a token to fit the page."""
MAX_NESTED_ROWS = 8
"""Rows of one nested value (a list or a mapping) before "… N more"."""
MAX_ROWS = 40
"""Rows of one excerpt, all fields included."""
INLINE_LIST_CHARS = 70
"""A list of scalars up to this length is shown on its key's row."""


@dataclass(frozen=True)
class Row:
    """One row of an excerpt."""

    line: int | None
    """The file line this row comes from, or None when it is the row above's line."""
    depth: int
    """Indentation level (nested values are one level deeper than their key)."""
    text: str
    """``key: value``, ``- item`` or ``key:`` (when the value follows on nested rows)."""
    mark: str
    """``key``: a field of the condition the record did not meet; ``read``: another field
    the check read; empty: a field shown for context."""

    @property
    def read(self) -> bool:
        """The row belongs to a field the check read."""
        return bool(self.mark)


@dataclass(frozen=True)
class Excerpt:
    """A record as the pack shows it."""

    rows: tuple[Row, ...]
    hidden: tuple[str, ...]
    """Top-level fields not shown (the check did not read them)."""

    fields: int
    """How many top-level fields the record has in its file."""


@dataclass(frozen=True)
class _Record:
    data: Mapping[str, Any]
    line_of: Callable[[tuple[str | int, ...]], int | None]
    """The file line of the field at a path inside the record."""


# --------------------------------------------------------------------------- values


def _short_tokens(text: str) -> str:
    words = text.split(" ")
    keep = MAX_TOKEN_CHARS // 2 - 1
    return " ".join(
        word if len(word) <= MAX_TOKEN_CHARS else f"{word[:keep]}…{word[-keep:]}" for word in words
    )


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    text = str(value)
    first, _, rest = text.partition("\n")
    cut = bool(rest.strip())
    text = " ".join(first.split()) if cut else " ".join(text.split())
    if len(text) > MAX_VALUE_CHARS:
        space = text.rfind(" ", 0, MAX_VALUE_CHARS)
        text = text[: space if space > MAX_VALUE_CHARS // 2 else MAX_VALUE_CHARS]
        cut = True
    text = _short_tokens(text)
    if text == "" and not cut:
        return '""'
    return text + (" …" if cut else "")


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, Mapping | list | tuple)


# --------------------------------------------------------------------------- rows


class _Rows:
    """Builds the rows of one record, keeping the last line shown."""

    def __init__(self, record: _Record) -> None:
        self.record = record
        self.rows: list[Row] = []
        self._last: int | None = None

    def add(self, path: tuple[str | int, ...], depth: int, text: str, read: str) -> None:
        line = self.record.line_of(path)
        shown = line if line != self._last else None
        if line is not None:
            self._last = line
        self.rows.append(Row(shown, depth, text, read))

    def field(self, key: str, value: Any, read: str) -> None:
        self.value((key,), key, value, 0, read, MAX_NESTED_ROWS)

    def value(
        self,
        path: tuple[str | int, ...],
        label: str,
        value: Any,
        depth: int,
        read: str,
        budget: int,
    ) -> int:
        """Add ``label: value`` (``label`` is ``-`` for a list item); return rows used."""
        sep = " " if label == "-" else ": "
        if _is_scalar(value):
            self.add(path, depth, f"{label}{sep}{_scalar(value)}", read)
            return 1
        items = list(value.items()) if isinstance(value, Mapping) else list(enumerate(value))
        if not items:
            self.add(
                path, depth, f"{label}{sep}{'{}' if isinstance(value, Mapping) else '[]'}", read
            )
            return 1
        if isinstance(value, list | tuple) and all(_is_scalar(v) for v in value):
            inline = "[" + ", ".join(_scalar(v) for v in value) + "]"
            if len(inline) <= INLINE_LIST_CHARS:
                self.add(path, depth, f"{label}{sep}{inline}", read)
                return 1
        start = 0
        if label == "-" and isinstance(value, Mapping) and _is_scalar(items[0][1]):
            # A mapping in a list, YAML-style: its first field on the item's own row, the
            # others under it (one level deeper is two spaces: the width of "- ").
            first, head = items[0]
            self.add((*path, first), depth, f"- {first}: {_scalar(head)}", read)
            start = 1
        else:
            self.add(path, depth, f"{label}{':' if label != '-' else ''}", read)
        used = 1
        for index, (key, item) in enumerate(items[start:], start=start):
            if used > budget:
                rest = len(items) - index
                noun = "item" if isinstance(value, list | tuple) else "field"
                self.add(path, depth + 1, f"… {rest} more {noun}{'' if rest == 1 else 's'}", read)
                return used + 1
            child = "-" if isinstance(value, list | tuple) else str(key)
            used += self.value((*path, key), child, item, depth + 1, read, budget - used)
        return used


def render_record(
    record: _Record,
    reads: Sequence[str] | None,
    *,
    context: bool = False,
    decisive: Collection[str] = (),
) -> Excerpt:
    """The rows of ``record`` in its own order: the fields in ``reads``, highlighted (those
    also in ``decisive`` marked apart), and with ``context`` (or when ``reads`` is None,
    unknown) the others too."""

    def mark(key: str) -> str:
        if reads is None or key not in reads:
            return ""
        return "key" if key in decisive else "read"

    rows = _Rows(record)
    hidden: list[str] = []
    for key, value in record.data.items():
        key = str(key)
        read = mark(key)
        if (not read and reads is not None and not context) or len(rows.rows) >= MAX_ROWS:
            hidden.append(key)
            continue
        rows.field(key, value, read=read)
    # A field the check read that the file leaves out is part of the decision too: the
    # check saw the kind's default.
    model = EVIDENCE_KINDS.get(str(record.data.get("kind")))
    for key in reads or ():
        if key in record.data or len(rows.rows) >= MAX_ROWS:
            continue
        spec = model.model_fields.get(key) if model is not None else None
        if spec is not None and not spec.is_required():
            text = f"{key}: {_scalar(spec.get_default(call_default_factory=True))} (not in the file: the default)"
        else:
            text = f"{key}: (not in the file)"
        rows.rows.append(Row(None, 0, text, mark(key)))
    return Excerpt(tuple(rows.rows), tuple(hidden), len(record.data))


# --------------------------------------------------------------------------- lines

COLUMNS = 108
"""Characters per excerpt line: 7 pt DejaVu Sans Mono: the excerpt box holds 110."""
_GUTTER = 7


def excerpt_lines(excerpt: Excerpt, columns: int = COLUMNS) -> list[tuple[str, str]]:
    """The excerpt as fixed-width lines, each with its row's mark (``key``, ``read`` or ``""``):
    a gutter with the file line, then the row indented by depth, wrapped at spaces only
    (tokens are short enough to fit) with continuation lines hanging under the text. A
    highlighted line is padded to the full width, so its background fills the row."""
    out: list[tuple[str, str]] = []
    for row in excerpt.rows:
        gutter = f"{row.line:>{_GUTTER - 2}}  " if row.line is not None else " " * _GUTTER
        indent = "  " * row.depth
        room = max(columns - _GUTTER - len(indent), 20)
        pieces = textwrap.wrap(
            row.text,
            room,
            subsequent_indent="    ",
            break_long_words=False,
            break_on_hyphens=False,
        ) or [""]
        for index, piece in enumerate(pieces):
            text = (gutter if index == 0 else " " * _GUTTER) + indent + piece
            out.append((text.ljust(columns) if row.mark else text.rstrip(), row.mark))
    return out


# --------------------------------------------------------------------------- sources


def _pointer_path(pointer: str, path: tuple[str | int, ...]) -> str:
    return pointer + "".join("/" + escape_pointer_token(str(p)) for p in path)


def _yaml_line_of(
    positions: Positions, pointer: str
) -> Callable[[tuple[str | int, ...]], int | None]:
    def line_of(path: tuple[str | int, ...]) -> int | None:
        target = _pointer_path(pointer, path)
        # A field's row is its key's line; a list item's row is the item's own line.
        located = (
            positions.key_location(target)
            if path and isinstance(path[-1], str)
            else positions.location(target)
        )
        return located.line

    return line_of


def _fixed_line(line: int | None) -> Callable[[tuple[str | int, ...]], int | None]:
    return lambda path: line


class _ParsedFile:
    """One evidence file, split into lines once for every excerpt cut from it. Only the
    records a finding points at are parsed (a pack shows a few hundred records of files
    that may hold millions)."""

    def __init__(self, path: str, data: bytes) -> None:
        self.path = path
        self.text = data.decode("utf-8", errors="replace")
        self.lines = self.text.split("\n")

    def _yaml(self, text: str, line_offset: int) -> tuple[Any, Positions | None]:
        try:
            return load_yaml(text, self.path, max_bytes=len(text) + 1, line_offset=line_offset)
        except Exception:  # noqa: BLE001 - display only: no record, so no excerpt
            return None, None

    def _jsonl(self, line: int) -> _Record | None:
        try:
            data = json.loads(self.lines[line - 1])
        except ValueError:
            return None
        return _Record(data, _fixed_line(line)) if isinstance(data, dict) else None

    def _json(self, line: int) -> _Record | None:
        # The record's object starts on its line; decode just it (JSON itself gives the
        # values), and read it once more as YAML (a superset) for the lines of its keys.
        offset = sum(len(text) + 1 for text in self.lines[: line - 1])
        start = self.text.find("{", offset)
        if start < 0:
            return None
        try:
            data, end = json.JSONDecoder().raw_decode(self.text, start)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        _, positions = self._yaml(self.text[start:end], line_offset=line - 1)
        if positions is None:
            return _Record(data, _fixed_line(line))
        return _Record(data, _yaml_line_of(positions, ""))

    def _yaml_item(self, line: int, pointer: str) -> _Record | None:
        """A record of a YAML file: the item of a list (its lines up to the next item at the
        same indentation) or the whole document."""
        first = self.lines[line - 1]
        dash = len(first) - len(first.lstrip(" "))
        if pointer and first[dash : dash + 2] in ("- ", "-"):
            end = line
            while end < len(self.lines):
                text = self.lines[end]
                stripped = text.strip()
                if stripped and not stripped.startswith("#"):
                    indent = len(text) - len(text.lstrip(" "))
                    if indent <= dash:
                        break
                end += 1
            block = [" " * (dash + 2) + first[dash + 2 :], *self.lines[line:end]]
            value, positions = self._yaml("\n".join(block), line_offset=line - 1)
        else:
            value, positions = self._yaml(self.text, 0)
        if not isinstance(value, dict):
            return None
        if positions is None:
            return _Record(value, _fixed_line(line))
        return _Record(value, _yaml_line_of(positions, ""))

    def _markdown(self) -> _Record | None:
        lines = self.lines
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if not lines or lines[0].strip() != "---" or end is None:
            return None
        value, positions = self._yaml("\n".join(lines[1:end]), line_offset=1)
        if not isinstance(value, dict) or positions is None:
            return None
        body = "\n".join(lines[end + 1 :]).strip("\n")
        front = _yaml_line_of(positions, "")
        body_line = end + 2

        def line_of(path: tuple[str | int, ...]) -> int | None:
            return body_line if path[:1] == ("body",) else front(path)

        return _Record({**value, "body": body}, line_of)

    def record(self, pointer: EvidencePointer) -> _Record | None:
        line = pointer.line
        if line is None or not 1 <= line <= len(self.lines):
            return None
        if self.path.endswith((".jsonl", ".ndjson")):
            return self._jsonl(line)
        if self.path.endswith(".json"):
            return self._json(line)
        if self.path.endswith(".md"):
            return self._markdown()
        return self._yaml_item(line, pointer.pointer)


class ExcerptSource:
    """Cuts excerpts from project files, reading each file and each record at most once."""

    def __init__(self, files: Iterable[ProjectFile]) -> None:
        self._files: Mapping[str, ProjectFile] = {f.path: f for f in files}
        self._parsed: dict[str, _ParsedFile | None] = {}
        self._records: dict[tuple[str, int | None, str], _Record | None] = {}

    def _file(self, path: str) -> _ParsedFile | None:
        if path not in self._parsed:
            item = self._files.get(path)
            self._parsed[path] = None if item is None else _ParsedFile(path, item.data)
        return self._parsed[path]

    def excerpt(
        self,
        pointer: EvidencePointer,
        reads: Sequence[str] | None = None,
        *,
        context: bool = False,
        decisive: Collection[str] = (),
    ) -> Excerpt | None:
        """The record at ``pointer``: the fields in ``reads`` highlighted, and with
        ``context`` (or when ``reads`` is None) every other field too; None when the
        record cannot be found."""
        key = (pointer.file, pointer.line, pointer.pointer)
        if key not in self._records:
            parsed = self._file(pointer.file)
            self._records[key] = parsed.record(pointer) if parsed is not None else None
        record = self._records[key]
        if record is None:
            return None
        return render_record(record, reads, context=context, decisive=decisive)


_CREATED = re.compile(
    r"""(?:^|[\s{,])["']?created_at["']?\s*:\s*["']?"""
    r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)",
    re.M,
)


def created_span(data: bytes, path: str) -> tuple[str, str] | None:
    """Earliest and latest ``created_at`` of an evidence file's records, for the index.

    Display only, so read from the text without parsing the file (the loader has already
    validated every record; ``created_at`` is an envelope field, never nested).
    """
    moments: list[tuple[datetime, str]] = []
    for value in _CREATED.findall(data.decode("utf-8", errors="replace")):
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
