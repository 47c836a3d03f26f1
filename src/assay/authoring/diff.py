"""`assay diff`: what changed between two assessments (a baseline and a candidate).

Both sides are canonical assessment JSON as ``assay gate --format json`` writes it: one
assessment, or ``{"assessments": [...]}`` for a fleet. Assessments are paired by workflow
id; inside a pair, controls are paired by control id. Every control whose status differs
is classified once:

* ``newly_failing``: accepted before (pass, waived, not_applicable), not accepted now;
* ``newly_passing``: not accepted before, accepted now;
* ``changed``: another status change on the same side (e.g. fail → blocked, pass → waived);
* ``added`` / ``removed``: the control (or the whole workflow) is on one side only.

"Worse" is newly failing plus added controls that are not accepted: what a pull-request
comment reports as "this change made N controls worse". A diff is not a verdict: the CLI
exits 0 whatever changed (2 only when a file cannot be read or is not an assessment).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import AssayError, ErrorCode, InputError, Location, UsageError
from ..models.assessment import ACCEPTED, Assessment
from ..parsing.validate import validate_model
from ..parsing.yamlsafe import load_yaml

ChangeKind = Literal["newly_failing", "newly_passing", "changed", "added", "removed"]
KINDS: tuple[ChangeKind, ...] = ("newly_failing", "added", "changed", "newly_passing", "removed")
"""Report order: what got worse first."""
_HEADINGS: dict[ChangeKind, str] = {
    "newly_failing": "Newly failing",
    "added": "Added controls",
    "changed": "Changed status",
    "newly_passing": "Newly passing",
    "removed": "Removed controls",
}


@dataclass(frozen=True, order=True)
class ControlChange:
    """One control of one workflow whose status is not the same on both sides."""

    workflow: str
    control: str
    kind: ChangeKind
    old: str | None
    """Status in the old assessment; None when the control was added."""
    new: str | None
    """Status in the new assessment; None when the control was removed."""
    title: str
    severity: str
    summary: str
    """The new side's one-line summary (the old side's for a removed control)."""

    @property
    def worse(self) -> bool:
        """Newly failing, or added and not accepted."""
        return self.kind == "newly_failing" or (self.kind == "added" and self.new not in ACCEPTED)


@dataclass(frozen=True)
class WorkflowDiff:
    """The changes of one workflow; a verdict is None on the side it is missing from."""

    workflow: str
    old_verdict: str | None
    new_verdict: str | None
    old_as_of: str | None
    new_as_of: str | None
    changes: tuple[ControlChange, ...]
    unchanged: int

    @property
    def verdict_changed(self) -> bool:
        return self.old_verdict != self.new_verdict


@dataclass(frozen=True)
class AssessmentDiff:
    """The differences between two sets of assessments, paired by workflow id."""

    workflows: tuple[WorkflowDiff, ...]

    @property
    def changes(self) -> tuple[ControlChange, ...]:
        return tuple(c for w in self.workflows for c in w.changes)

    def of_kind(self, kind: ChangeKind) -> tuple[ControlChange, ...]:
        return tuple(c for c in self.changes if c.kind == kind)

    @property
    def newly_failing(self) -> tuple[ControlChange, ...]:
        return self.of_kind("newly_failing")

    @property
    def newly_passing(self) -> tuple[ControlChange, ...]:
        return self.of_kind("newly_passing")

    @property
    def changed(self) -> tuple[ControlChange, ...]:
        return self.of_kind("changed")

    @property
    def added(self) -> tuple[ControlChange, ...]:
        return self.of_kind("added")

    @property
    def removed(self) -> tuple[ControlChange, ...]:
        return self.of_kind("removed")

    @property
    def worse(self) -> tuple[ControlChange, ...]:
        return tuple(c for c in self.changes if c.worse)

    @property
    def verdict_changed(self) -> bool:
        return any(w.verdict_changed for w in self.workflows)


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
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise InputError(
            f"not UTF-8 text (byte {err.start})", location=Location(file), code=ErrorCode.JSON
        ) from None
    except json.JSONDecodeError as err:
        raise InputError(
            f"invalid JSON: {err.msg}",
            location=Location(file, err.lineno, err.colno),
            code=ErrorCode.JSON,
        ) from None
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


# ----------------------------------------------------------------------------- output


def _status(value: str | None) -> str:
    return value if value is not None else "absent"


def _headline(d: AssessmentDiff) -> str:
    worse = len(d.worse)
    better = len(d.newly_passing)
    if not d.changes:
        return "No control changed status."
    noun = "control" if worse == 1 else "controls"
    text = f"This change made {worse} {noun} worse"
    text += f" and {better} better." if better else "."
    return text


def format_diff(d: AssessmentDiff, fmt: str = "text") -> str:
    """Render a diff as ``text`` (terminal) or ``markdown`` (a pull-request comment)."""
    if fmt == "text":
        return _text(d)
    if fmt == "markdown":
        return _markdown(d)
    raise UsageError(f"unknown diff format {fmt!r}; expected one of: text, markdown")


def _text(d: AssessmentDiff) -> str:
    out = [_headline(d)]
    for w in d.workflows:
        out.append("")
        verdict = (
            f"{_status(w.old_verdict)} -> {_status(w.new_verdict)}"
            if w.verdict_changed
            else f"{_status(w.new_verdict)} (unchanged)"
        )
        out.append(f"{w.workflow}: {verdict}; {w.unchanged} controls unchanged")
        for kind in KINDS:
            items = [c for c in w.changes if c.kind == kind]
            if not items:
                continue
            out.append(f"  {_HEADINGS[kind]} ({len(items)}):")
            for c in items:
                out.append(
                    f"    {c.control:<18} {_status(c.old)} -> {_status(c.new)}  "
                    f"[{c.severity}] {c.title}"
                )
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    """Table-cell safe: no pipes, no line breaks, no HTML."""
    return (
        " ".join(text.split())
        .replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def _markdown(d: AssessmentDiff) -> str:
    worse = len(d.worse)
    icon = ":red_circle:" if worse else ":white_check_mark:"
    out = ["## Assay: compliance changes", "", f"{icon} **{_headline(d)}**", ""]
    out += ["| Workflow | Before | After | Unchanged controls |", "| --- | --- | --- | ---: |"]
    for w in d.workflows:
        after = _status(w.new_verdict)
        if w.verdict_changed:
            after = f"**{after}**"
        out.append(f"| `{_md(w.workflow)}` | {_status(w.old_verdict)} | {after} | {w.unchanged} |")
    for kind in KINDS:
        items = d.of_kind(kind)
        if not items:
            continue
        out += ["", f"### {_HEADINGS[kind]} ({len(items)})", ""]
        out += ["| Workflow | Control | Before | After | Severity | Summary |"]
        out += ["| --- | --- | --- | --- | --- | --- |"]
        for c in items:
            out.append(
                f"| `{_md(c.workflow)}` | `{_md(c.control)}` {_md(c.title)} | {_status(c.old)} "
                f"| {_status(c.new)} | {c.severity} | {_md(c.summary)} |"
            )
    return "\n".join(out) + "\n"
