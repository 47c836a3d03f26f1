"""record_fields: the record fields a CEL condition selects, read from its syntax tree."""

from __future__ import annotations

import pytest

from assay.cel.fields import record_fields


@pytest.mark.parametrize(
    ("source", "r", "src"),
    [
        ('r.verdict == "pass" && size(r.metrics) > 0', ("verdict", "metrics"), ()),
        ("r.ended_at - r.started_at >= params.min_duration", ("ended_at", "started_at"), ()),
        ("has(r.signed_off_by) && r.signed_off_by != ''", ("signed_off_by",), ()),
        ('r["deploy_id"] == src.id', ("deploy_id",), ("id",)),
        # Only the first field after the variable is a field of the record.
        ("r.metrics.all(m, m.delta < 0.1)", ("metrics",), ()),
        # A macro variable that shadows `r` is not the record.
        ("r.items.all(r, r.x > 1) && r.y", ("items", "y"), ()),
        # A computed key names no field; params and other variables are not records.
        ("r[params.key] == 1 && params.r.x && workflow.id == 'a'", (), ()),
        # Repeats collapse, in source order.
        ("src.b == r.a || r.a == src.b || r.c", ("a", "c"), ("b",)),
        # Inside strings nothing is read.
        ("r.note == 'r.secret'", ("note",), ()),
    ],
)
def test_fields_selected_on_each_variable(
    source: str, r: tuple[str, ...], src: tuple[str, ...]
) -> None:
    assert record_fields(source) == {"r": r, "src": src}


def test_a_construct_the_parser_does_not_read_falls_back_to_the_tokens() -> None:
    # Optional selection (`.?`) is outside the fast parser; the field is still found.
    assert record_fields("r.a.?b == 1 && r.c")["r"] == ("a", "c")


def test_only_the_variables_asked_for() -> None:
    assert record_fields("r.a && src.b && x.c", ("x",)) == {"x": ("c",)}
