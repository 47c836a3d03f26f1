"""GitHub-flavoured Markdown for a pull-request comment or a job summary.

A verdict heading, a table of counts per workflow (failures first), then a section per
workflow that is not compliant or has waivers: a table of the controls that did not pass,
the ones that did collapsed into one ``<details>``, a collapsible ``<details>`` with the
failing findings (at most :data:`MAX_FINDINGS` per check), their evidence pointers and the
CEL behind them for every control that did not pass, and the waivers with their expiry.
Sections stop at :data:`SUMMARY_BUDGET` bytes, so that a fleet's summary stays far below
GitHub's 1 MiB job-summary limit; the workflows left out are named. Text that
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
    FAILING_OUTCOMES,
    one_line,
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


SUMMARY_BUDGET = 512 * 1024
"""Bytes the whole report may take: half of the 1 MiB GitHub accepts as a job summary.
The overview table takes at most half of it, the workflow sections the rest; what does
not fit (the least bad workflows: they come last) is counted and named, never cut
mid-table."""
MAX_FINDINGS = 3
"""Failing findings listed per check; the JSON and SARIF reports hold all of them."""
MAX_NAMES = 50
"""Workflows named in the note about those left out."""


def format_markdown(assessments: Sequence[Assessment], *, max_bytes: int = SUMMARY_BUDGET) -> str:
    """Render assessments as a Markdown report of at most about ``max_bytes``: the
    overview table, then a section per workflow that is not compliant or has waivers
    (failures first), then how to fix each failing control; what passed is collapsed into
    one ``<details>`` per workflow."""
    ordered = _failures_first(assessments)
    overall = fleet_verdict(assessments)
    failing = [a for a in ordered if not a.compliant]
    head = [f"## Assay gate: {_verdict_of(overall)}", ""]
    if len(ordered) > 1:
        verb = "is" if len(failing) == 1 else "are"
        head.extend([f"{len(failing)} of {len(ordered)} workflows {verb} not compliant.", ""])
    head.append(
        "| Workflow | Risk class | Release | As of | Verdict | "
        + " | ".join(_COLUMNS.values())
        + " |"
    )
    head.append("|---|---|---|---|---|" + "---:|" * len(_COLUMNS))
    budget = _Budget(max_bytes)
    budget.take(head)
    rows_left = [a for a in ordered if not budget.take([_overview_row(a)], limit=max_bytes // 2)]
    table_note: list[str] = []
    if rows_left:
        bad = sum(1 for a in rows_left if not a.compliant)
        table_note = [
            "",
            f"_… and {len(rows_left)} more workflow{'s' if len(rows_left) != 1 else ''} "
            f"({bad} not compliant), left out of this table for size; the json format lists "
            "every one._",
        ]
        budget.take(table_note)
    # A compliant workflow without waivers is all in its overview row, unless it is alone.
    sectioned = [
        a
        for a in ordered
        if len(ordered) == 1 or not a.compliant or any(c.status == "waived" for c in a.controls)
    ]
    # The remediation of every section is kept back first: it is short (once per control).
    budget.take(_remediation(sectioned))
    budget.take([""] * 2 + ["x" * (40 * MAX_NAMES + 300)])  # the note about those left out
    sections: list[str] = []
    shown: list[Assessment] = []
    left_out: list[str] = []
    for a in sectioned:
        lines = ["", *_workflow(a)]
        if left_out or not budget.take(lines):
            left_out.append(a.workflow.id)
            continue
        shown.append(a)
        sections.extend(lines)
    out = [*head, *budget.rows, *table_note, *sections, *_remediation(shown)]
    if left_out:
        names = ", ".join(f"`{name}`" for name in left_out[:MAX_NAMES])
        if len(left_out) > MAX_NAMES:
            names += f" and {len(left_out) - MAX_NAMES} more"
        out.extend(
            [
                "",
                f"_The sections of {len(left_out)} more workflow"
                f"{'s' if len(left_out) != 1 else ''} are left out to keep this summary "
                f"far below GitHub's 1 MiB limit: {names}. The json and sarif formats hold "
                "everything._",
            ]
        )
    return "\n".join(out) + "\n"


class _Budget:
    """Bytes left of the report; overview rows taken are kept in ``rows``."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        self.rows: list[str] = []

    def take(self, lines: list[str], *, limit: int | None = None) -> bool:
        size = sum(len(line.encode()) + 1 for line in lines)
        if self.used + size > (self.limit if limit is None else limit):
            return False
        self.used += size
        if limit is not None:
            self.rows.extend(lines)
        return True


def _overview_row(a: Assessment) -> str:
    counts = dict.fromkeys(STATUSES, 0)
    for control in a.controls:
        counts[control.status] += 1
    cells = [
        f"`{a.workflow.id}`",
        escape(a.risk_class.title),
        escape(a.release) if a.release else "–",
        timestamp(a.as_of),
        _verdict_of(a.verdict),
        *(str(counts[s]) for s in _COLUMNS),
    ]
    return "| " + " | ".join(cells) + " |"


def _failures_first(assessments: Sequence[Assessment]) -> list[Assessment]:
    rank = {verdict: -index for index, verdict in enumerate(Verdict)}
    return sorted(ordered_assessments(assessments), key=lambda a: rank[a.verdict])


def _verdict_of(verdict: Verdict) -> str:
    if verdict is Verdict.PROHIBITED:
        return "⛔ Prohibited"
    return _verdict(verdict is Verdict.COMPLIANT)


def _workflow(a: Assessment) -> list[str]:
    wf = a.workflow
    hc = a.hypercare
    hypercare = f"hypercare until {timestamp(hc.ends)}" if hc.active else "hypercare over"
    out = [
        f"### {_verdict_of(a.verdict)}: `{wf.id}` {escape(wf.name)}",
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
    shown = [c for c in controls if c.status not in ("pass", "not_applicable")]
    if shown:
        out.extend(["", "| Status | Control | Title | Summary |", "|---|---|---|---|"])
        out.extend(
            f"| **{c.status.replace('_', ' ')}** | `{c.id}` | {escape(c.title)} | "
            f"{escape(c.summary)} |"
            for c in shown
        )
    out.extend(["", *_passes(controls)])
    for control in shown:
        if control.status != "blocked" or _own_failures(control):
            # A control blocked by others and nothing else: its row says all there is.
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


def _passes(controls: list[ControlResult]) -> list[str]:
    """The controls that passed or do not apply, collapsed: ids only, with their summary a
    click away in the JSON report."""
    passed = [c for c in controls if c.status == "pass"]
    na = [c for c in controls if c.status == "not_applicable"]
    if not passed and not na:
        return []
    parts = []
    if passed:
        parts.append(f"{len(passed)} control{'s pass' if len(passed) != 1 else ' passes'}")
    if na:
        parts.append(f"{len(na)} {'does' if len(na) == 1 else 'do'} not apply")
    body = []
    if passed:
        body.append("Pass: " + ", ".join(f"`{c.id}`" for c in passed))
    if na:
        body.append("Not applicable: " + ", ".join(f"`{c.id}`" for c in na))
    return [
        "<details>",
        f"<summary>{', '.join(parts)}</summary>",
        "",
        "<br>".join(body),
        "",
        "</details>",
    ]


def _own_failures(control: ControlResult) -> bool:
    return any(f.outcome in FAILING_OUTCOMES for c in control.checks for f in c.findings)


def _details(control: ControlResult) -> list[str]:
    out = [
        "<details>",
        f"<summary><b>{control.status.replace('_', ' ')}</b> <code>{control.id}</code> "
        f"{html.escape(control.title)}</summary>",
    ]
    if control.blocked_by:
        blockers = ", ".join(f"`{b}`" for b in sorted(control.blocked_by))
        out.extend(["", f"Blocked by: {blockers}"])
    items: list[str] = []
    omitted = sum(c.omitted for c in control.checks)
    for check in control.checks:
        failing = [f for f in check.findings if f.outcome in FAILING_OUTCOMES]
        previous: str | None = None
        for finding in failing[:MAX_FINDINGS]:
            where = ", ".join(escape(pointer_text(p)) for p in finding.evidence)
            items.append(
                f"- `{check.id}`: {escape(finding.message)}" + (f" — {where}" if where else "")
            )
            if finding.condition and finding.condition != previous:
                items.append(
                    f"  <br><sub>condition: <code>{html.escape(one_line(finding.condition))}</code></sub>"
                )
            previous = finding.condition
        omitted += max(0, len(failing) - MAX_FINDINGS)
    if omitted:
        items.append(f"- … {omitted} more findings not shown (the json format lists them)")
    for w in sorted(control.waivers, key=lambda w: w.id):
        applies = "applies" if w.state == "active" else "does not apply"
        items.append(
            f"- Waiver {escape(w.id)} ({w.state.replace('_', ' ')}, {applies}), expires "
            f"{timestamp(w.expires_at)}: {escape(w.reason)}"
        )
    if items:
        out.extend(["", *items])
    out.extend(["", "</details>"])
    return out


def _remediation(sections: Sequence[Assessment]) -> list[str]:
    """How to fix each control that fails somewhere, once: a fleet fails the same controls
    in many workflows, and the remediation is the control's, not the workflow's."""
    controls: dict[str, ControlResult] = {}
    for a in sections:
        for control in a.controls:
            if control.status in ("fail", "error") or (
                control.status == "blocked" and _own_failures(control)
            ):
                controls.setdefault(control.id, control)
    if not controls:
        return []
    out = ["", "### Remediation", ""]
    out.extend(
        f"- `{c.id}` {escape(c.title)}: {escape(c.remediation)}"
        for c in (controls[key] for key in sorted(controls))
    )
    return out
