"""`assay waivers`: every waiver of the fleet, as it stands at a time.

Each waiver gets one state, from :func:`assay.resolve.waiver_state` (the same function the
gate uses, so this list and the gate never disagree), refined for the report: an active
waiver that expires within the horizon (default 30 days) is ``expiring_soon``. The result
is a :class:`~assay.models.waivers.WaiverReport` (the states are told there), sorted by
state, then expiry, workflow, control and id; :mod:`assay.formats.waivers` renders it.
Listing is not a verdict: the CLI exits 0.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..errors import UsageError
from ..load.project import Project
from ..models.waivers import ReportState, WaiverEntry, WaiverReport
from ..resolve import waiver_state

DEFAULT_HORIZON = timedelta(days=30)
"""Active waivers expiring within this span are "expiring soon"."""


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
