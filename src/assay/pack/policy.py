"""The resolved policy embedded in a pack: the effective controls and their parameters.

The resolver (:func:`assay.resolve.resolved_policy`) is the source of truth for a loaded
project. For any other project object (one built by hand, as in tests) the same facts are
taken from the assessment, which records every control's parameters after inheritance and
hypercare.
"""

from __future__ import annotations

from typing import Any

from ..load.project import Project
from ..models.assessment import Assessment
from ..resolve import resolved_policy
from .inputs import ProjectLike


def policy_from_assessment(assessment: Assessment) -> dict[str, Any]:
    """The effective policy as the assessment recorded it."""
    return {
        "workflow": assessment.workflow.id,
        "risk_class": assessment.risk_class.model_dump(mode="json"),
        "as_of": assessment.as_of.isoformat(),
        "hypercare": assessment.hypercare.model_dump(mode="json"),
        "controls": [
            {
                "id": c.id,
                "title": c.title,
                "severity": c.severity,
                "required_by": c.required_by,
                "requires": sorted(c.requires),
                "params": c.params,
                "param_sources": c.param_sources,
                "mappings": c.mappings.model_dump(mode="json"),
                "source": c.policy.model_dump(mode="json"),
            }
            for c in sorted(assessment.controls, key=lambda c: c.id)
        ],
    }


def resolved_policy_for(assessment: Assessment, project: ProjectLike) -> dict[str, Any]:
    """The resolved policy of the assessed workflow at the assessment's as-of time."""
    if isinstance(project, Project):
        return resolved_policy(
            project, assessment.workflow.id, assessment.as_of, assessment.release
        )
    return policy_from_assessment(assessment)
