"""The renderers of `assay diff`: text for a terminal, Markdown for a pull-request comment.

Pure: an :class:`~assay.models.diff.AssessmentDiff` in, a string out; the CLI does the I/O.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from ..models.diff import KINDS, AssessmentDiff, ChangeKind


class DiffFormat(StrEnum):
    """The formats of ``assay diff --format`` (values feed ``click.Choice``)."""

    TEXT = "text"
    MARKDOWN = "markdown"


class DiffFormatter(Protocol):
    """Render a diff as text; pure and deterministic."""

    def __call__(self, diff: AssessmentDiff, /) -> str: ...


HEADINGS: dict[ChangeKind, str] = {
    "newly_failing": "Newly failing",
    "added": "Added controls",
    "changed": "Changed status",
    "newly_passing": "Newly passing",
    "removed": "Removed controls",
}


def _status(value: str | None) -> str:
    return value if value is not None else "absent"


def headline(d: AssessmentDiff) -> str:
    """One sentence: how many controls got worse (and better), or that none changed."""
    worse = len(d.worse)
    better = len(d.newly_passing)
    if not d.changes:
        return "No control changed status."
    noun = "control" if worse == 1 else "controls"
    text = f"This change made {worse} {noun} worse"
    text += f" and {better} better." if better else "."
    return text


def diff_text(d: AssessmentDiff) -> str:
    """Per workflow: the verdict change and the changed controls, worst kind first."""
    out = [headline(d)]
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
            out.append(f"  {HEADINGS[kind]} ({len(items)}):")
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


def diff_markdown(d: AssessmentDiff) -> str:
    """A pull-request comment: the headline, a table of workflows, a table per kind."""
    worse = len(d.worse)
    icon = ":red_circle:" if worse else ":white_check_mark:"
    out = ["## Assay: compliance changes", "", f"{icon} **{headline(d)}**", ""]
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
        out += ["", f"### {HEADINGS[kind]} ({len(items)})", ""]
        out += ["| Workflow | Control | Before | After | Severity | Summary |"]
        out += ["| --- | --- | --- | --- | --- | --- |"]
        for c in items:
            out.append(
                f"| `{_md(c.workflow)}` | `{_md(c.control)}` {_md(c.title)} | {_status(c.old)} "
                f"| {_status(c.new)} | {c.severity} | {_md(c.summary)} |"
            )
    return "\n".join(out) + "\n"


DIFF_FORMATTERS: dict[DiffFormat, DiffFormatter] = {
    DiffFormat.TEXT: diff_text,
    DiffFormat.MARKDOWN: diff_markdown,
}
