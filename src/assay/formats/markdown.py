"""GitHub-flavoured Markdown for a pull-request comment or a job summary.

A verdict heading, a table of counts per workflow, then per workflow a table of controls
(worst first), a collapsible ``<details>`` with the failing findings and their evidence
pointers for every control that did not pass, and the waivers with their expiry. Text that
users wrote is escaped: HTML-significant characters become entities and Markdown
punctuation (``|``, ``*``, ``_``, backticks...) is backslash-escaped, so a message can
neither break a table nor inject markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from assay.models.assessment import STATUSES, Assessment, ControlResult, Verdict, fleet_verdict
from assay.models.time import timestamp

from ._common import (
    failing_findings,
    ordered_assessments,
    ordered_controls,
    pointer_text,
)

_MD_PUNCT = re.compile(r"([\\`*_\[\]|~])")
_COLUMNS = {s: s.replace("not_applicable", "n/a") for s in STATUSES}


def escape(text: str) -> str:
    """Escape user text for Markdown: HTML entities, then Markdown punctuation; line breaks
    become ``<br>`` so a value stays in its table cell."""
    escaped = _MD_PUNCT.sub(r"\\\1", html.escape(text, quote=False))
    return "<br>".join(line.strip() for line in escaped.splitlines()) or escaped


def _verdict(compliant: bool) -> str:
    return "✅ Compliant" if compliant else "❌ Non-compliant"


def format_markdown(assessments: Sequence[Assessment]) -> str:
    """Render assessments as a Markdown report."""
    ordered = ordered_assessments(assessments)
    out = [f"## Assay gate: {_verdict(fleet_verdict(assessments) is Verdict.COMPLIANT)}", ""]
    out.append(
        "| Workflow | Risk class | Release | As of | Verdict | "
        + " | ".join(_COLUMNS.values())
        + " |"
    )
    out.append("|---|---|---|---|---|" + "---:|" * len(_COLUMNS))
    for a in ordered:
        counts = dict.fromkeys(STATUSES, 0)
        for control in a.controls:
            counts[control.status] += 1
        cells = [
            f"`{a.workflow.id}`",
            escape(a.risk_class.title),
            escape(a.release) if a.release else "–",
            timestamp(a.as_of),
            _verdict(a.compliant),
            *(str(counts[s]) for s in _COLUMNS),
        ]
        out.append("| " + " | ".join(cells) + " |")
    for a in ordered:
        out.extend(["", *_workflow(a)])
    return "\n".join(out) + "\n"


def _workflow(a: Assessment) -> list[str]:
    wf = a.workflow
    hc = a.hypercare
    hypercare = f"hypercare until {timestamp(hc.ends)}" if hc.active else "hypercare over"
    out = [
        f"### {_verdict(a.compliant)}: `{wf.id}` {escape(wf.name)}",
        "",
        f"Risk class **{escape(a.risk_class.title)}** (`{a.risk_class.id}`) · release "
        f"{escape(a.release) if a.release else '–'} · as of {timestamp(a.as_of)} · {hypercare}"
        f" · owner {escape(wf.owner)}",
    ]
    if a.prohibited_reason:
        out.extend(["", f"**Prohibited:** {escape(a.prohibited_reason)}"])
    controls = ordered_controls(a)
    if not controls:
        return [*out, "", "_No controls._"]
    out.extend(["", "| Status | Control | Title | Summary |", "|---|---|---|---|"])
    out.extend(
        f"| **{c.status.replace('_', ' ')}** | `{c.id}` | {escape(c.title)} | {escape(c.summary)} |"
        for c in controls
    )
    for control in controls:
        if control.status not in ("pass", "not_applicable"):
            out.extend(["", *_details(control)])
    waivers = sorted(
        ((c.id, w) for c in controls for w in c.waivers), key=lambda pair: (pair[0], pair[1].id)
    )
    if waivers:
        out.extend(["", "#### Waivers", ""])
        out.append("| Waiver | Control | State | Expires | Approved by | Reason |")
        out.append("|---|---|---|---|---|---|")
        for control_id, w in waivers:
            state = w.state.replace("_", " ")
            if w.state != "active":
                state = f"**{state}** (does not apply)"
            out.append(
                f"| {escape(w.id)} | `{control_id}` | {state} | {timestamp(w.expires_at)} | "
                f"{escape(w.approved_by)} | {escape(w.reason)} |"
            )
    return out


def _details(control: ControlResult) -> list[str]:
    out = [
        "<details>",
        f"<summary><b>{control.status.replace('_', ' ')}</b> <code>{control.id}</code> "
        f"{html.escape(control.title)}</summary>",
        "",
        escape(control.summary),
    ]
    if control.blocked_by:
        blockers = ", ".join(f"`{b}`" for b in sorted(control.blocked_by))
        out.extend(["", f"Blocked by: {blockers}"])
    items: list[str] = []
    for check_id, finding in failing_findings(control):
        where = ", ".join(escape(pointer_text(p)) for p in finding.evidence)
        items.append(
            f"- `{check_id}`: {escape(finding.message)}" + (f" — {where}" if where else "")
        )
    omitted = sum(c.omitted for c in control.checks)
    if omitted:
        items.append(f"- … {omitted} more findings not shown")
    for w in sorted(control.waivers, key=lambda w: w.id):
        applies = "applies" if w.state == "active" else "does not apply"
        items.append(
            f"- Waiver {escape(w.id)} ({w.state.replace('_', ' ')}, {applies}), expires "
            f"{timestamp(w.expires_at)}: {escape(w.reason)}"
        )
    if items:
        out.extend(["", *items])
    if control.status != "waived":
        out.extend(["", f"**Remediation:** {escape(control.remediation)}"])
    out.extend(["", "</details>"])
    return out
