"""Windows and the evidence index rely on every kind's time field being a required,
timezone-aware instant (records are sorted and sliced by it)."""

from __future__ import annotations

from pydantic import AwareDatetime

from assay.models.evidence_kinds import EVIDENCE_KINDS


def test_every_time_field_is_a_required_aware_datetime() -> None:
    for kind, model in EVIDENCE_KINDS.items():
        field = model.model_fields[model.TIME_FIELD]
        assert field.is_required(), kind
        assert field.annotation is AwareDatetime, kind
