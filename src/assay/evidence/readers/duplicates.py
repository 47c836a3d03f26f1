"""Duplicate keys in JSON evidence, refused without giving up the fast path.

msgspec (like orjson and most fast parsers) keeps the last of duplicate keys, so
``{"breach": true, "breach": false}`` would be read as no breach. Walking every record's
tokens in Python to find duplicates would cost several times the parse itself, so the
fast path proves their absence by counting instead:

In JSON text without escaped quotes (no ``\\"``), every ``"`` delimits a string, and every
string is either a key or a string value: a file holds ``2 x (keys + string values)``
quote characters. From the decoded records we know a lower bound of both: the keys
certainly present (required fields, the tag ``kind``, fields whose value differs from
their default) and the string values among them. The raw count can only equal that
lower bound when every key was present once and nothing else was there; a duplicate
adds at least two quotes. So one C-speed ``bytes.count(b'"')`` over the whole file,
compared with a count over the decoded fields (vectorised per field for flat kinds),
clears the common case. When the counts differ (a duplicate, or merely an optional
field written out with its default value, such as ``"body": null``), or when the file
holds escaped quotes, each record is checked on its own: the same count per record,
then an exact token walk (:func:`~assay.parsing.jsonsafe.find_duplicate_key`) of the
records that still differ, which reports the key with its line and column.

Before that per-record check, one pass of the standard library's C parser over all the
file's records (a hook sees each object's keys) clears a file that merely differs; and
records of nested kinds (lists, nested records), whose count would walk every value in
Python, go to that pass directly.
"""

from __future__ import annotations

import operator
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, get_args, get_origin

import msgspec
import msgspec.structs

_STRINGY = (str, datetime, date)


@dataclass(frozen=True)
class _Field:
    name: str
    required: bool
    default: Any
    kind: Literal["string", "scalar", "mixed"]


@dataclass(frozen=True)
class _Plan:
    fields: tuple[_Field, ...]
    tag_quotes: int
    """Quotes of the tag key and value (``"kind": "drift_log"``): 4, or 0 untagged."""
    flat: bool
    """No list, dict or nested record: counted field by field over a whole file."""


_PLANS: dict[type, _Plan] = {}


def _classify(annotation: Any) -> tuple[Literal["string", "scalar", "mixed"], bool]:
    """(how its non-null values count, whether it nests) for a field type."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _classify(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        found = [_classify(a) for a in members]
        kinds = {k for k, _ in found}
        nested = any(n for _, n in found)
        return (kinds.pop() if len(kinds) == 1 else "mixed"), nested
    if origin is Literal:
        values = get_args(annotation)
        if all(isinstance(v, str) for v in values):
            return "string", False
        return ("scalar" if not any(isinstance(v, str) for v in values) else "mixed"), False
    if annotation in _STRINGY:
        return "string", False
    if annotation in (bool, int, float):
        return "scalar", False
    return "mixed", True


def _plan(struct: type) -> _Plan:
    plan = _PLANS.get(struct)
    if plan is not None:
        return plan
    fields = []
    flat = True
    for info in msgspec.structs.fields(struct):
        kind, nested = _classify(info.type)
        flat = flat and not nested
        required = info.required
        default: Any = None
        if not required:
            default = (
                info.default_factory()
                if info.default_factory is not msgspec.NODEFAULT
                else info.default
            )
        fields.append(_Field(info.name, required, default, kind))
    config: Any = struct.__struct_config__  # type: ignore[attr-defined]
    tagged = config.tag_field is not None
    plan = _PLANS[struct] = _Plan(tuple(fields), 4 if tagged else 0, flat)
    return plan


def _value_quotes(value: Any) -> int:
    if isinstance(value, _STRINGY):
        return 2
    if isinstance(value, msgspec.Struct):
        return record_quotes(value)
    if isinstance(value, list | tuple):
        return sum(map(_value_quotes, value))
    if isinstance(value, dict):
        return sum(2 + _value_quotes(item) for item in value.values())
    return 0


def record_quotes(record: Any) -> int:
    """The fewest ``"`` the JSON of ``record`` (a decoded Struct) can hold."""
    plan = _plan(type(record))
    total = plan.tag_quotes
    for field in plan.fields:
        value = getattr(record, field.name)
        if field.required or value != field.default:
            total += 2 + _value_quotes(value)
    return total


def _flat_quotes(records: Sequence[Any], plan: _Plan) -> int:
    """:func:`record_quotes` summed over ``records`` of one flat kind, field by field (C-speed
    counts: a required field needs no look at its values; optional fields defaulting to
    null are counted together in one pass)."""
    n = len(records)
    total = n * plan.tag_quotes
    nullable: dict[str, list[str]] = {"string": [], "scalar": []}
    for field in plan.fields:
        if field.required and field.kind != "mixed":
            total += (4 if field.kind == "string" else 2) * n
        elif field.default is None and field.kind != "mixed":
            nullable[field.kind].append(field.name)
        else:
            values = list(map(operator.attrgetter(field.name), records))
            present = n if field.required else n - sum(1 for v in values if v == field.default)
            total += 2 * present + sum(map(_value_quotes, values))
    for kind, names in nullable.items():
        for name in names:
            # Key quotes (2) for each non-null value, and 2 more for its string
            # (list.count measured fastest of the C-speed ways to count the nulls).
            present = n - list(map(operator.attrgetter(name), records)).count(None)
            total += (4 if kind == "string" else 2) * present
    return total


def expected_quotes(records: Sequence[Any]) -> int:
    """:func:`record_quotes` summed over ``records`` (decoded Structs of any kinds)."""
    types_seen = set(map(type, records))
    if len(types_seen) == 1:
        groups: dict[type, Sequence[Any]] = {types_seen.pop(): records}
    else:
        grouped: dict[type, list[Any]] = {}
        for record in records:
            grouped.setdefault(type(record), []).append(record)
        groups = dict(grouped)
    total = 0
    for struct, items in groups.items():
        plan = _plan(struct)
        if plan.flat:
            total += _flat_quotes(items, plan)
        else:
            total += sum(map(record_quotes, items))
    return total


def all_flat(records: Sequence[Any]) -> bool:
    """Whether every record is of a flat kind (no list, dict or nested record), whose
    quotes :func:`expected_quotes` counts field by field at C speed. A nested kind's count
    walks every value in Python, several times the cost of the C parser's check of its
    keys (see :func:`assay.evidence.index._batch_may_hide_duplicates`)."""
    return all(_plan(struct).flat for struct in set(map(type, records)))


def may_hide_duplicates(raw: bytes, record: Any) -> bool:
    """Whether the JSON ``raw`` of one decoded ``record`` could hold a duplicate key (then
    an exact check is due): escaped quotes, or more quotes than its fields account for."""
    return b'\\"' in raw or raw.count(b'"') != record_quotes(record)
