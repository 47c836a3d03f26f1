"""The renderers of `assay waivers`: text grouped by state, or canonical JSON.

Pure: a :class:`~assay.models.waivers.WaiverReport` in, a string out; the CLI does the I/O.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from ..models.assessment import canonical_json
from ..models.time import timestamp
from ..models.waivers import STATE_ORDER, WaiverEntry, WaiverReport


class WaiversFormat(StrEnum):
    """The formats of ``assay waivers --format`` (values feed ``click.Choice``)."""

    TEXT = "text"
    JSON = "json"


class WaiversFormatter(Protocol):
    """Render a waiver report as text; pure and deterministic."""

    def __call__(self, report: WaiverReport, /) -> str: ...


def _entry_json(e: WaiverEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "workflow": e.workflow,
        "control": e.control,
        "risk_class": e.risk_class,
        "state": e.state,
        "problem": e.problem,
        "requested_by": e.requested_by,
        "approved_by": e.approved_by,
        "approved_at": timestamp(e.approved_at),
        "expires_at": timestamp(e.expires_at),
        "ticket": e.ticket,
        "reason": e.reason,
        "source": {"file": e.file, "line": e.line},
        "days_left": e.days_left,
    }


def waivers_json(report: WaiverReport) -> str:
    """The report as canonical JSON: as-of, horizon in days, counts per state, the waivers."""
    data = {
        "as_of": timestamp(report.as_of),
        "horizon_days": report.horizon / timedelta(days=1),
        "counts": report.counts(),
        "waivers": [_entry_json(e) for e in report.entries],
    }
    return canonical_json(data).decode()


def _horizon_text(horizon: timedelta) -> str:
    days = horizon / timedelta(days=1)
    return f"{days:g} days"


def waivers_text(report: WaiverReport) -> str:
    """A count line, then one block per non-empty state: each waiver in two or three lines."""
    counts = report.counts()
    out = [
        f"Waivers as of {timestamp(report.as_of)} "
        f"(expiring soon = within {_horizon_text(report.horizon)}): "
        + ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in STATE_ORDER)
    ]
    if not report.entries:
        out.append("No waivers.")
    for state in STATE_ORDER:
        items = [e for e in report.entries if e.state == state]
        if not items:
            continue
        out += ["", f"{state.replace('_', ' ').upper()} ({len(items)})"]
        for e in items:
            when = f"expires {timestamp(e.expires_at)}"
            if e.days_left is not None and e.state != "not_yet_valid":
                when += f" (in {e.days_left} days)"
            if e.state == "not_yet_valid":
                when = f"valid from {timestamp(e.approved_at)}, " + when
            out.append(f"  {e.id}  {e.workflow} / {e.control}  [{e.risk_class}]  {when}")
            ticket = f", ticket {e.ticket}" if e.ticket else ", no ticket"
            where = f"{e.file}:{e.line}" if e.line else e.file
            out.append(
                f"      requested by {e.requested_by}, approved by {e.approved_by}{ticket}  ({where})"
            )
            if e.problem:
                out.append(f"      problem: {e.problem}")
    return "\n".join(out) + "\n"


WAIVERS_FORMATTERS: dict[WaiversFormat, WaiversFormatter] = {
    WaiversFormat.TEXT: waivers_text,
    WaiversFormat.JSON: waivers_json,
}
