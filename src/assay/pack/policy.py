"""The resolved policy embedded in a pack: the effective controls and their parameters
at the assessment's as-of time, from the resolver (the source of truth)."""

from __future__ import annotations

from typing import Any

from ..load.project import Project
from ..models.assessment import Assessment
from ..resolve import resolved_policy


def resolved_policy_for(assessment: Assessment, project: Project) -> dict[str, Any]:
    """The resolved policy of the assessed workflow at the assessment's as-of time."""
    return resolved_policy(project, assessment.workflow.id, assessment.as_of, assessment.release)
