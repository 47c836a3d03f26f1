"""Workflows and waivers: what is assessed, and the accepted exceptions."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from .base import StrictModel
from .evidence import ID_PATTERN
from .policy import ControlId
from .time import Day, Instant


class WorkflowMetadata(BaseModel):
    """Free-form metadata (team, repository, ...), except the keys policies read, which are
    typed: a policy's `applies_if` must never be decided by a value of the wrong type
    (`decides_about_people: yes` is a string under YAML 1.2, and `"yes" == true` is false in
    CEL, which would make a control silently not applicable)."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    decides_about_people: bool = False
    """True when the workflow's output decides about people (PROD-HITL-01 then applies at C2)."""

    @model_serializer(mode="wrap")
    def _only_given(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Keys the author did not write stay absent, so CEL's has() means "was written".
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if key in self.given()}

    def given(self) -> set[str]:
        """The keys the author wrote (typed and free-form)."""
        return set(self.model_fields_set) | set(self.model_extra or {})

    def as_dict(self) -> dict[str, Any]:
        """The metadata as written, typed keys included only when given."""
        out = {name: getattr(self, name) for name in self.model_fields_set}
        out.update(self.model_extra or {})
        return out


TYPED_METADATA = frozenset(WorkflowMetadata.model_fields)
"""Metadata keys with a declared type (a policy may decide applicability on them)."""


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
    launched: Day
    """Launch date in production; starts the hypercare window."""
    eu_scope: bool = False
    """True when the EU AI Act applies; [EU] checks bind only then."""
    role: Literal["provider", "deployer"] = "provider"
    """Role under the EU AI Act."""
    metadata: WorkflowMetadata = WorkflowMetadata()
    """Free-form metadata (team, repository, ...); `decides_about_people` is a boolean."""


class Waiver(StrictModel):
    """An accepted, time-limited exception to one control for one workflow."""

    id: str = Field(pattern=ID_PATTERN, max_length=200)
    """Stable id of the waiver."""
    workflow: str
    """Workflow id the waiver applies to."""
    control: ControlId
    """Control id waived."""
    reason: str = Field(min_length=10)
    """Why the exception is accepted."""
    requested_by: str = Field(min_length=1, max_length=200)
    """Who asked for the waiver."""
    approved_by: str = Field(min_length=1, max_length=200)
    """Who approved it; must be another person than the requester (compared after Unicode
    NFKC case-folding; mixed-script or confusable identities are refused)."""
    approved_at: Instant
    """When it was approved."""
    expires_at: Instant
    """When it stops applying; an expired waiver is the same as no waiver."""
    ticket: str | None = None
    """Reference of the risk-acceptance ticket."""

    # Four-eyes and the validity period are governance rules, not syntax: a waiver that
    # breaks them loads, is reported as invalid on its control and never applies
    # (see assay.resolve.waiver_problem), so one bad waiver fails its own workflow closed
    # instead of making the whole project un-gateable. Identities are compared as people
    # read them (assay.models.identity).
