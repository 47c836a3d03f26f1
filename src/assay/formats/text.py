"""Plain-text report for a person at a terminal.

Per workflow: a header (workflow, risk class, release, as-of, hypercare, VERDICT), one line
per control (worst first), then the details of every control that did not pass: its
failing findings with ``file:line`` evidence pointers, the root cause of a block, waivers
with their expiry. No colour unless asked for (``color=True`` adds ANSI codes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from assay.models.assessment import Assessment, ControlResult, fleet_verdict
from assay.models.time import timestamp

from ._common import (
    STATUS_LABEL,
    counts_sentence,
    failing_findings,
    one_line,
    ordered_assessments,
    ordered_controls,
    pointer_text,
    printable,
    verdict_word,
    waiver_sentence,
)

STATUS_WIDTH = max(len(label) for label in STATUS_LABEL.values())
SEVERITY_WIDTH = len("critical")
_ANSI = {
    "FAIL": "\x1b[31m",
    "ERROR": "\x1b[31m",
    "BLOCKED": "\x1b[35m",
    "WAIVED": "\x1b[33m",
    "PASS": "\x1b[32m",
    "N/A": "\x1b[2m",
    "COMPLIANT": "\x1b[1;32m",
    "NON-COMPLIANT": "\x1b[1;31m",
}
_RESET = "\x1b[0m"


def format_text(assessments: Sequence[Assessment], *, color: bool = False) -> str:
    """Render assessments as a fixed-width text report (ANSI colours only when ``color``)."""
    paint = _painter(color)
    blocks = [_workflow_block(a, paint) for a in ordered_assessments(assessments)]
    if len(assessments) != 1:
        failing = sum(1 for a in assessments if not a.compliant)
        overall = fleet_verdict(assessments).value
        blocks.append(
            f"{len(assessments)} workflows, {failing} non-compliant: {paint(overall, overall)}\n"
        )
    return "\n".join(blocks)


Paint = Callable[[str, str], str]


def _painter(color: bool) -> Paint:
    def paint(text: str, key: str) -> str:
        code = _ANSI.get(key)
        return f"{code}{text}{_RESET}" if color and code else text

    return paint


def _workflow_block(assessment: Assessment, paint: Paint) -> str:
    wf = assessment.workflow
    hc = assessment.hypercare
    if hc.active:
        hypercare = f"active until {timestamp(hc.ends)} (started {hc.started.isoformat()}"
        hypercare += f", {hc.extensions} extension{'s' if hc.extensions != 1 else ''})"
    else:
        hypercare = f"ended {timestamp(hc.ends)}"
    verdict = verdict_word(assessment)
    rc = assessment.risk_class
    lines = [
        f"{wf.id}  {one_line(wf.name)}",
        f"  risk class  {rc.id} ({one_line(rc.title)})",
        f"  release     {assessment.release or '-'}",
        f"  as of       {timestamp(assessment.as_of)}",
        f"  hypercare   {hypercare}",
    ]
    if assessment.prohibited_reason:
        lines.append(f"  prohibited  {one_line(assessment.prohibited_reason)}")
    lines.append(f"  VERDICT     {paint(verdict, verdict)} ({counts_sentence(assessment)})")
    controls = ordered_controls(assessment)
    if not controls:
        lines.extend(["", "  (no controls)"])
        return "\n".join(lines) + "\n"
    id_width = max(len("CONTROL"), *(len(c.id) for c in controls))
    lines.append("")
    lines.append(
        f"  {'STATUS':<{STATUS_WIDTH}}  {'CONTROL':<{id_width}}  "
        f"{'SEVERITY':<{SEVERITY_WIDTH}}  SUMMARY"
    )
    for control in controls:
        label = STATUS_LABEL[control.status]
        status = paint(f"{label:<{STATUS_WIDTH}}", label)
        lines.append(
            f"  {status}  {control.id:<{id_width}}  {control.severity:<{SEVERITY_WIDTH}}  "
            f"{one_line(control.summary)}"
        )
    details = [_details(c) for c in controls if c.status not in ("pass", "not_applicable")]
    if details:
        lines.append("")
        lines.append("  Details")
        for block in details:
            lines.extend(block)
    return "\n".join(lines) + "\n"


def _details(control: ControlResult) -> list[str]:
    lines = [f"  {STATUS_LABEL[control.status]} {control.id}  {one_line(control.title)}"]
    if control.blocked_by:
        lines.append(f"    blocked by: {', '.join(sorted(control.blocked_by))}")
    by_check = {check.id: check for check in control.checks}
    shown: set[str] = set()
    for check_id, finding in failing_findings(control):
        if check_id not in shown:
            shown.add(check_id)
            check = by_check[check_id]
            lines.append(f"    check {check_id} ({check.status}): {one_line(check.summary)}")
        message = printable(finding.message).splitlines() or [""]
        lines.append(f"      - {message[0]}")
        lines.extend(f"        {extra}" for extra in message[1:])
        lines.extend(f"        at {printable(pointer_text(p))}" for p in finding.evidence)
    for check in control.checks:
        if check.status != "pass" and check.id not in shown:
            lines.append(f"    check {check.id} ({check.status}): {one_line(check.summary)}")
        if check.omitted and check.status != "pass":
            lines.append(f"      ({check.omitted} more findings not shown)")
    lines.extend(f"    {waiver_sentence(w)}" for w in sorted(control.waivers, key=lambda w: w.id))
    if control.status in ("fail", "error", "blocked"):
        lines.append(f"    remediation: {one_line(control.remediation)}")
        policy = control.policy
        where = f"{policy.file}:{policy.line}" if policy.line is not None else policy.file
        lines.append(f"    policy: {where}")
    return lines
