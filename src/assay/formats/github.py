"""GitHub Actions workflow commands: annotations on the files the evidence lives in.

One ``::error`` per failing finding (``::warning`` when the control is waived; an expired
waiver is an error), at the evidence record's ``file`` and ``line``, or at the control in
its policy file when the finding has no evidence; then one ``::notice::`` with the verdict.
Values are escaped as the Actions runner expects (``%``, CR, LF; in properties also ``:``
and ``,``).
"""

from __future__ import annotations

from collections.abc import Sequence

from assay.models.assessment import Assessment, ControlResult, fleet_verdict

from ._common import (
    counts_sentence,
    failing_findings,
    one_line,
    ordered_assessments,
    ordered_controls,
    pointer_text,
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


def format_github(assessments: Sequence[Assessment], *, path_prefix: str = "") -> str:
    """Render assessments as GitHub Actions annotations and a final verdict notice.

    Paths in assessments are relative to the project; GitHub wants them relative to the
    repository. ``path_prefix`` (e.g. ``compliance/`` when the project lives there) joins
    the two; the CLI passes the project folder relative to where it runs.
    """
    ordered = ordered_assessments(assessments)
    lines = [
        line
        for assessment in ordered
        for control in ordered_controls(assessment)
        if control.status not in ("pass", "not_applicable")
        for line in _annotations(assessment, control, path_prefix)
    ]
    verdicts = [
        f"{a.workflow.id}{' ' + a.release if a.release else ''}: {verdict_word(a)} "
        f"({counts_sentence(a)})"
        for a in ordered
    ]
    overall = fleet_verdict(assessments).value
    title = f"Assay gate: {overall}"
    lines.append(command("notice", "\n".join(verdicts) or "no workflows assessed", title=title))
    return "\n".join(lines) + "\n"


def _annotations(assessment: Assessment, control: ControlResult, prefix: str) -> list[str]:
    name = "warning" if control.status == "waived" else "error"
    title = f"{control.id} {one_line(control.title)} ({control.status}, {assessment.workflow.id})"
    context = [control.summary]
    if control.blocked_by:
        context.append(f"Blocked by: {', '.join(sorted(control.blocked_by))}")
    context.extend(waiver_sentence(w) for w in sorted(control.waivers, key=lambda w: w.id))
    policy = control.policy
    findings = failing_findings(control)
    if not findings:
        message = "\n".join([*context, f"Remediation: {control.remediation}"])
        return [
            command(
                name,
                message,
                file=repository_path(prefix, policy.file),
                line=policy.line,
                title=title,
            )
        ]
    lines = []
    for check_id, finding in findings:
        pointers = sorted(finding.evidence, key=lambda p: (p.file, p.line or 0, p.pointer))
        others = [pointer_text(p) for p in pointers[1:]]
        extra = [f"Also: {', '.join(others)}"] if others else []
        message = "\n".join([f"{check_id}: {finding.message}", *extra, *context])
        if pointers:
            file, line = pointers[0].file, pointers[0].line
        else:
            file, line = policy.file, policy.line
        lines.append(
            command(name, message, file=repository_path(prefix, file), line=line, title=title)
        )
    return lines
