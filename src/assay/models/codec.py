"""Fast decoding of evidence records with msgspec, derived from the pydantic models.

The pydantic models in :mod:`assay.models.evidence_kinds` are the contract (JSON Schemas,
error messages). Validating millions of records with them costs ~3x the time to merely
parse the JSON, so the gate's hot path decodes each record with a msgspec Struct generated
from the model: same fields, types, literals, required keys, unknown-key refusal,
timezone-aware times, patterns and bounds, checked in C while parsing. A record that the
fast path refuses is validated again with pydantic, which words the error. Cross-field
rules (``after`` model validators) run on the Structs too; a record they refuse, and every
record of a kind with any other kind of validator, is validated by pydantic.

The Structs are what the engine holds in memory (about half the size of a model).
"""

from __future__ import annotations

import datetime as dt
import operator
import re
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import msgspec
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

from .evidence import Evidence
from .evidence_kinds import EVIDENCE_KINDS

TZ_DATETIME = Annotated[dt.datetime, msgspec.Meta(tz=True)]


class UnsupportedType(TypeError):
    """A model uses a type the generator does not translate (caught by the tests)."""


def _meta(metadata: list[Any]) -> msgspec.Meta | None:
    options: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            options["ge"] = item.ge
        elif isinstance(item, annotated_types.Le):
            options["le"] = item.le
        elif isinstance(item, annotated_types.Gt):
            options["gt"] = item.gt
        elif isinstance(item, annotated_types.Lt):
            options["lt"] = item.lt
        elif isinstance(item, annotated_types.MinLen):
            options["min_length"] = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            options["max_length"] = item.max_length
        elif getattr(item, "pattern", None) is not None:
            options["pattern"] = item.pattern
        elif isinstance(item, FieldInfo):
            nested = _meta(list(item.metadata))
            if nested is not None:
                return nested
        else:
            raise UnsupportedType(f"unsupported constraint {item!r}")
    return msgspec.Meta(**options) if options else None


def _pattern_of(metadata: list[Any]) -> str | None:
    return next((m.pattern for m in metadata if getattr(m, "pattern", None) is not None), None)


class _Builder:
    def __init__(self) -> None:
        self.structs: dict[type[BaseModel], type[msgspec.Struct]] = {}
        self.patterns: dict[str, list[tuple[str, str]]] = {}
        """Per kind, the top-level (field, pattern) pairs left out of the Struct: msgspec runs
        a Python regex per value, which tripled decoding; :func:`pattern_violations` checks
        a whole file's values in one regex pass instead."""

    def type_of(self, annotation: Any, metadata: list[Any]) -> Any:
        meta = _meta(metadata)
        base = self._base(annotation)
        if meta is None:
            return base
        if get_origin(base) is Union:
            # Constraints bind to the non-null member: `str | None` with a pattern.
            members = [a if a is type(None) else Annotated[a, meta] for a in get_args(base)]
            return Union[tuple(members)]  # noqa: UP007
        return Annotated[base, meta]

    def _base(self, annotation: Any) -> Any:
        if annotation is AwareDatetime:
            return TZ_DATETIME
        if annotation in (str, int, float, bool, type(None)):
            return annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return self.struct(annotation)
        origin = get_origin(annotation)
        args = get_args(annotation)
        if origin is Literal:
            return annotation
        if origin is Annotated:
            return self.type_of(args[0], list(args[1:]))
        if origin in (Union, types.UnionType):
            return Union[tuple(self._base(a) for a in args)]  # noqa: UP007 - built at run time
        if origin is list:
            return list[self._base(args[0])]  # type: ignore[misc]
        if origin is dict:
            return dict[self._base(args[0]), self._base(args[1])]  # type: ignore[misc]
        if origin is tuple:
            return tuple[tuple(self._base(a) for a in args)]  # type: ignore[misc]
        raise UnsupportedType(f"unsupported type {annotation!r}")

    def struct(self, model: type[BaseModel]) -> type[msgspec.Struct]:
        if model in self.structs:
            return self.structs[model]
        fields: list[tuple[Any, ...]] = []
        namespace: dict[str, Any] = {"__doc__": model.__doc__, "model": model}
        kind = None
        for name, info in model.model_fields.items():
            if name == "kind" and issubclass(model, Evidence):
                kind = get_args(info.annotation)[0]
                continue
            metadata = list(info.metadata)
            pattern = _pattern_of(metadata) if issubclass(model, Evidence) else None
            if name == "workflow" and issubclass(model, Evidence):
                # Every record's workflow must be one of the project's workflows, whose ids
                # are validated where they are defined: the pattern adds nothing here.
                pattern = None
                metadata = [m for m in metadata if getattr(m, "pattern", None) is None]
            if pattern is not None:
                self.patterns.setdefault(model.__name__, []).append((name, pattern))
                metadata = [m for m in metadata if getattr(m, "pattern", None) is None]
            field_type = self.type_of(info.annotation, metadata)
            if info.is_required():
                fields.append((name, field_type))
            elif info.default_factory is not None:
                factory: Any = info.default_factory
                fields.append((name, field_type, msgspec.field(default_factory=factory)))
            elif isinstance(info.default, list | dict):
                factory = type(info.default)
                fields.append((name, field_type, msgspec.field(default_factory=factory)))
            else:
                fields.append((name, field_type, info.default))
        # Required fields must come before those with defaults.
        fields.sort(key=lambda f: len(f) > 2)
        # gc=False: records hold only scalars and lists of records, never cycles; keeping a
        # million of them out of the cyclic collector's generations saves seconds.
        options: dict[str, Any] = {"forbid_unknown_fields": True, "frozen": True, "gc": False}
        if kind is not None:
            namespace["kind"] = kind
            namespace["TIME_FIELD"] = typing.cast(Any, model).TIME_FIELD
            options.update(tag_field="kind", tag=kind)
        struct = msgspec.defstruct(model.__name__, fields, namespace=namespace, **options)
        self.structs[model] = struct
        return struct


def _batch_pattern(pattern: str) -> re.Pattern[str]:
    """``^P$`` → a pattern matching ``P\0P\0...P`` as a whole (values never hold NUL: if one
    did it would fail ``P`` anyway, and the per-value check finds it)."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        raise UnsupportedType(f"pattern {pattern!r} must be anchored with ^ and $")
    body = pattern[1:-1]
    return re.compile(f"(?:{body})(?:\x00(?:{body}))*")


def _has_validators(model: type[BaseModel]) -> bool:
    decorators = model.__pydantic_decorators__
    if decorators.model_validators or decorators.field_validators:
        return True
    for info in model.model_fields.values():
        for arg in _walk_types(info.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and _has_validators(arg):
                return True
    return False


def _walk_types(annotation: Any) -> list[Any]:
    out = [annotation]
    for arg in get_args(annotation):
        out.extend(_walk_types(arg))
    return out


_builder = _Builder()
STRUCTS: dict[str, type[msgspec.Struct]] = {
    kind: _builder.struct(model) for kind, model in EVIDENCE_KINDS.items()
}
"""The generated Struct of each evidence kind."""

_PATTERNS: dict[str, list[tuple[str, re.Pattern[str], re.Pattern[str]]]] = {
    kind: [
        (field, re.compile(pattern[1:-1]), _batch_pattern(pattern))
        for field, pattern in _builder.patterns.get(model.__name__, [])
    ]
    for kind, model in EVIDENCE_KINDS.items()
}


def pattern_violations(kind: str, records: list[Any]) -> set[int]:
    """Indices of ``records`` (all of ``kind``) whose pattern-constrained fields do not match,
    or that a cross-field rule of the kind's models refuses (see :func:`_model_check`).

    One regex pass over all values of a field joined together; only when that fails is
    each value tried on its own to find the culprits."""
    bad: set[int] = set()
    for field, single, batch in _PATTERNS.get(kind, ()):
        values = list(map(operator.attrgetter(field), records))
        present = [v for v in values if v is not None] if None in values else values
        if not present or batch.fullmatch("\x00".join(present)):
            continue
        bad.update(i for i, v in enumerate(values) if v is not None and not single.fullmatch(v))
    check = _CHECKS.get(kind)
    if check is not None:
        for i, record in enumerate(records):
            try:
                check(record)
            except Exception:  # noqa: BLE001 - any refusal: pydantic words it
                bad.add(i)
    return bad


Check = typing.Callable[[Any], None]


def _model_check(model: type[BaseModel]) -> Check | None:
    """What a model's validators check, run on its Struct (its nested models' too): raises
    when a value is refused. None when there is nothing to check. Only ``after`` model
    validators, which read the validated fields and raise or return the instance, can run
    on a Struct (it has the same attributes); any other kind of validator raises
    UnsupportedType (the kind is then validated by pydantic)."""
    decorators = model.__pydantic_decorators__
    if (
        decorators.field_validators
        or decorators.validators
        or decorators.root_validators
        or any(d.info.mode != "after" for d in decorators.model_validators.values())
    ):
        raise UnsupportedType(f"{model.__name__} has validators that need pydantic")
    own = [d.func for d in decorators.model_validators.values()]
    fields = [
        (name, inner)
        for name, info in model.model_fields.items()
        if (inner := _value_check(info.annotation)) is not None
    ]
    if not own and not fields:
        return None

    def check(value: Any) -> None:
        for name, inner in fields:
            inner(getattr(value, name))
        for func in own:
            func(value)

    return check


def _value_check(annotation: Any) -> Check | None:
    """The check of a field's value (see :func:`_model_check`), or None."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _value_check(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_check(annotation)
    if origin in (Union, types.UnionType):
        checks = [(a, _value_check(a)) for a in args]
        if not any(c for _, c in checks):
            return None
        if sum(1 for a, _ in checks if a is not type(None)) != 1:
            raise UnsupportedType(f"a union of validated models: {annotation!r}")
        (inner,) = [c for a, c in checks if a is not type(None)]
        assert inner is not None

        def optional(value: Any) -> None:
            if value is not None:
                inner(value)

        return optional
    if origin in (list, tuple) and args:
        items = {_value_check(a) for a in args if a is not Ellipsis} - {None}
        if not items:
            return None
        if len(items) != 1 or (origin is tuple and len(set(args) - {Ellipsis}) != 1):
            raise UnsupportedType(f"a mixed sequence of validated models: {annotation!r}")
        item = items.pop()
        assert item is not None

        def each(value: Any) -> None:
            for element in value:
                item(element)

        return each
    if origin is dict:
        values = _value_check(args[1])
        if values is None:
            return None

        def each_value(value: Any) -> None:
            for element in value.values():
                values(element)

        return each_value
    if any(_value_check(a) is not None for a in args):
        raise UnsupportedType(f"validated models inside {annotation!r}")
    return None


def _checks() -> tuple[dict[str, Check], frozenset[str]]:
    checks: dict[str, Check] = {}
    unsupported: set[str] = set()
    for kind, model in EVIDENCE_KINDS.items():
        if not _has_validators(model):
            continue
        try:
            check = _model_check(model)
        except UnsupportedType:
            unsupported.add(kind)
            continue
        if check is not None:
            checks[kind] = check
    return checks, frozenset(unsupported)


_CHECKS, NEEDS_PYDANTIC = _checks()
"""Per kind, its models' cross-field rules run on its Structs (what
:func:`pattern_violations` also checks); and the kinds whose rules cannot be (another
kind of validator): pydantic validates those."""

_ANY_KIND: Any = Union[tuple(STRUCTS.values())]  # noqa: UP007
_json_decoder = msgspec.json.Decoder(_ANY_KIND)

DecodeError = (msgspec.ValidationError, msgspec.DecodeError)


def decode_json(data: bytes) -> Any:
    """Decode one JSON record into its kind's Struct; raises msgspec errors."""
    return _json_decoder.decode(data)


def decode_json_lines(data: bytes) -> list[Any]:
    """Decode a whole JSON Lines buffer (blank lines skipped); raises msgspec errors."""
    decoded: list[Any] = _json_decoder.decode_lines(data)
    return decoded


def convert(data: Mapping[str, Any]) -> Any:
    """Convert an already parsed record (YAML, JSON) into its kind's Struct."""
    return msgspec.convert(data, _ANY_KIND)
