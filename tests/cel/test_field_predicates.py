"""Plain-Python field predicates (``cel.predicates``): where one answers a simple condition
on a record field, it agrees with CEL; anything it cannot answer exactly it leaves to CEL."""

from __future__ import annotations

import itertools

from projectkit import drift

from assay.cel import compile_expression
from assay.cel.predicates import field_predicate
from assay.models import codec
from assay.models.evidence_kinds import EVIDENCE_KINDS

VARIABLES = frozenset({"r", "params", "now", "workflow", "release"})


def _drift_struct(**fields: object) -> object:
    record = drift("D-1", "2026-05-01T00:00:00Z", **fields)
    return codec.convert(record)


def test_field_predicates_agree_with_cel() -> None:
    sources = [
        "r.segment == null",
        "r.segment != null",
        "r.triaged_at == null",
        "r.breach",
        "!r.breach",
        " r.breach ",
    ]
    shapes = [
        {"segment": segment, "breach": breach, "triaged_at": triaged}
        for segment, breach, triaged in itertools.product(
            [None, "region=eu"], [True, False], [None, "2026-05-02T00:00:00Z"]
        )
    ]
    for source in sources:
        predicate = field_predicate(source, EVIDENCE_KINDS["drift_log"].model_fields)
        assert predicate is not None, source
        expr = compile_expression(source, allowed_variables=VARIABLES)
        for shape in shapes:
            data = _drift_struct(**shape)
            assert predicate(data) == expr.test({"r": data}), (source, shape)


def test_field_predicate_declines_what_it_cannot_answer_exactly() -> None:
    # Unknown fields, non-boolean bare fields and anything more complex run as CEL.
    for source in ["r.nope == null", "r.metric", "r.breach && r.segment == null", "r.value > 1"]:
        assert field_predicate(source, EVIDENCE_KINDS["drift_log"].model_fields) is None, source
