"""JSON output: the canonical form of the assessment.

One workflow gives exactly ``Assessment.canonical_json()``; several give a canonical object
``{"assessments": [...], "compliant": bool}`` with the assessments ordered by workflow id.
"""

from __future__ import annotations

from collections.abc import Sequence

from assay.models.assessment import Assessment, Verdict, canonical_json, fleet_verdict

from ._common import ordered_assessments


def format_json(assessments: Sequence[Assessment]) -> str:
    """Canonical JSON (sorted keys, two-space indent, trailing newline)."""
    if len(assessments) == 1:
        return assessments[0].canonical_json().decode()
    data = {
        "assessments": [a.to_dict() for a in ordered_assessments(assessments)],
        "compliant": fleet_verdict(assessments) is Verdict.COMPLIANT,
    }
    return canonical_json(data).decode()
