"""From drafts to evidence files: complete the envelope, validate, de-duplicate, write atomically.

Done once here for every importer, so that each importer only maps fields:

1. the envelope is completed: ``kind``, ``workflow``, ``recorded_by``, the ``--set`` values
   of fields the kind has, and ``sha256`` (the record's content digest, see
   :mod:`assay.evidence.ledger`);
2. every record is validated against its kind's model; every problem is reported, naming
   the export file and item, the record and the field; nothing is written when any fails;
3. each kind goes to one JSON Lines file, ``<out_dir>/<kind>.jsonl``. A record whose id is
   already there with the same content is skipped, one whose content changed is replaced
   (an incident resolved since the last export), new ones are added; files are rewritten
   atomically and only when something changed, records sorted by id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from assay.errors import AssayError, ErrorCode, InputError, InputErrors, Location, UsageError
from assay.evidence.ledger import record_digest
from assay.fileio import write_atomic
from assay.models.evidence_kinds import EVIDENCE_KINDS

from .base import Draft, iso

ENVELOPE = ("id", "kind", "workflow", "created_at", "recorded_by", "source_uri", "sha256")
"""Keys written first, in this order; the kind's fields follow sorted."""
_PLACEHOLDER = "0" * 64
_IGNORED_IN_COMPARISON = frozenset({"recorded_by", "sha256"})

Status = Literal["added", "updated", "unchanged"]


@dataclass(frozen=True)
class ImportedRecord:
    """One record of an import and what happened to it."""

    kind: str
    id: str
    file: str
    status: Status


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote (files changed) and what it left alone."""

    records: tuple[ImportedRecord, ...]
    written: tuple[str, ...]
    """Files created or rewritten, as paths relative to the project (or as given)."""
    skipped: tuple[str, ...]
    """Export items that produced no record, one sentence each."""

    def count(self, status: Status) -> int:
        return sum(1 for r in self.records if r.status == status)


def complete(
    drafts: Sequence[Draft],
    *,
    workflow: str,
    recorded_by: str,
    fields: Mapping[str, Any],
) -> list[tuple[Draft, dict[str, Any]]]:
    """Validated records, in JSON form, with their drafts; InputErrors naming every problem."""
    _check_overrides(drafts, fields)
    errors: list[AssayError] = []
    out: list[tuple[Draft, dict[str, Any]]] = []
    seen: dict[tuple[str, str], Draft] = {}
    for draft in drafts:
        model = EVIDENCE_KINDS[draft.kind]
        key = (draft.kind, draft.id)
        if key in seen:
            errors.append(
                InputError(
                    f"{draft.kind} {draft.id!r} appears twice in the export "
                    f"(first at {seen[key].origin})",
                    location=draft.origin,
                    code=ErrorCode.DUPLICATE,
                )
            )
            continue
        seen[key] = draft
        record: dict[str, Any] = {
            "id": draft.id,
            "kind": draft.kind,
            "workflow": workflow,
            "recorded_by": recorded_by,
            **draft.fields,
            **{k: v for k, v in fields.items() if k in model.model_fields},
            "sha256": _PLACEHOLDER,
        }
        try:
            validated = model.model_validate(record)
        except ValidationError as err:
            errors.extend(_worded(err, draft, record))
            continue
        data = _json(validated.model_dump(exclude_unset=True))
        data["sha256"] = record_digest(data)
        out.append((draft, _ordered(data)))
    if errors:
        raise InputErrors(errors)
    return out


def _check_overrides(drafts: Sequence[Draft], fields: Mapping[str, Any]) -> None:
    kinds = {d.kind for d in drafts}
    for name in fields:
        if name in ("id", "kind", "workflow", "sha256"):
            raise UsageError(f"--set {name}: the importer sets {name} itself")
        if kinds and not any(name in EVIDENCE_KINDS[k].model_fields for k in kinds):
            raise UsageError(
                f"--set {name}: no record of this import has that field "
                f"(kinds: {', '.join(sorted(kinds))})"
            )


def _worded(err: ValidationError, draft: Draft, record: Mapping[str, Any]) -> list[InputError]:
    out: list[InputError] = []
    for item in err.errors(include_url=False):
        loc = item["loc"]
        name = ".".join(str(p) for p in loc) if loc else "(record)"
        kind = item["type"]
        if kind == "missing":
            message = f"missing required field {name!r}"
            if len(loc) == 1:
                message += f" (the export has no value for it: pass --set {name}=...)"
        else:
            text = str(item["msg"]).removeprefix("Value error, ")
            value = item.get("input")
            shown = json.dumps(value, default=str) if not isinstance(value, dict) else "an object"
            message = f"field {name!r}: {text}" + (
                "" if kind == "value_error" else f", got {shown[:60]}"
            )
        out.append(
            InputError(
                f"{draft.kind} {draft.id!r}: {message}",
                location=draft.origin,
                code=ErrorCode.IMPORT,
            )
        )
    return out


def _json(value: Any) -> Any:
    """A validated record in JSON form, every instant in UTC with ``Z`` (as the importers
    write them), whatever offset a ``--set`` value had."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def _ordered(data: Mapping[str, Any]) -> dict[str, Any]:
    head = {k: data[k] for k in ENVELOPE if k in data}
    rest = {k: data[k] for k in sorted(data) if k not in head}
    return {**head, **rest}


def _line(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _existing(path: Path, display: str) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    out: dict[str, dict[str, Any]] = {}
    for number, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as err:
            raise InputError(
                f"invalid JSON: {err.msg} (an earlier import's file was edited by hand?)",
                location=Location(display, number, err.colno),
                code=ErrorCode.JSON,
            ) from None
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise InputError(
                "expected an evidence record with an id", location=Location(display, number)
            )
        out[record["id"]] = record
    return out


def _same(old: Mapping[str, Any], new: Mapping[str, Any], volatile: Iterable[str]) -> bool:
    ignored = _IGNORED_IN_COMPARISON | set(volatile)
    return {k: v for k, v in old.items() if k not in ignored} == {
        k: v for k, v in new.items() if k not in ignored
    }


def write_records(
    records: Sequence[tuple[Draft, dict[str, Any]]], out_dir: Path, display: str
) -> tuple[list[ImportedRecord], list[str]]:
    """Merge the records into ``<out_dir>/<kind>.jsonl``; write changed files atomically."""
    by_kind: dict[str, list[tuple[Draft, dict[str, Any]]]] = {}
    for item in records:
        by_kind.setdefault(item[0].kind, []).append(item)
    plans: list[tuple[Path, bytes]] = []
    written: list[str] = []
    outcome: list[ImportedRecord] = []
    for kind in sorted(by_kind):
        path = out_dir / f"{kind}.jsonl"
        shown = f"{display}/{kind}.jsonl"
        merged = _existing(path, shown)
        changed = False
        for draft, record in by_kind[kind]:
            old = merged.get(record["id"])
            status: Status
            if old is None:
                status = "added"
            elif _same(old, record, draft.volatile):
                status = "unchanged"
            else:
                status = "updated"
                for name in draft.volatile:
                    if name in old:
                        record = {**record, name: old[name]}
                record["sha256"] = record_digest(record)
            if status != "unchanged":
                merged[record["id"]] = record
                changed = True
            outcome.append(ImportedRecord(kind, record["id"], shown, status))
        if changed:
            plans.append((path, b"".join(_line(merged[i]) for i in sorted(merged))))
            written.append(shown)
    # Every file is composed before the first is written: a failure while converting or
    # merging leaves the folder as it was. Each file is replaced atomically.
    for path, data in plans:
        write_atomic(path, data)
    return outcome, written
