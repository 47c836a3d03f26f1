"""What `assay waivers` lists: every waiver of the fleet with its state at a time.

A report is data: :func:`assay.authoring.waivers.waiver_report` computes it and the
formatters of :mod:`assay.formats.waivers` render it. The states, in the order a report
shows them (what needs attention first):

* ``invalid``: it breaks its class's waiver rules (duration, approvers, ticket);
* ``expired``: ``as_of`` is at or after its expiry; it applies nowhere;
* ``expiring_soon``: active, and it expires within the horizon;
* ``not_yet_valid``: approved after ``as_of``;
* ``active``: active beyond the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

ReportState = Literal["invalid", "expired", "expiring_soon", "not_yet_valid", "active"]
STATE_ORDER: tuple[ReportState, ...] = (
    "invalid",
    "expired",
    "expiring_soon",
    "not_yet_valid",
    "active",
)


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
        """State (in report order), then expiry, workflow, control and id."""
        return (
            STATE_ORDER.index(self.state),
            self.expires_at,
            self.workflow,
            self.control,
            self.id,
        )


@dataclass(frozen=True)
class WaiverReport:
    """The waivers of a project at ``as_of``, with the horizon used for "expiring soon"."""

    as_of: datetime
    horizon: timedelta
    entries: tuple[WaiverEntry, ...]

    def counts(self) -> dict[str, int]:
        """How many waivers are in each state, every state listed, in report order."""
        return {s: sum(1 for e in self.entries if e.state == s) for s in STATE_ORDER}
