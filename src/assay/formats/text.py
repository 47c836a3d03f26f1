"""Plain-text report for a person at a terminal.

Per workflow: a header (workflow, risk class, release, as-of, hypercare, VERDICT), one row
per control that did not pass (worst first, with its title), one wrapped line listing the
controls that passed or do not apply, then the details of every control that did not pass:
its failing findings with ``file:line`` evidence pointers, the CEL condition behind a
finding (for the curious), the root cause of a block, waivers with their expiry, the
remediation. Non-compliant workflows come first; a fleet ends with one verdict line.

Pure, like every formatter: the CLI decides the options (``color`` on a terminal that
wants it, ``width`` from the terminal, ``quiet`` from ``--quiet``). Every line fits in
``width`` except one that holds a single token longer than the room left (a long path or
id), which is never broken; evidence pointers (``at file:line``) are never wrapped, so a
terminal can still recognise them as paths.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Sequence

from assay.models.assessment import Assessment, ControlResult, Verdict, fleet_verdict
from assay.models.time import timestamp

from ._common import (
    FAILING,
    STATUS_LABEL,
    counts_sentence,
    one_line,
    ordered_assessments,
    ordered_controls,
    pointer_text,
    printable,
    verdict_word,
    waiver_sentence,
)

DEFAULT_WIDTH = 100
"""The width when the output is not a terminal (a file, a pipe, a CI log)."""
MIN_WIDTH = 40
"""Narrower than this, wrapping helps nobody: the text is laid out for this width."""

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
    "PROHIBITED": "\x1b[1;41;97m",
    "dim": "\x1b[2m",
    "bold": "\x1b[1m",
}
_RESET = "\x1b[0m"
_KEEP = "\x00"
"""Stands for a space wrapping must not break at (``30 h`` stays together). User text never
holds it: :func:`printable` has replaced every control character by then."""

Paint = Callable[[str, str], str]


def format_text(
    assessments: Sequence[Assessment],
    *,
    color: bool = False,
    width: int = DEFAULT_WIDTH,
    quiet: bool = False,
) -> str:
    """Render assessments as a text report wrapped to ``width`` (ANSI colours only when
    ``color``); ``quiet`` leaves out compliant workflows and every control that does not
    fail, so only what blocks the release is left."""
    layout = _Layout(max(width, MIN_WIDTH), _painter(color))
    ordered = _failures_first(assessments)
    if quiet:
        blocks = [layout.quiet_block(a) for a in ordered if not a.compliant]
    else:
        blocks = [layout.workflow_block(a) for a in ordered]
    if len(assessments) != 1:
        blocks.append(layout.fleet_line(ordered))
    elif quiet and assessments[0].compliant:
        blocks.append(layout.verdict_line(assessments[0]))
    return "\n".join(blocks)


def _failures_first(assessments: Sequence[Assessment]) -> list[Assessment]:
    """Worst verdict first (prohibited, non-compliant, compliant), then by id and release."""
    rank = {verdict: -index for index, verdict in enumerate(Verdict)}
    return sorted(ordered_assessments(assessments), key=lambda a: rank[a.verdict])


def _painter(color: bool) -> Paint:
    def paint(text: str, key: str) -> str:
        code = _ANSI.get(key)
        return f"{code}{text}{_RESET}" if color and code and text else text

    return paint


_MOMENT = re.compile(r"\b([0-9]{4}-[0-9]{2}-[0-9]{2}) ([0-9]{2}:[0-9]{2}) UTC\b")


def _keep_units(text: str) -> str:
    """Glue a number to the short unit after it (``30 h``, ``5 %``, ``12 days``) and the
    parts of a moment (``2026-11-13 11:00 UTC``) to each other, so that a line never ends
    in a bare number whose unit starts the next one."""
    text = _MOMENT.sub(lambda m: f"{m[1]}{_KEEP}{m[2]}{_KEEP}UTC", text)
    words = text.split(" ")
    out: list[str] = []
    for word in words:
        if out and out[-1][-1:].isdigit() and _is_unit(word):
            out[-1] += _KEEP + word
        else:
            out.append(word)
    return " ".join(out)


def _is_unit(word: str) -> bool:
    bare = word.rstrip(".,;:)")
    return bare in {"%", "h", "m", "s", "ms", "d", "w"} or bare.rstrip("s") in {
        "day",
        "hour",
        "minute",
        "week",
        "month",
        "year",
        "record",
        "item",
    }


class _Layout:
    def __init__(self, width: int, paint: Paint):
        self.width = width
        self.paint = paint

    # -- wrapping ----------------------------------------------------------------------
    def wrap(self, text: str, indent: int, hanging: int | None = None) -> list[str]:
        """``text`` (one paragraph) wrapped to the width: the first line indented by
        ``indent``, the others by ``hanging`` (default: the same). Never breaks a word."""
        rest = " " * (indent if hanging is None else hanging)
        wrapper = textwrap.TextWrapper(
            width=self.width,
            initial_indent=" " * indent,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines = wrapper.wrap(_keep_units(text)) or [" " * indent]
        return [line.replace(_KEEP, " ") for line in lines]

    def labelled(self, label: str, text: str, indent: int, key: str = "") -> list[str]:
        """``label text`` wrapped with the continuation lines indented two more; ``key``
        paints the whole paragraph."""
        lines = self.wrap(f"{label}{text}", indent, indent + 2)
        return [self.paint(line, key) for line in lines] if key else lines

    # -- one workflow -------------------------------------------------------------------
    def header(self, assessment: Assessment) -> list[str]:
        wf = assessment.workflow
        hc = assessment.hypercare
        if hc.active:
            hypercare = f"active until {timestamp(hc.ends)} (started {hc.started.isoformat()}"
            hypercare += f", {hc.extensions} extension{'s' if hc.extensions != 1 else ''})"
        else:
            hypercare = f"ended {timestamp(hc.ends)}"
        rc = assessment.risk_class
        first = self.wrap(f"{wf.id}  {one_line(wf.name)}", 0, 2)
        lines = [self.paint(first[0], "bold"), *first[1:]]
        rows = [
            ("risk class", f"{rc.id} ({one_line(rc.title)})"),
            ("release", assessment.release or "-"),
            ("as of", timestamp(assessment.as_of)),
            ("hypercare", hypercare),
        ]
        if assessment.prohibited_reason:
            rows.append(("prohibited", one_line(assessment.prohibited_reason)))
        for label, value in rows:
            lines.extend(self.wrap(f"{label:<10}  {printable(value)}", 2, 14))
        lines.extend(self.verdict(assessment, "VERDICT     ", 2, 14))
        return lines

    def verdict(self, assessment: Assessment, label: str, indent: int, hang: int) -> list[str]:
        word = verdict_word(assessment)
        if assessment.controls or assessment.verdict is not Verdict.PROHIBITED:
            text = f"{label}{word}: {counts_sentence(assessment)}"
        else:  # a prohibited class has no controls to count: the verdict is all there is
            text = f"{label}{word}"
        lines = self.wrap(text, indent, hang)
        start = indent + len(label)
        first = lines[0]
        lines[0] = first[:start] + self.paint(word, word) + first[start + len(word) :]
        return lines

    def workflow_block(self, assessment: Assessment) -> str:
        lines = self.header(assessment)
        controls = ordered_controls(assessment)
        if not controls:
            if assessment.verdict is not Verdict.PROHIBITED:
                lines.extend(["", "  (no controls)"])
            return "\n".join(lines) + "\n"
        shown = [c for c in controls if c.status not in ("pass", "not_applicable")]
        lines.append("")
        lines.extend(self.table(shown, controls))
        if shown:
            lines.extend(["", "  Details"])
            for control in shown:
                lines.append("")
                lines.extend(self.details(control))
        return "\n".join(lines) + "\n"

    def quiet_block(self, assessment: Assessment) -> str:
        label = f"{assessment.workflow.id}  "
        lines = self.verdict(assessment, label, 0, 2)
        lines[0] = (
            self.paint(assessment.workflow.id, "bold") + lines[0][len(assessment.workflow.id) :]
        )
        if assessment.prohibited_reason:
            lines.extend(self.labelled("prohibited: ", one_line(assessment.prohibited_reason), 2))
        for control in ordered_controls(assessment):
            if control.status in FAILING:
                lines.extend(self.details(control))
        return "\n".join(lines) + "\n"

    def verdict_line(self, assessment: Assessment) -> str:
        label = f"{assessment.workflow.id}  "
        return "\n".join(self.verdict(assessment, label, 0, 2)) + "\n"

    def fleet_line(self, assessments: Sequence[Assessment]) -> str:
        overall = fleet_verdict(assessments).value
        parts = [f"{len(assessments)} workflow{'s' if len(assessments) != 1 else ''}"]
        for verdict in (Verdict.NON_COMPLIANT, Verdict.PROHIBITED):
            ids = [a.workflow.id for a in assessments if a.verdict is verdict]
            if ids or verdict is Verdict.NON_COMPLIANT:
                named = f" ({', '.join(ids)})" if ids else ""
                parts.append(f"{len(ids)} {verdict.value.lower()}{named}")
        lines = self.wrap(f"{', '.join(parts)}: {overall}", 0, 2)
        last = lines[-1]
        lines[-1] = last[: len(last) - len(overall)] + self.paint(overall, overall)
        return "\n".join(lines) + "\n"

    # -- controls -----------------------------------------------------------------------
    def table(self, shown: list[ControlResult], controls: list[ControlResult]) -> list[str]:
        id_width = max(len("CONTROL"), *(len(c.id) for c in shown)) if shown else 0
        lines: list[str] = []
        if shown:
            column = 2 + STATUS_WIDTH + 2 + id_width + 2 + SEVERITY_WIDTH + 2
            # Too narrow for a title column: each title goes under its row instead.
            narrow = column + 20 > self.width
            header = f"{'STATUS':<{STATUS_WIDTH}}  {'CONTROL':<{id_width}}  SEVERITY"
            if not narrow:
                header = f"{header:<{column - 2}}TITLE"
            lines.extend(self.wrap(header, 2, 2))
            for control in shown:
                label = STATUS_LABEL[control.status]
                row = f"{label:<{STATUS_WIDTH}}  {control.id:<{id_width}}  "
                if narrow:
                    wrapped = self.wrap(row + control.severity, 2, 2 + STATUS_WIDTH + 2)
                    wrapped += self.wrap(one_line(control.title), 2 + STATUS_WIDTH + 2)
                else:
                    row += f"{control.severity:<{SEVERITY_WIDTH}}  {one_line(control.title)}"
                    wrapped = self.wrap(row, 2, column)
                wrapped[0] = "  " + self.paint(label, label) + wrapped[0][2 + len(label) :]
                lines.extend(wrapped)
        for status in ("pass", "not_applicable"):
            ids = [c.id for c in controls if c.status == status]
            if ids:
                label = STATUS_LABEL[status]
                noun = "control" if len(ids) == 1 else "controls"
                row = f"{label:<{STATUS_WIDTH}}  {len(ids)} {noun}: {', '.join(ids)}"
                wrapped = self.wrap(row, 2, 2 + STATUS_WIDTH + 2)
                wrapped[0] = "  " + self.paint(label, label) + wrapped[0][2 + len(label) :]
                lines.extend(wrapped)
        return lines

    def details(self, control: ControlResult) -> list[str]:
        label = STATUS_LABEL[control.status]
        lines = self.wrap(f"{label} {control.id}  {one_line(control.title)}", 2, 4)
        lines[0] = "  " + self.paint(label, label) + lines[0][2 + len(label) :]
        summary = one_line(control.summary)
        if control.blocked_by:
            lines.extend(self.labelled("blocked by: ", ", ".join(sorted(control.blocked_by)), 4))
        failing = [check for check in control.checks if check.status != "pass"]
        # The control's summary tells the whole story (how many checks fail, a waiver, why
        # it applies); said once, each check's own sentence is left out when it repeats it.
        said = bool(failing or not control.blocked_by) and (
            len(failing) != 1 or one_line(failing[0].summary) != summary
        )
        if said:
            lines.extend(self.wrap(summary, 4, 6))
        for check in failing:
            own = one_line(check.summary)
            if said and own in summary:
                lines.append(f"    check {check.id} ({check.status}):")
            else:
                lines.extend(self.labelled(f"check {check.id} ({check.status}): ", own, 4))
            previous: str | None = None
            for finding in check.findings:
                if finding.outcome not in ("fail", "error"):
                    continue
                message = printable(finding.message).splitlines() or [""]
                lines.extend(self.wrap(f"- {message[0]}", 6, 8))
                for extra in message[1:]:
                    lines.extend(self.wrap(extra, 8))
                lines.extend(f"        at {printable(pointer_text(p))}" for p in finding.evidence)
                if finding.condition and finding.condition != previous:
                    lines.extend(
                        self.labelled("condition: ", one_line(finding.condition), 8, "dim")
                    )
                previous = finding.condition
            if check.omitted:
                lines.append(f"      ({check.omitted} more findings not shown)")
        for waiver in sorted(control.waivers, key=lambda w: w.id):
            lines.extend(self.wrap(waiver_sentence(waiver), 4, 6))
        if control.status in FAILING:
            lines.extend(self.labelled("remediation: ", one_line(control.remediation), 4))
            policy = control.policy
            where = f"{policy.file}:{policy.line}" if policy.line is not None else policy.file
            lines.append(f"    policy: {printable(where)}")
        return lines
