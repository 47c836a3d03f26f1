"""The generic importer: CSV, JSON or JSON Lines, turned into records by a small declarative
mapping file (YAML, strict, validated like every file Assay reads).

Example::

    kind: drift_log
    records: results            # JSON only: where the list of items is (dotted path)
    id: {template: "dq-{run}-{feature}"}
    fields:
      created_at: {path: finished, time_format: "%Y-%m-%d %H:%M:%S", timezone: UTC}
      run_at: {path: finished, time_format: "%Y-%m-%d %H:%M:%S", timezone: UTC}
      metric: {template: "psi_{feature}"}
      value: {path: psi, type: number}
      threshold: {const: 0.2}
      breach: {path: status, map: {ok: false, drift: true}}
      source_uri: {template: "https://dq.example.com/runs/{run}"}

Each field takes exactly one of ``path`` (dotted, list indexes as numbers; a CSV column),
``const`` or ``template`` (``{name}`` is replaced by the item's top-level value), then
optionally ``map`` (value -> value), ``type`` and, for times, ``time_format`` (``iso8601``,
``epoch_s``, ``epoch_ms`` or a ``strftime`` pattern) with ``timezone`` for times that have
none. ``default`` applies when the item has no value. ``source_uri`` defaults to the data file
and item.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from assay.errors import ErrorCode, InputError, InputErrors, Location, UsageError
from assay.models.base import StrictModel
from assay.models.evidence_kinds import EVIDENCE_KINDS
from assay.parsing.validate import validate_model
from assay.parsing.yamlsafe import check_size, decode_utf8, load_yaml

from .base import MAX_EXPORT_BYTES, Conversion, Draft, ExportFile, ImportOptions, iso, load_json

_TEMPLATE = re.compile(r"\{([^{}]+)\}")
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


class FieldSpec(StrictModel):
    """How one field of the record is made from an item of the data."""

    path: str | None = Field(default=None, min_length=1)
    """Dotted path of the value in the item (a column of a CSV file)."""
    const: Any = None
    """A constant value."""
    template: str | None = Field(default=None, min_length=1)
    """Text with ``{name}`` replaced by the item's top-level value ``name``."""
    map: dict[str, Any] | None = None
    """Replaces the value found (as text) by another, e.g. ``{P1: SEV1}``; an unlisted value is
    an error."""
    type: Literal["string", "number", "integer", "boolean"] | None = None
    """Converts the value (CSV cells are text)."""
    time_format: str | None = None
    """For times: iso8601, epoch_s, epoch_ms or a strftime pattern such as %d/%m/%Y %H:%M."""
    timezone: str | None = None
    """Timezone of times that have none: UTC or an offset such as +02:00."""
    default: Any = None
    """Value when the item has none at the path."""

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        given = [n for n in ("path", "const", "template") if n in self.model_fields_set]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of path, const or template"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.timezone is not None:
            _zone(self.timezone)
        return self


class Mapping(StrictModel):
    """A mapping file: which kind, where the items are, and how each field is made."""

    kind: str
    """The evidence kind of every record made."""
    format: Literal["csv", "json", "jsonl"] | None = None
    """Format of the data files; default: from their suffix."""
    records: str | None = None
    """JSON only: dotted path of the list of items (default: the document, a list)."""
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    """CSV only: the column separator."""
    id: FieldSpec
    """How the record id is made (keep the source system's id)."""
    fields: dict[str, FieldSpec]
    """Fields of the record, by name."""

    @model_validator(mode="after")
    def _known(self) -> Mapping:
        model = EVIDENCE_KINDS.get(self.kind)
        if model is None:
            raise ValueError(
                f"unknown evidence kind {self.kind!r} (expected one of: "
                f"{', '.join(EVIDENCE_KINDS)})"
            )
        for name in self.fields:
            if name in ("id", "kind", "workflow", "sha256"):
                raise ValueError(f"fields: {name!r} is set by the importer")
            if name not in model.model_fields:
                known = ", ".join(sorted(model.model_fields))
                raise ValueError(f"fields: {self.kind} has no field {name!r} (fields: {known})")
        return self


def _zone(text: str) -> tzinfo:
    if text.upper() in ("UTC", "Z"):
        return UTC
    match = _OFFSET.match(text)
    if match is None:
        raise ValueError(f"timezone {text!r}: expected UTC or an offset such as +02:00")
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def load_mapping(export: ExportFile) -> Mapping:
    """Parse and validate a mapping file: every problem with its line and column."""
    value, positions = load_yaml(export.data, export.name, max_bytes=1_000_000)
    return validate_model(Mapping, value if value is not None else {}, positions, file=export.name)


# --- items ------------------------------------------------------------------------------


def _items(export: ExportFile, spec: Mapping) -> Iterator[tuple[Any, Location]]:
    fmt = spec.format or Path(export.name).suffix.lower().lstrip(".")
    if fmt == "ndjson":
        fmt = "jsonl"
    if fmt == "csv":
        check_size(export.data, export.name, MAX_EXPORT_BYTES)
        text = decode_utf8(export.data, export.name).lstrip("\ufeff")
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=spec.delimiter)
        try:
            for row in reader:
                if None in row:
                    raise InputError(
                        "more cells than there are columns in the header",
                        location=Location(export.name, reader.line_num),
                        code=ErrorCode.FORMAT,
                    )
                yield (
                    {k: v for k, v in row.items() if v not in ("", None)},
                    Location(export.name, reader.line_num),
                )
        except csv.Error as err:
            raise InputError(
                f"invalid CSV: {err}",
                location=Location(export.name, reader.line_num),
                code=ErrorCode.FORMAT,
            ) from None
    elif fmt == "jsonl":
        check_size(export.data, export.name, MAX_EXPORT_BYTES)
        text = decode_utf8(export.data, export.name)
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line), Location(export.name, number)
            except json.JSONDecodeError as err:
                raise InputError(
                    f"invalid JSON on this line: {err.msg}",
                    location=Location(export.name, number, err.colno),
                    code=ErrorCode.JSON,
                ) from None
    elif fmt == "json":
        document = load_json(export)
        pointer = ""
        items = document
        if spec.records:
            found, items = _lookup(document, spec.records)
            if not found:
                raise InputError(
                    f"no {spec.records!r} in the document (the mapping's `records`)",
                    location=Location(export.name),
                    code=ErrorCode.IMPORT,
                )
            pointer = "/" + spec.records.replace(".", "/")
        if not isinstance(items, list):
            raise InputError(
                "expected a list of items" + (f" at {spec.records!r}" if spec.records else ""),
                location=Location(export.name, None, None, pointer or None),
                code=ErrorCode.IMPORT,
            )
        for index, item in enumerate(items):
            yield item, Location(export.name, None, None, f"{pointer}/{index}")
    else:
        raise UsageError(
            f"{export.name}: cannot tell the format (csv, json or jsonl) from the name; "
            "set `format:` in the mapping"
        )


def _lookup(item: Any, path: str) -> tuple[bool, Any]:
    current = item
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return False, None
    return current is not None, current


# --- values -----------------------------------------------------------------------------


class _Refused(ValueError):
    pass


def _value(spec: FieldSpec, item: Any) -> tuple[bool, Any]:
    if spec.path is not None:
        found, value = _lookup(item, spec.path)
        if not found:
            if spec.default is not None:
                return True, spec.default
            return False, None
    elif spec.template is not None:
        value = _fill(spec.template, item)
    else:
        value = spec.const
    if spec.map is not None:
        key = json.dumps(value) if not isinstance(value, str) else value
        if key not in spec.map:
            raise _Refused(f"{value!r} is not in the map (expected one of: {', '.join(spec.map)})")
        value = spec.map[key]
    if spec.time_format is not None:
        value = _time(value, spec)
    elif spec.type is not None:
        value = _typed(value, spec.type)
    return True, value


def _fill(template: str, item: Any) -> str:
    def one(match: re.Match[str]) -> str:
        found, value = _lookup(item, match.group(1))
        if not found:
            raise _Refused(f"the template needs {match.group(1)!r}, which the item lacks")
        return str(value)

    return _TEMPLATE.sub(one, template)


def _typed(value: Any, kind: str) -> Any:
    try:
        if kind == "string":
            return str(value)
        if kind == "number":
            return float(value)
        if kind == "integer":
            number = float(value)
            if not number.is_integer():
                raise ValueError
            return int(number)
    except (TypeError, ValueError):
        raise _Refused(
            f"expected {'a number' if kind == 'number' else 'an integer'}, got {value!r}"
        ) from None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise _Refused(f"expected true or false, got {value!r}")


def _time(value: Any, spec: FieldSpec) -> str:
    fmt = spec.time_format or "iso8601"
    try:
        if fmt in ("epoch_s", "epoch_ms"):
            seconds = float(value) / (1000 if fmt == "epoch_ms" else 1)
            return iso(datetime.fromtimestamp(seconds, tz=UTC))
        text = str(value).strip()
        moment = datetime.fromisoformat(text) if fmt == "iso8601" else datetime.strptime(text, fmt)
    except (TypeError, ValueError, OverflowError):
        raise _Refused(f"expected a time in the format {fmt!r}, got {value!r}") from None
    if moment.tzinfo is None:
        if spec.timezone is None:
            raise _Refused(
                f"the time {value!r} has no timezone: give `timezone:` (UTC or an offset) in the "
                "mapping"
            )
        moment = moment.replace(tzinfo=_zone(spec.timezone))
    return iso(moment)


def import_mapping(files: Sequence[ExportFile], options: ImportOptions) -> Conversion:
    if options.mapping is None:
        raise UsageError("the mapping source needs a mapping file (--mapping FILE)")
    spec = load_mapping(options.mapping)
    drafts: list[Draft] = []
    errors: list[InputError] = []
    for export in files:
        for item, where in _items(export, spec):
            made = _record(spec, item, where, export.name, errors)
            if made is not None:
                drafts.append(made)
    if errors:
        raise InputErrors(errors)
    return Conversion(drafts)


def _record(
    spec: Mapping, item: Any, where: Location, file: str, errors: list[InputError]
) -> Draft | None:
    if not isinstance(item, dict):
        errors.append(
            InputError("expected an object for each item", location=where, code=ErrorCode.IMPORT)
        )
        return None
    try:
        found, ident = _value(spec.id, item)
    except _Refused as err:
        errors.append(InputError(f"id: {err}", location=where, code=ErrorCode.IMPORT))
        return None
    if not found or not str(ident).strip():
        errors.append(
            InputError("the item has no value for the id", location=where, code=ErrorCode.IMPORT)
        )
        return None
    fields: dict[str, Any] = {}
    ok = True
    for name, field_spec in spec.fields.items():
        try:
            present, value = _value(field_spec, item)
        except _Refused as err:
            errors.append(
                InputError(
                    f"{spec.kind} {str(ident)!r}: field {name!r}: {err}",
                    location=where,
                    code=ErrorCode.IMPORT,
                )
            )
            ok = False
            continue
        if present:
            fields[name] = value
    if not ok:
        return None
    if "source_uri" not in fields:
        anchor = f"L{where.line}" if where.line is not None else (where.pointer or "")
        fields["source_uri"] = f"file:{Path(file).name}#{anchor}"
    return Draft(spec.kind, str(ident), fields, where)
