"""Helpers shared by the formatters: stable ordering, timestamps, evidence pointers, waivers.

Every formatter orders its input the same way, so outputs are deterministic and a person
sees the worst news first: workflows by id, controls by status (fail, error, blocked,
waived, pass, not applicable) then id.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence

from assay.models.assessment import (
    STATUSES,
    Assessment,
    ControlResult,
    EvidencePointer,
    Finding,
    WaiverState,
)
from assay.models.time import timestamp

FAILING: frozenset[str] = frozenset({"fail", "error", "blocked"})
"""Statuses that make a workflow non-compliant."""

FAILING_OUTCOMES: frozenset[str] = frozenset({"fail", "error"})
"""Finding outcomes worth showing under a non-passing control."""

STATUS_LABEL: dict[str, str] = {
    "pass": "PASS",
    "fail": "FAIL",
    "error": "ERROR",
    "blocked": "BLOCKED",
    "waived": "WAIVED",
    "not_applicable": "N/A",
}


def ordered_assessments(assessments: Sequence[Assessment]) -> list[Assessment]:
    """Assessments in a stable order: workflow id, then release."""
    return sorted(assessments, key=lambda a: (a.workflow.id, a.release or ""))


def ordered_controls(assessment: Assessment) -> list[ControlResult]:
    """Controls, worst status first, then by id."""
    rank = {status: index for index, status in enumerate(STATUSES)}
    return sorted(assessment.controls, key=lambda c: (rank.get(c.status, len(rank)), c.id))


def pointer_text(pointer: EvidencePointer) -> str:
    """``file:line`` (or just the file when the record has no line)."""
    return f"{pointer.file}:{pointer.line}" if pointer.line is not None else pointer.file


def failing_findings(control: ControlResult) -> list[tuple[str, Finding]]:
    """(check id, finding) for every failed or errored finding of a control, in check order."""
    return [
        (check.id, finding)
        for check in control.checks
        for finding in check.findings
        if finding.outcome in FAILING_OUTCOMES
    ]


def evidence_of(findings: Iterable[Finding]) -> list[EvidencePointer]:
    """The distinct evidence pointers of some findings, sorted by file, line and pointer."""
    seen: dict[tuple[str, int, str], EvidencePointer] = {}
    for finding in findings:
        for pointer in finding.evidence:
            seen.setdefault((pointer.file, pointer.line or 0, pointer.pointer), pointer)
    return [seen[key] for key in sorted(seen)]


def active_waivers(control: ControlResult) -> list[WaiverState]:
    """The waivers that make a waived control waived (only for status ``waived``)."""
    if control.status != "waived":
        return []
    return sorted((w for w in control.waivers if w.state == "active"), key=lambda w: w.id)


def waiver_sentence(waiver: WaiverState) -> str:
    """One line about a waiver as it stood at the as-of time."""
    expiry = timestamp(waiver.expires_at)
    if waiver.state == "active":
        when = f"active until {expiry}"
    elif waiver.state == "expired":
        when = f"expired {expiry}, does not apply"
    elif waiver.state == "invalid":
        when = f"invalid ({waiver.problem}), does not apply"
    else:
        when = f"not yet valid (approved {timestamp(waiver.approved_at)}), does not apply"
    ticket = f", ticket {waiver.ticket}" if waiver.ticket else ""
    return (
        f"waiver {waiver.id} {when}: {one_line(waiver.reason)} "
        f"(requested by {waiver.requested_by}, approved by {waiver.approved_by}{ticket})"
    )


def counts_sentence(assessment: Assessment) -> str:
    """``2 fail, 1 error, 3 blocked (1 also fails its own checks), ...`` in status order,
    zero counts left out. A blocked control is counted once, as blocked; the note says how
    many of them would still fail once what blocks them is fixed."""
    counts = dict.fromkeys(STATUSES, 0)
    for control in assessment.controls:
        counts[control.status] = counts.get(control.status, 0) + 1
    parts = []
    for status, n in counts.items():
        if not n:
            continue
        part = f"{n} {status.replace('_', ' ')}"
        also = assessment.summary.blocked_failing if status == "blocked" else 0
        if also:
            verb = "fails" if also == 1 else "fail"
            part += f" ({'all' if also == n and n > 1 else also} also {verb} its own checks)"
        parts.append(part)
    return ", ".join(parts) if parts else "no controls"


def verdict_word(assessment: Assessment) -> str:
    return assessment.verdict.value


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Replace control characters (ANSI escapes included) so user text cannot drive a
    terminal; tabs and line breaks are kept."""
    return _CONTROL.sub("\ufffd", text)


def one_line(text: str) -> str:
    """Collapse line breaks so a value fits on one line of a table."""
    text = printable(text)
    return " ".join(part.strip() for part in text.splitlines() if part.strip()) or text.strip()


def repository_path(prefix: str, path: str) -> str:
    """A project-relative path made relative to the repository: ``prefix`` is the project
    folder inside the repository (the CLI works it out; ``""`` when it is the root)."""
    return posixpath.normpath(posixpath.join(prefix, path)) if prefix else path
