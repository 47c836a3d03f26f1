"""The resolved policy embedded in a pack: the effective controls and their parameters.

The resolver (``assay.resolve``) is the source of truth. It is looked up at call time so
that the pack, a later stage, never needs the package's top level (which re-exports the
pack) at import time. When the resolver cannot be used with this project (for instance a
project object built by hand), the same facts are taken from the assessment, which records
every control's parameters after inheritance and hypercare.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, cast

from ..models.assessment import Assessment
from .inputs import ProjectLike

ResolverFn = Callable[..., dict[str, Any]]


def _resolver() -> ResolverFn | None:
    try:
        module = importlib.import_module("assay.resolve")
    except ImportError:
        return None
    found = getattr(module, "resolved_policy", None)
    return cast(ResolverFn, found) if callable(found) else None


def policy_from_assessment(assessment: Assessment) -> dict[str, Any]:
    """The effective policy as the assessment recorded it."""
    return {
        "workflow": assessment.workflow.id,
        "risk_class": assessment.risk_class.model_dump(mode="json"),
        "as_of": assessment.as_of.isoformat(),
        "hypercare": assessment.hypercare.model_dump(mode="json"),
        "controls": {
            c.id: {
                "title": c.title,
                "severity": c.severity,
                "required_by": c.required_by,
                "requires": sorted(c.requires),
                "params": c.params,
                "param_sources": c.param_sources,
                "mappings": c.mappings.model_dump(mode="json"),
                "policy": c.policy.model_dump(mode="json"),
            }
            for c in sorted(assessment.controls, key=lambda c: c.id)
        },
    }


def resolved_policy_for(assessment: Assessment, project: ProjectLike) -> dict[str, Any]:
    """The resolved policy of the assessed workflow at the assessment's as-of time."""
    resolver = _resolver()
    if resolver is not None and hasattr(project, "config"):
        return resolver(project, assessment.workflow.id, assessment.as_of)
    return policy_from_assessment(assessment)
