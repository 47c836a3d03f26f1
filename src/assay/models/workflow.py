"""Workflows and waivers: what is assessed, and the accepted exceptions."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from .base import StrictModel
from .evidence import ID_PATTERN
from .policy import ControlId


class Workflow(StrictModel):
    """An AI workflow in production."""

    id: str = Field(pattern=ID_PATTERN, max_length=200)
    """Stable id; evidence records name it in their `workflow` field."""
    name: str = Field(min_length=1)
    """Human name."""
    owner: str = Field(min_length=1)
    """Accountable owner (person or team)."""
    risk_class: str
    """Id of the risk class, e.g. high."""
    launched: date
    """Launch date in production; starts the hypercare window."""
    eu_scope: bool = False
    """True when the EU AI Act applies; [EU] checks bind only then."""
    role: Literal["provider", "deployer"] = "provider"
    """Role under the EU AI Act."""
    metadata: dict[str, Any] = {}
    """Free-form metadata (team, repository, ...)."""


class Waiver(StrictModel):
    """An accepted, time-limited exception to one control for one workflow."""

    id: str = Field(pattern=ID_PATTERN)
    """Stable id of the waiver."""
    workflow: str
    """Workflow id the waiver applies to."""
    control: ControlId
    """Control id waived."""
    reason: str = Field(min_length=10)
    """Why the exception is accepted."""
    requested_by: str = Field(min_length=1)
    """Who asked for the waiver."""
    approved_by: str = Field(min_length=1)
    """Who approved it; must differ from the requester."""
    approved_at: AwareDatetime
    """When it was approved."""
    expires_at: AwareDatetime
    """When it stops applying; an expired waiver is the same as no waiver."""
    ticket: str | None = None
    """Reference of the risk-acceptance ticket."""

    # Four-eyes and the validity period are governance rules, not syntax: a waiver that
    # breaks them loads, is reported as invalid on its control and never applies
    # (see assay.resolve.waiver_problem), so one bad waiver fails its own workflow closed
    # instead of making the whole project un-gateable.
