"""JSON output: the canonical form of the assessment.

One workflow gives exactly ``Assessment.canonical_json()``; several give a canonical object
``{"assessments": [...], "compliant": bool}`` with the assessments ordered by workflow id.
"""

from __future__ import annotations

from collections.abc import Sequence

from assay.models.assessment import Assessment, canonical_json

from ._common import fleet_compliant, ordered_assessments


def format_json(assessments: Sequence[Assessment]) -> str:
    """Canonical JSON (sorted keys, two-space indent, trailing newline)."""
    if len(assessments) == 1:
        return assessments[0].canonical_json().decode()
    data = {
        "assessments": [a.to_dict() for a in ordered_assessments(assessments)],
        "compliant": fleet_compliant(assessments),
    }
    return canonical_json(data).decode()
