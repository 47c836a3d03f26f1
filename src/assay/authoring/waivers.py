"""`assay waivers`: every waiver of the fleet, as it stands at a time.

Each waiver gets one state, from :func:`assay.resolve.waiver_state` (the same function the
gate uses, so this list and the gate never disagree), refined for the report:

* ``invalid``: it breaks its class's waiver rules (duration, approvers, ticket);
* ``expired``: ``as_of`` is at or after its expiry; it applies nowhere;
* ``not_yet_valid``: approved after ``as_of``;
* ``expiring_soon``: active, and it expires within the horizon (default 30 days);
* ``active``: active beyond the horizon.

Sorted by state (what needs attention first), then expiry, workflow, control and id.
Listing is not a verdict: the CLI exits 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from ..errors import UsageError
from ..formats._common import timestamp
from ..load.project import Project
from ..models.assessment import canonical_json
from ..resolve import waiver_state

ReportState = Literal["invalid", "expired", "expiring_soon", "not_yet_valid", "active"]
STATE_ORDER: tuple[ReportState, ...] = (
    "invalid",
    "expired",
    "expiring_soon",
    "not_yet_valid",
    "active",
)
DEFAULT_HORIZON = timedelta(days=30)


@dataclass(frozen=True)
class WaiverEntry:
    """One waiver as the report shows it."""

    id: str
    workflow: str
    control: str
    risk_class: str
    state: ReportState
    problem: str | None
    requested_by: str
    approved_by: str
    approved_at: datetime
    expires_at: datetime
    ticket: str | None
    reason: str
    file: str
    line: int | None
    days_left: int | None
    """Whole days until expiry for active and not-yet-valid waivers; None otherwise."""

    def sort_key(self) -> tuple[int, datetime, str, str, str]:
        return (
            STATE_ORDER.index(self.state),
            self.expires_at,
            self.workflow,
            self.control,
            self.id,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "workflow": self.workflow,
            "control": self.control,
            "risk_class": self.risk_class,
            "state": self.state,
            "problem": self.problem,
            "requested_by": self.requested_by,
            "approved_by": self.approved_by,
            "approved_at": timestamp(self.approved_at),
            "expires_at": timestamp(self.expires_at),
            "ticket": self.ticket,
            "reason": self.reason,
            "source": {"file": self.file, "line": self.line},
            "days_left": self.days_left,
        }


@dataclass(frozen=True)
class WaiverReport:
    """The waivers of a project at ``as_of``, with the horizon used for "expiring soon"."""

    as_of: datetime
    horizon: timedelta
    entries: tuple[WaiverEntry, ...]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for e in self.entries if e.state == s) for s in STATE_ORDER}


def waiver_report(
    project: Project, as_of: datetime, horizon: timedelta = DEFAULT_HORIZON
) -> WaiverReport:
    """Every waiver of ``project`` with its state at ``as_of``."""
    if horizon < timedelta(0):
        raise UsageError("--horizon must not be negative")
    entries: list[WaiverEntry] = []
    for waiver in project.waivers:
        ws = waiver_state(waiver, as_of, project)
        state: ReportState = ws.state
        days_left: int | None = None
        if ws.state in ("active", "not_yet_valid"):
            days_left = (waiver.expires_at - as_of) // timedelta(days=1)
        if ws.state == "active" and waiver.expires_at - as_of <= horizon:
            state = "expiring_soon"
        entries.append(
            WaiverEntry(
                id=waiver.id,
                workflow=waiver.workflow,
                control=waiver.control,
                risk_class=project.workflows[waiver.workflow].risk_class,
                state=state,
                problem=ws.problem,
                requested_by=waiver.requested_by,
                approved_by=waiver.approved_by,
                approved_at=waiver.approved_at,
                expires_at=waiver.expires_at,
                ticket=waiver.ticket,
                reason=" ".join(waiver.reason.split()),
                file=ws.source.file,
                line=ws.source.line,
                days_left=days_left,
            )
        )
    return WaiverReport(as_of, horizon, tuple(sorted(entries, key=WaiverEntry.sort_key)))


def _horizon_text(horizon: timedelta) -> str:
    days = horizon / timedelta(days=1)
    return f"{days:g} days"


def format_waiver_report(report: WaiverReport, fmt: str = "text") -> str:
    """Render the report as ``text`` or canonical ``json``."""
    if fmt == "json":
        data = {
            "as_of": timestamp(report.as_of),
            "horizon_days": report.horizon / timedelta(days=1),
            "counts": report.counts(),
            "waivers": [e.to_dict() for e in report.entries],
        }
        return canonical_json(data).decode()
    if fmt != "text":
        raise UsageError(f"unknown waivers format {fmt!r}; expected one of: text, json")
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
