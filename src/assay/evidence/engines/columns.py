"""The store's columns of each evidence kind, derived from the evidence-kind models.

The pydantic models in :mod:`assay.models.evidence_kinds` are the one source of truth: the
JSON Schemas, the msgspec codec and these columns all derive from them, so adding a field
to a model adds its column, and changing a type changes the store's fingerprint (a cache
built for the old layout is rebuilt, never read).

The types here are engine-neutral; each engine renders them in its own dialect.
"""

from __future__ import annotations

import hashlib
import types
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AwareDatetime, BaseModel

from ...models.evidence_kinds import EVIDENCE_KINDS

if TYPE_CHECKING:
    from ...cel.sql import SqlType

ScalarName = Literal["string", "int", "double", "bool", "timestamp", "json"]


class UnsupportedColumn(TypeError):
    """A model field whose type has no column mapping (caught by the tests)."""


@dataclass(frozen=True, slots=True)
class ColumnType:
    """A column's type: a scalar, a list of ``item``, a struct of ``fields``, or a map from
    strings to ``item``. ``json`` holds values whose type varies (``float | str``)."""

    name: ScalarName | Literal["list", "struct", "map"]
    item: ColumnType | None = None
    fields: tuple[Column, ...] = ()

    def describe(self) -> str:
        """A canonical text of the type (feeds the fingerprint)."""
        if self.name == "list":
            assert self.item is not None
            return f"list<{self.item.describe()}>"
        if self.name == "map":
            assert self.item is not None
            return f"map<string,{self.item.describe()}>"
        if self.name == "struct":
            return "struct<" + ",".join(f"{c.name}:{c.type.describe()}" for c in self.fields) + ">"
        return self.name


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool


STRING = ColumnType("string")
INT = ColumnType("int")
DOUBLE = ColumnType("double")
BOOL = ColumnType("bool")
TIMESTAMP = ColumnType("timestamp")
JSON = ColumnType("json")

_SCALARS: dict[Any, ColumnType] = {str: STRING, int: INT, float: DOUBLE, bool: BOOL}


def _strip(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``Annotated`` and ``None`` members, and whether None is allowed."""
    nullable = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != len(get_args(annotation)):
                nullable = True
            if len(members) == 1:
                annotation = members[0]
                continue
            annotation = Union[tuple(members)]  # noqa: UP007 - built at run time
        return annotation, nullable


def column_type(annotation: Any) -> tuple[ColumnType, bool]:
    """The column type of a model field's annotation, and whether it may be null."""
    annotation, nullable = _strip(annotation)
    if annotation is AwareDatetime or annotation is datetime:
        return TIMESTAMP, nullable
    if annotation in _SCALARS:
        return _SCALARS[annotation], nullable
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Literal:
        kinds = {type(a) for a in args}
        if len(kinds) == 1 and kinds.pop() in _SCALARS:
            return _SCALARS[type(args[0])], nullable
        raise UnsupportedColumn(f"mixed literal {annotation!r}")
    if origin in (Union, types.UnionType):
        return JSON, nullable  # e.g. `float | str`: the value keeps its own type
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ColumnType("struct", fields=model_columns(annotation)), nullable
    if origin is list:
        item, _ = column_type(args[0])
        return ColumnType("list", item=item), nullable
    if origin is tuple:
        items = {column_type(a)[0] for a in args}
        if len(items) != 1 or Ellipsis in args:
            raise UnsupportedColumn(f"heterogeneous tuple {annotation!r}")
        return ColumnType("list", item=items.pop()), nullable
    if origin is dict:
        key, _ = column_type(args[0])
        if key != STRING:
            raise UnsupportedColumn(f"map keys must be strings: {annotation!r}")
        value, _ = column_type(args[1])
        return ColumnType("map", item=value), nullable
    raise UnsupportedColumn(f"no column type for {annotation!r}")


def model_columns(model: type[BaseModel]) -> tuple[Column, ...]:
    """The columns of a model's fields, in the model's order (``kind`` left out: one table
    per kind)."""
    out: list[Column] = []
    for name, info in model.model_fields.items():
        if name == "kind":
            continue
        ctype, nullable = column_type(info.annotation)
        out.append(Column(name, ctype, nullable))
    return tuple(out)


@cache
def kind_columns(kind: str) -> tuple[Column, ...]:
    """The columns of an evidence kind's table (its record fields)."""
    return model_columns(EVIDENCE_KINDS[kind])


@cache
def layout_fingerprint() -> str:
    """SHA-256 over every kind's columns: changes whenever a model's shape does."""
    lines = []
    for kind in sorted(EVIDENCE_KINDS):
        cols = ",".join(
            f"{c.name}:{c.type.describe()}{'?' if c.nullable else ''}" for c in kind_columns(kind)
        )
        lines.append(f"{kind}({cols})")
    text = "\n".join(lines)
    return hashlib.sha256(text.encode()).hexdigest()


def _sql_type(ctype: ColumnType, nullable: bool) -> SqlType:
    from ...cel.sql import SqlType  # the compiler is only needed when checks become queries

    if ctype.name in ("list", "map"):
        assert ctype.item is not None
        return SqlType(ctype.name, nullable, _sql_type(ctype.item, False))
    if ctype.name == "struct":
        fields = tuple((c.name, _sql_type(c.type, c.nullable)) for c in ctype.fields)
        return SqlType("struct", nullable, fields=fields)
    if ctype.name == "json":
        return SqlType("dyn", nullable)  # a field whose type varies: not compiled when used
    return SqlType(ctype.name, nullable)


@cache
def record_sql_type(kind: str) -> SqlType:
    """The type the CEL-to-SQL compiler sees for a record of ``kind`` in its table."""
    return _sql_type(ColumnType("struct", fields=kind_columns(kind)), False)
