"""Validate raw evidence records against their kind's model and index them.

The index is built once while loading, keyed by (workflow, kind) and sorted by the
kind's time field, so that checks narrow records cheaply before any CEL runs.
"""

from __future__ import annotations

import json
import operator
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import Any

import orjson
from pydantic import ValidationError

from ..errors import AssayError, ErrorCode, InputError, Location
from ..models import codec
from ..models.assessment import EvidencePointer
from ..models.evidence_kinds import EVIDENCE_KINDS
from ..parsing.jsonsafe import (
    decode_error,
    depth_error,
    duplicate_error,
    find_duplicate_key,
    too_deep_at,
)
from ..parsing.validate import pydantic_errors
from .readers import RawRecord
from .readers import json as json_reader
from .readers.duplicates import all_flat, expected_quotes, may_hide_duplicates

MAX_ERRORS_PER_FILE = 50


@dataclass(frozen=True, slots=True)
class SourceFile:
    """An evidence file: its path relative to the project root and its SHA-256."""

    path: str
    sha256: str


class Record:
    """A validated evidence record and where it came from.

    ``data`` is the kind's msgspec Struct (see :mod:`assay.models.codec`): the fields of the
    pydantic model, as attributes, plus the ``kind`` and ``TIME_FIELD`` class attributes.
    """

    __slots__ = ("_pointer_model", "data", "line", "pointer", "source")

    def __init__(self, data: Any, source: SourceFile, line: int | None, pointer: str):
        self.data = data
        self.source = source
        self.line = line
        self.pointer = pointer
        self._pointer_model: EvidencePointer | None = None

    @property
    def kind(self) -> str:
        return str(self.data.kind)

    @property
    def id(self) -> str:
        return str(self.data.id)

    def time(self, field: str | None = None) -> datetime | None:
        """The record's instant in ``field`` (default: its kind's time field)."""
        value = getattr(self.data, field or self.data.TIME_FIELD)
        return value if isinstance(value, datetime) else None

    def pointer_model(self) -> EvidencePointer:
        """An EvidencePointer for findings: one per record, shared by every finding that
        names it (it is frozen, and a record is named by several checks)."""
        found = self._pointer_model
        if found is None:
            found = self._pointer_model = EvidencePointer(
                file=self.source.path,
                line=self.line,
                pointer=self.pointer,
                record_id=self.data.id,
                kind=self.data.kind,
                sha256=self.source.sha256,
            )
        return found

    def where(self) -> str:
        return f"{self.source.path}:{self.line}" if self.line else self.source.path

    def __repr__(self) -> str:
        return f"Record({self.kind}:{self.id} @ {self.where()})"


class EvidenceIndex:
    """Evidence records by (workflow, kind), sorted by time, with lazy key lookups."""

    def __init__(self, batches: Iterable[list[Record]]):
        """Index ``batches`` of records (one per file: usually one workflow and one kind,
        which are then moved as a whole rather than record by record)."""
        grouped: dict[tuple[str, str], list[Record]] = defaultdict(list)
        for batch in batches:
            datas = list(map(_DATA, batch))
            workflows = set(map(_WORKFLOW, datas))
            kinds = set(map(_KIND, datas))
            if len(workflows) == 1 and len(kinds) == 1:
                grouped[(workflows.pop(), kinds.pop())].extend(batch)
                continue
            for record in batch:
                grouped[(record.data.workflow, record.data.kind)].append(record)
        self.duplicates: list[AssayError] = []
        """The same (workflow, kind, id) twice: evidence must be unambiguous."""
        for (_, kind), items in grouped.items():
            self.duplicates.extend(_sort_records(items, EVIDENCE_KINDS[kind].TIME_FIELD))
        self._records = dict(grouped)
        self._keys: dict[tuple[str, str, str], dict[Any, list[Record]]] = {}

    def records(self, workflow: str, kind: str) -> Sequence[Record]:
        """Records of one kind for one workflow, oldest first."""
        return self._records.get((workflow, kind), ())

    def by_key(self, workflow: str, kind: str, field: str) -> dict[Any, list[Record]]:
        """Records of a kind grouped by the value of ``field`` (built once, then cached)."""
        cache_key = (workflow, kind, field)
        table = self._keys.get(cache_key)
        if table is None:
            table = defaultdict(list)
            for record in self.records(workflow, kind):
                value = getattr(record.data, field, None)
                if value is not None:
                    table[value].append(record)
            self._keys[cache_key] = table = dict(table)
        return table

    def created_after(self, limit: datetime) -> list[Record]:
        """Records whose ``created_at`` lies after ``limit`` (oldest first, then by file and
        line): one C-speed max per (workflow, kind) finds the groups worth a look."""
        late: list[Record] = []
        for items in self._records.values():
            if items and max(map(_CREATED, items)) > limit:
                late.extend(r for r in items if r.data.created_at > limit)
        late.sort(key=lambda r: (r.data.created_at, r.source.path, r.line or 0))
        return late

    def times_beyond(self, limit: datetime) -> list[tuple[Record, str]]:
        """(record, field) for every top-level timestamp after ``limit``: C-speed maxima per
        (workflow, kind) and field find the few groups worth a look."""
        found: list[tuple[Record, str]] = []
        for (_, kind), items in self._records.items():
            for name in _time_fields(kind):
                latest = max(
                    filter(None, map(operator.attrgetter("data." + name), items)), default=None
                )
                if latest is not None and latest > limit:
                    found.extend(
                        (r, name)
                        for r in items
                        if (v := getattr(r.data, name)) is not None and v > limit
                    )
        found.sort(key=lambda item: (item[0].source.path, item[0].line or 0, item[1]))
        return found

    def created_after_by_file(self, workflow: str, as_of: datetime) -> dict[str, int]:
        """Per file, how many records of ``workflow`` were created after ``as_of`` (the
        common case, nothing, costs one C-speed max per kind)."""
        counts: dict[str, int] = defaultdict(int)
        for (owner, _), items in self._records.items():
            if owner == workflow and items and max(map(_CREATED, items)) > as_of:
                for record in items:
                    if record.data.created_at > as_of:
                        counts[record.source.path] += 1
        return dict(counts)

    def files_of(self, workflow: str) -> set[str]:
        """Paths of the evidence files that hold records of ``workflow``."""
        return {
            record.source.path
            for (owner, _), items in self._records.items()
            if owner == workflow
            for record in items
        }

    def __len__(self) -> int:
        return sum(len(items) for items in self._records.values())


def any_time_beyond(records: Sequence[Record], limit: datetime) -> bool:
    """Whether some top-level timestamp of ``records`` lies after ``limit``: what
    :meth:`EvidenceIndex.times_beyond` finds, as a yes or no, without indexing (sorting)
    the records; C-speed maxima per kind and field."""
    datas = list(map(_DATA, records))
    kinds = set(map(_KIND, datas))
    for kind in kinds:
        items = datas if len(kinds) == 1 else [d for d in datas if d.kind == kind]
        for name in _time_fields(kind):
            latest = max(filter(None, map(operator.attrgetter(name), items)), default=None)
            if latest is not None and latest > limit:
                return True
    return False


_TIME_FIELDS: dict[str, tuple[str, ...]] = {}


def _time_fields(kind: str) -> tuple[str, ...]:
    """The top-level timestamp fields of a kind (what window and deadline arithmetic reads)."""
    fields = _TIME_FIELDS.get(kind)
    if fields is None:
        model = EVIDENCE_KINDS[kind]
        fields = _TIME_FIELDS[kind] = tuple(
            name
            for name, info in model.model_fields.items()
            if "datetime" in str(info.annotation).lower()
            and "list" not in str(info.annotation)
            and "dict" not in str(info.annotation)
        )
    return fields


def _sort_records(items: list[Record], field: str) -> list[AssayError]:
    """Oldest first, ties by id: two stable C-speed sorts (time fields are required, and
    evidence usually arrives in order, which timsort handles in linear time). Sorted by id,
    duplicates are neighbours: they are reported here, at no extra pass."""
    items.sort(key=_record_id)
    ids = [r.data.id for r in items]
    duplicates = (
        [_duplicate(items[i - 1], items[i]) for i in range(1, len(ids)) if ids[i] == ids[i - 1]]
        if len(set(ids)) != len(ids)
        else []
    )
    items.sort(key=operator.attrgetter("data." + field))
    return duplicates


def _duplicate(first: Record, again: Record) -> AssayError:
    return InputError(
        f"duplicate {again.kind} id {again.id!r} for workflow {again.data.workflow!r} "
        f"(first at {first.where()})",
        location=Location(again.source.path, again.line, None, again.pointer or None),
        code=ErrorCode.DUPLICATE,
    )


def _record_id(record: Record) -> str:
    return record.data.id  # type: ignore[no-any-return]


def validate_json_lines(
    data: bytes, source: SourceFile, workflows: set[str], first_line: int = 1
) -> tuple[list[Record], list[AssayError]]:
    """The hot path for JSON Lines: decode each line straight into its Struct and keep it;
    any line that is not plainly valid goes through :func:`validate_records` for a worded,
    located error. Same result as the general path, a fraction of the per-record cost.
    Duplicate keys are refused without a per-record walk (see
    :mod:`assay.evidence.readers.duplicates`).

    ``data`` may be a part of a file, whole lines from line ``first_line`` on: a line is
    validated on its own, so a large file can be validated a part at a time."""
    whole = _whole_file(data, source, workflows, first_line)
    if whole is not None:
        count = len(whole)

        def every_line() -> list[RawRecord]:
            lines = data.split(b"\n")[:count]
            return [RawRecord(line, n, "", None) for n, line in enumerate(lines, first_line)]

        return _finish(whole, every_line, data.count(b'"'), b"\\" in data, [], source, workflows)
    records: list[Record] = []
    raws: list[RawRecord] = []
    slow: list[RawRecord] = []
    decode = codec.decode_json
    needs_pydantic = codec.NEEDS_PYDANTIC
    slow_quotes = 0
    for number, line in enumerate(data.split(b"\n"), start=first_line):
        if not line or line.isspace():
            continue
        raw = RawRecord(line, number, "", None)
        try:
            record = decode(line)
        except codec.DecodeError:
            record = None
        if record is None or record.kind in needs_pydantic or record.workflow not in workflows:
            slow.append(raw)
            slow_quotes += line.count(b'"')
            continue
        records.append(Record(record, source, number, ""))
        raws.append(raw)
    quotes = data.count(b'"') - slow_quotes
    return _finish(records, lambda: raws, quotes, b"\\" in data, slow, source, workflows)


def validate_json_document(
    data: bytes, source: SourceFile, workflows: set[str]
) -> tuple[list[Record], list[AssayError]]:
    """A `.json` evidence file (one record or a list of them) on the JSON Lines hot path:
    split into raw records by msgspec, each decoded into its Struct; same rules, same
    errors, same duplicate-key refusal."""
    return validate_json_records(json_reader.chunks(data, source.path), source, workflows)


def validate_json_records(
    chunks: Iterable[RawRecord], source: SourceFile, workflows: set[str]
) -> tuple[list[Record], list[AssayError]]:
    """The raw records of a `.json` document, or some of them (each is validated on its
    own, so a large document can be validated a batch at a time)."""
    records: list[Record] = []
    raws: list[RawRecord] = []
    slow: list[RawRecord] = []
    decode = codec.decode_json
    needs_pydantic = codec.NEEDS_PYDANTIC
    quotes = 0
    escapes = False
    for raw in chunks:
        # Between records a document holds only brackets, commas and spaces: every quote
        # and backslash of it is in a record.
        escapes = escapes or b"\\" in raw.data
        try:
            record = decode(raw.data)
        except codec.DecodeError:
            record = None
        if record is None or record.kind in needs_pydantic or record.workflow not in workflows:
            slow.append(raw)
            continue
        records.append(Record(record, source, raw.line, raw.pointer))
        raws.append(raw)
        quotes += raw.data.count(b'"')
    return _finish(records, lambda: raws, quotes, escapes, slow, source, workflows)


def _finish(
    records: list[Record],
    raws: Callable[[], Sequence[RawRecord]],
    quotes: int,
    escapes: bool,
    slow: list[RawRecord],
    source: SourceFile,
    workflows: set[str],
) -> tuple[list[Record], list[AssayError]]:
    """Refuse duplicate keys among the decoded ``records`` (``raws()`` gives their raw
    JSON, in the same order, only when needed; ``quotes`` is how many ``"`` they hold),
    then check patterns and validate the ``slow`` ones one by one."""
    errors: list[AssayError] = []
    datas = list(map(_DATA, records))
    if (
        records
        and (escapes or not all_flat(datas) or quotes != expected_quotes(datas))
        and _batch_may_hide_duplicates([raw.data for raw in raws()])
    ):
        kept: list[Record] = []
        kept_raws: list[RawRecord] = []
        for record, raw in zip(records, raws(), strict=True):
            if may_hide_duplicates(raw.data, record.data):
                problem = _duplicate_key(raw, source.path)
                if problem is not None:
                    errors.append(problem)
                    continue
            kept.append(record)
            kept_raws.append(raw)
        records = kept
        raws = lambda: kept_raws  # noqa: E731 - the same lazy shape as the caller's
    good, more = _check_patterns(records, raws, slow, source, workflows)
    return good, errors + more


def _duplicate_key(raw: RawRecord, file: str) -> AssayError | None:
    """The located error for the first duplicate key of a raw JSON record, or None."""
    text = raw.data.decode("utf-8")
    if not _has_duplicate_key(text):
        return None
    found = find_duplicate_key(text)
    if found is None:
        return None
    return duplicate_error(text, file, *found, start=(raw.line or 1, raw.column))


class _Duplicate(Exception):
    pass


def _distinct_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({key for key, _ in pairs}) != len(pairs):
        raise _Duplicate
    return {}  # the values are never looked at


def _batch_may_hide_duplicates(chunks: list[Any]) -> bool:
    """Whether some record among the raw JSON ``chunks`` may have a key twice: one pass of
    the standard library's C parser over all of them as one array (see
    :func:`_has_duplicate_key`), so that a file whose quote count merely differs (optional
    fields written with their defaults) costs no look at each record. True sends every
    record to the per-record check, which locates the duplicate."""
    try:
        text = b"[" + b",".join(chunks) + b"]"
        return _has_duplicate_key(text.decode("utf-8"))
    except (TypeError, UnicodeDecodeError):
        return True


def _has_duplicate_key(text: str) -> bool:
    """Whether some object of the (valid) JSON ``text`` has a key twice, keys compared
    decoded as :func:`find_duplicate_key` compares them: the standard library's C parser
    hands each object's pairs to a hook, ~20x faster than the token walk, which then only
    runs to locate a duplicate. A record whose counts merely differ (an optional field
    written with its default value) is cleared here. Anything the parser refuses (deep
    nesting) is left to the walk."""
    try:
        json.loads(text, object_pairs_hook=_distinct_keys)
    except _Duplicate:
        return True
    except (ValueError, RecursionError):
        return True
    return False


def _whole_file(
    data: bytes, source: SourceFile, workflows: set[str], first_line: int
) -> list[Record] | None:
    """The common case in one C call: every line a record, every record plainly valid,
    of a kind pydantic need not see, for a known workflow. None when anything is off."""
    try:
        decoded = codec.decode_json_lines(data)
    except (*codec.DecodeError, RecursionError):
        return None
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if not decoded or len(decoded) != lines:
        return None  # blank lines: line numbers need the per-line path
    if not set(map(_KIND, decoded)).isdisjoint(codec.NEEDS_PYDANTIC):
        return None
    if not set(map(_WORKFLOW, decoded)) <= workflows:
        return None
    numbers = range(first_line, first_line + lines)
    return list(map(Record, decoded, repeat(source), numbers, repeat("")))


_DATA = operator.attrgetter("data")
_CREATED = operator.attrgetter("data.created_at")
_KIND = operator.attrgetter("kind")
_WORKFLOW = operator.attrgetter("workflow")


def _check_patterns(
    records: list[Record],
    raws: Callable[[], Sequence[RawRecord]],
    slow: list[RawRecord],
    source: SourceFile,
    workflows: set[str],
) -> tuple[list[Record], list[AssayError]]:
    # Patterns (ids, digests) are checked per file in one pass; failures take the slow path.
    datas = list(map(_DATA, records))
    kinds = set(map(_KIND, datas))
    rejected: set[int] = set()
    if len(kinds) == 1:
        rejected = codec.pattern_violations(kinds.pop(), datas)
    else:
        by_kind: dict[str, list[int]] = defaultdict(list)
        for index, item in enumerate(datas):
            by_kind[item.kind].append(index)
        for kind, indices in by_kind.items():
            bad = codec.pattern_violations(kind, [datas[i] for i in indices])
            rejected.update(indices[i] for i in bad)
    if rejected:
        every = raws()
        slow.extend(every[i] for i in sorted(rejected))
        records = [r for i, r in enumerate(records) if i not in rejected]
    if not slow:
        return records, []
    more, errors = validate_records(slow, source, workflows)
    records.extend(more)
    records.sort(key=_record_line)
    return records, errors


def _record_line(record: Record) -> int:
    return record.line or 0


def validate_records(
    raw: Iterable[RawRecord], source: SourceFile, workflows: set[str]
) -> tuple[list[Record], list[AssayError]]:
    """Validate the raw records of one file; return the good records and every error."""
    records: list[Record] = []
    errors: list[AssayError] = []
    file = source.path
    suppressed = 0
    for item in raw:
        if len(errors) >= MAX_ERRORS_PER_FILE:
            suppressed += 1
            continue
        problem = _validate_one(item, source, workflows, records)
        if problem:
            errors.extend(problem)
    if suppressed:
        errors.append(
            InputError(
                f"{suppressed} more invalid records in this file were not reported",
                location=Location(file),
                code=ErrorCode.SCHEMA,
            )
        )
    return records, errors


def _located(item: RawRecord, file: str, pointer: str) -> Location:
    if item.positions is not None:
        loc = item.positions.location(pointer)
        return Location(file, loc.line, loc.column, item.pointer + pointer or None)
    return Location(file, item.line, None, item.pointer + pointer or None)


_MSGSPEC_PATH = re.compile(r" - at `\$(.*)`$")


def _msgspec_error(err: Exception, item: RawRecord, file: str) -> InputError:
    """Word a fast-path refusal that pydantic let through (e.g. a string for a number)."""
    text = str(err)
    match = _MSGSPEC_PATH.search(text)
    pointer = ""
    if match:
        pointer = re.sub(r"\[(\d+)\]", r"/\1", match.group(1)).replace(".", "/")
        text = text[: match.start()]
    return InputError(
        f"{text[0].lower()}{text[1:]}",
        location=_located(item, file, pointer),
        code=ErrorCode.SCHEMA,
    )


def _validate_one(
    item: RawRecord, source: SourceFile, workflows: set[str], out: list[Record]
) -> list[AssayError]:
    file = source.path
    data = item.data
    record: Any = None
    fast_error: Exception | None = None
    try:
        if isinstance(data, bytes):
            record = codec.decode_json(data)
        elif isinstance(data, dict):
            record = codec.convert(data)
    except codec.DecodeError as err:
        fast_error = err
    if record is not None and codec.pattern_violations(record.kind, [record]):
        record = None  # pydantic words the pattern error below
    if isinstance(data, bytes):
        # Raw JSON off the fast path: it must be JSON (located error), shallow, and free of
        # duplicate keys before anything reads it.
        start = (item.line or 1, item.column)
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as err:
            if "depth" in err.msg:
                return [depth_error(data, file, start=start)]
            return [decode_error(err, data, file, start=start)]
        if too_deep_at(data) is not None:
            return [depth_error(data, file, start=start)]
        duplicate = _duplicate_key(item, file)
        if duplicate is not None:
            return [duplicate]
    if record is None or record.kind in codec.NEEDS_PYDANTIC:
        if isinstance(data, bytes):
            data = parsed
        problems = _pydantic_problems(item, data, file)
        if problems:
            return problems
        if record is None:
            return [_msgspec_error(fast_error or ValueError("invalid record"), item, file)]
    if record.workflow not in workflows:
        known = ", ".join(sorted(workflows)) or "none defined"
        return [
            InputError(
                f"evidence for unknown workflow {record.workflow!r} (known workflows: {known})",
                location=_located(item, file, "/workflow"),
                code=ErrorCode.WORKFLOW,
            )
        ]
    out.append(Record(record, source, item.line, item.pointer))
    return []


def _pydantic_problems(item: RawRecord, data: Any, file: str) -> list[AssayError]:
    """Validate with the pydantic model: the slow path that words every problem."""
    if not isinstance(data, dict):
        return [
            InputError(
                f"an evidence record must be a mapping of fields, got {type(data).__name__}",
                location=_located(item, file, ""),
                code=ErrorCode.SCHEMA,
            )
        ]
    kind = data.get("kind")
    model = EVIDENCE_KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        expected = ", ".join(sorted(EVIDENCE_KINDS))
        what = "missing key 'kind'" if kind is None else f"unknown evidence kind {kind!r}"
        return [
            InputError(
                f"{what} (expected one of: {expected})",
                location=_located(item, file, "/kind" if kind is not None else ""),
                code=ErrorCode.SCHEMA,
            )
        ]
    try:
        model.model_validate(data)
    except ValidationError as err:
        return list(
            pydantic_errors(
                err,
                data,
                item.positions,
                file=file,
                base_pointer=item.pointer,
                base_line=item.line,
                model=model,
            )
        )
    return []
