"""What `assay explain` tells about one control: what it requires, with which parameters
at which classes, and, for a workflow, its verdict with the findings behind it.

An explanation is data: :func:`assay.authoring.explain.explain_control` computes it from
the project (and an assessment), the formatters of :mod:`assay.formats.explain` render it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .assessment import ControlResult, SourcePointer
from .base import FrozenModel
from .policy import Mappings


class ExplainedCheck(FrozenModel):
    """One check of the control, as its catalog entry states it."""

    id: str
    kind: str
    evidence: str
    description: str


class ClassValue(FrozenModel):
    """The value a parameter takes at one risk class (after inheritance; no hypercare)."""

    risk_class: str
    value: Any
    """The JSON-able value, or the parameter's default when no class in the lineage sets it."""


class WorkflowValue(FrozenModel):
    """The value a parameter took in the assessment of the explained workflow."""

    workflow: str
    value: Any
    source: str
    """Where the value came from (class id, ``hypercare (...)``, ``default``), or ``?``."""


class ExplainedParam(FrozenModel):
    """A parameter of the control: what it means, and its values."""

    name: str
    description: str
    stricter: str
    by_class: list[ClassValue]
    """Its value at every class that requires the control, in catalog order."""
    for_workflow: WorkflowValue | None = None
    """Its value in the assessed workflow, when there is one and the control ran there."""


class ExplainedVerdict(FrozenModel):
    """The control in one assessment: its result, or why it was not required."""

    workflow: str
    as_of: datetime
    risk_class: str
    prohibited: bool
    """Whether the workflow's class is prohibited."""
    result: ControlResult | None
    """None when the workflow's class does not require the control."""
    after_as_of: int = 0
    """Evidence records of the workflow created after `as_of`, which the assessment did not
    see (an as-of replay sees the evidence as it stood then)."""


class Explanation(FrozenModel):
    """Everything `assay explain` shows about one control."""

    id: str
    title: str
    source: SourcePointer
    """Where the control is defined."""
    severity: str
    intent: str
    required_at: list[str]
    """The classes that require it (directly or by inheritance), in catalog order."""
    hypercare_at: list[str]
    """The classes that require it during hypercare."""
    requires: list[str]
    evidence: list[str]
    applies_if: str | None
    checks: list[ExplainedCheck]
    params: list[ExplainedParam]
    """By name."""
    mappings: Mappings
    remediation: str
    verdict: ExplainedVerdict | None = None
    """Present when the explanation is for a workflow."""
