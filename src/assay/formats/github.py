"""GitHub Actions workflow commands: annotations on the files the evidence lives in.

One ``::error`` per failing finding (``::warning`` when the control is waived; an expired
waiver is an error), at the evidence record's ``file`` and ``line``, or at the control in
its policy file when the finding has no evidence; then one ``::notice::`` with the verdict.
Values are escaped as the Actions runner expects (``%``, CR, LF; in properties also ``:``
and ``,``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assay.models.assessment import Assessment, ControlResult, fleet_verdict

from ._common import (
    counts_sentence,
    failing_findings,
    one_line,
    ordered_assessments,
    ordered_controls,
    pointer_text,
    printable,
    repository_path,
    verdict_word,
    waiver_sentence,
)


def escape_data(value: str) -> str:
    """Escape a command's message (after ``::``)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a command property value (``file=``, ``title=``...)."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int | None) -> str:
    """One workflow command line, properties in the given order, empty ones left out."""
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None and value != ""
    )
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


PER_STEP = 10
"""Annotations of one kind (error, warning, notice) GitHub shows per step; it also shows at
most 50 per job, which one gate step (10 + 10 + 1) stays within."""
MAX_VERDICTS = 20
"""Workflows the verdict notice lists one by one."""
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_STATUS_RANK = {"fail": 0, "error": 1, "blocked": 2, "waived": 3}


@dataclass(frozen=True)
class _Annotation:
    kind: str
    """``error`` or ``warning``."""
    rank: tuple[int, int, str, str, int]
    """Most important first: severity, status, workflow, control, finding."""
    command: str
    plain: str
    """The same in one plain log line, for an annotation GitHub would not show."""


def format_github(assessments: Sequence[Assessment], *, path_prefix: str = "") -> str:
    """Render assessments as GitHub Actions annotations and a final verdict notice.

    Paths in assessments are relative to the project; GitHub wants them relative to the
    repository. ``path_prefix`` (e.g. ``compliance/`` when the project lives there) joins
    the two; the CLI passes the project folder inside its repository.

    GitHub shows only :data:`PER_STEP` annotations of each kind per step and drops the rest
    silently, so at most that many of each are written, the most severe first; the others
    go to the log as plain lines inside a collapsed group, and the verdict notice says how
    many were not shown.
    """
    ordered = ordered_assessments(assessments)
    found = sorted(
        (
            note
            for assessment in ordered
            for control in ordered_controls(assessment)
            if control.status not in ("pass", "not_applicable")
            for note in _annotations(assessment, control, path_prefix)
        ),
        key=lambda note: note.rank,
    )
    shown: list[_Annotation] = []
    hidden: list[_Annotation] = []
    for note in found:
        same = sum(1 for other in shown if other.kind == note.kind)
        (shown if same < PER_STEP else hidden).append(note)
    lines = [note.command for note in shown]
    if hidden:
        lines.append(f"::group::Assay: {len(hidden)} more findings (not shown as annotations)")
        lines.extend(note.plain for note in hidden)
        lines.append("::endgroup::")
    # The worst first, and not hundreds of lines in one annotation: the rest are counted.
    worst_first = sorted(ordered, key=lambda a: a.compliant)
    verdicts = [
        f"{a.workflow.id}{' ' + a.release if a.release else ''}: {verdict_word(a)} "
        f"({counts_sentence(a)})"
        for a in worst_first[:MAX_VERDICTS]
    ]
    rest = worst_first[MAX_VERDICTS:]
    if rest:
        bad = sum(1 for a in rest if not a.compliant)
        verdicts.append(f"… and {len(rest)} more workflows ({bad} not compliant)")
    if hidden:
        counts = []
        for kind in ("error", "warning"):
            total = sum(1 for n in found if n.kind == kind)
            if total > PER_STEP:
                counts.append(f"{total - PER_STEP} of {total} {kind}s")
        verdicts.append(
            f"Not shown as annotations: {' and '.join(counts)} (GitHub shows {PER_STEP} of "
            "each per step); they are in the log, in the group of more findings."
        )
    overall = fleet_verdict(assessments).value
    title = f"Assay gate: {overall}"
    lines.append(command("notice", "\n".join(verdicts) or "no workflows assessed", title=title))
    return "\n".join(lines) + "\n"


def _annotations(assessment: Assessment, control: ControlResult, prefix: str) -> list[_Annotation]:
    name = "warning" if control.status == "waived" else "error"
    title = f"{control.id} {one_line(control.title)} ({control.status}, {assessment.workflow.id})"
    context = [control.summary]
    if control.blocked_by:
        context.append(f"Blocked by: {', '.join(sorted(control.blocked_by))}")
    context.extend(waiver_sentence(w) for w in sorted(control.waivers, key=lambda w: w.id))
    policy = control.policy
    findings = failing_findings(control)
    rank = (
        _SEVERITY_RANK.get(control.severity, len(_SEVERITY_RANK)),
        _STATUS_RANK.get(control.status, len(_STATUS_RANK)),
        assessment.workflow.id,
        control.id,
    )

    def note(index: int, message: str, file: str, line: int | None) -> _Annotation:
        path = repository_path(prefix, file)
        where = f"{path}:{line}" if line is not None else path
        return _Annotation(
            name,
            (*rank, index),
            command(name, message, file=path, line=line, title=title),
            f"{name}: {printable(where)}: {one_line(title)}: {one_line(message)}",
        )

    if not findings:
        message = "\n".join([*context, f"Remediation: {control.remediation}"])
        return [note(0, message, policy.file, policy.line)]
    notes = []
    for index, (check_id, finding) in enumerate(findings):
        pointers = sorted(finding.evidence, key=lambda p: (p.file, p.line or 0, p.pointer))
        others = [pointer_text(p) for p in pointers[1:]]
        extra = [f"Also: {', '.join(others)}"] if others else []
        message = "\n".join([f"{check_id}: {finding.message}", *extra, *context])
        if pointers:
            file, line = pointers[0].file, pointers[0].line
        else:
            file, line = policy.file, policy.line
        notes.append(note(index, message, file, line))
    return notes
