"""`assay diff`: what changed between two assessments (a baseline and a candidate).

Both sides are canonical assessment JSON as ``assay gate --format json`` writes it: one
assessment, or ``{"assessments": [...]}`` for a fleet. Assessments are paired by workflow
id; inside a pair, controls are paired by control id. The result is an
:class:`~assay.models.diff.AssessmentDiff` (how changes are classified is told there);
:mod:`assay.formats.diff` renders it. A diff is not a verdict: the CLI exits 0 whatever
changed (2 only when a file cannot be read or is not an assessment).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import AssayError, ErrorCode, InputError, Location, UsageError
from ..models.assessment import ACCEPTED, Assessment
from ..models.diff import AssessmentDiff, ChangeKind, ControlChange, WorkflowDiff
from ..parsing.jsonsafe import load_json
from ..parsing.validate import validate_model
from ..parsing.yamlsafe import load_yaml


def _as_list(value: Assessment | Sequence[Assessment]) -> list[Assessment]:
    items = [value] if isinstance(value, Assessment) else list(value)
    seen: set[str] = set()
    for item in items:
        if item.workflow.id in seen:
            raise UsageError(f"workflow {item.workflow.id!r} appears twice on one side of the diff")
        seen.add(item.workflow.id)
    return items


def _classify(old: str | None, new: str | None) -> ChangeKind:
    if old is None:
        return "added"
    if new is None:
        return "removed"
    if old in ACCEPTED and new not in ACCEPTED:
        return "newly_failing"
    if old not in ACCEPTED and new in ACCEPTED:
        return "newly_passing"
    return "changed"


def _pair(wf: str, old: Assessment | None, new: Assessment | None) -> WorkflowDiff:
    before = {c.id: c for c in old.controls} if old else {}
    after = {c.id: c for c in new.controls} if new else {}
    changes: list[ControlChange] = []
    unchanged = 0
    for cid in sorted(before.keys() | after.keys()):
        a, b = before.get(cid), after.get(cid)
        if a is not None and b is not None and a.status == b.status:
            unchanged += 1
            continue
        shown = b or a
        assert shown is not None  # cid comes from one of the two sides
        old_status = a.status if a else None
        new_status = b.status if b else None
        changes.append(
            ControlChange(
                workflow=wf,
                control=cid,
                kind=_classify(old_status, new_status),
                old=old_status,
                new=new_status,
                title=shown.title,
                severity=shown.severity,
                summary=shown.summary,
            )
        )
    return WorkflowDiff(
        workflow=wf,
        old_verdict=old.summary.verdict if old else None,
        new_verdict=new.summary.verdict if new else None,
        old_as_of=old.as_of.isoformat() if old else None,
        new_as_of=new.as_of.isoformat() if new else None,
        changes=tuple(changes),
        unchanged=unchanged,
    )


def diff_assessments(
    old: Assessment | Sequence[Assessment], new: Assessment | Sequence[Assessment]
) -> AssessmentDiff:
    """Compare two assessments (or two fleets, paired by workflow id)."""
    before = {a.workflow.id: a for a in _as_list(old)}
    after = {a.workflow.id: a for a in _as_list(new)}
    return AssessmentDiff(
        tuple(
            _pair(wf, before.get(wf), after.get(wf)) for wf in sorted(before.keys() | after.keys())
        )
    )


# ----------------------------------------------------------------------------- reading


MAX_ASSESSMENT_BYTES = 500_000_000
"""Largest assessment file `assay diff` reads (a fleet of thousands of workflows fits)."""


def load_assessments(path: str | Path) -> list[Assessment]:
    """Read an assessment JSON file (one assessment or ``{"assessments": [...]}``).

    Raises :class:`InputError` (exit 2) with the file and, where known, line, column and
    JSON pointer when the file cannot be read or is not an assessment.
    """
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise InputError(
            f"cannot read file: {err.strerror or err}", location=Location(file), code=ErrorCode.IO
        ) from None
    # The shared strict JSON parser: located errors, no duplicate keys, bounded nesting.
    data = load_json(raw, file, max_bytes=MAX_ASSESSMENT_BYTES)
    if isinstance(data, dict) and "assessments" in data:
        items = data["assessments"]
        if not isinstance(items, list) or not items:
            raise InputError(
                "expected a non-empty list of assessments",
                location=Location(file, None, None, "/assessments"),
                code=ErrorCode.SCHEMA,
            )
        return [_validate(item, raw, file, f"/assessments/{i}") for i, item in enumerate(items)]
    if not isinstance(data, dict) or "schema_version" not in data:
        raise InputError(
            "not an Assay assessment: expected the JSON written by `assay gate --format json` "
            '(an object with "schema_version", or {"assessments": [...]})',
            location=Location(file, 1, 1),
            code=ErrorCode.SCHEMA,
        )
    return [_validate(data, raw, file, "")]


def _validate(item: Any, raw: bytes, file: str, pointer: str) -> Assessment:
    try:
        return validate_model(Assessment, item, None, file=file)
    except AssayError as err:
        errors = getattr(err, "errors", [err])
        first = errors[0]
        inner = first.location.pointer if first.location and first.location.pointer else ""
        full = pointer + inner
        location = _locate(raw, file, full)
        raise InputError(
            f"not a valid assessment: {first.message}"
            + (f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""),
            location=location,
            code=ErrorCode.SCHEMA,
        ) from None


def _locate(raw: bytes, file: str, pointer: str) -> Location:
    """File, line and column of a JSON pointer (JSON is YAML, whose parser keeps positions);
    just the pointer when that fails."""
    try:
        _value, positions = load_yaml(raw, file, max_bytes=max(len(raw), 1))
        found = positions.location(pointer)
        return Location(file, found.line, found.column, pointer or None)
    except (AssayError, KeyError, ValueError):
        return Location(file, None, None, pointer or None)
