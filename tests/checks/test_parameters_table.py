"""The per-workflow parameters of a check's query, bound into a temporary table: the same
answers as the literals they replace, and as the row evaluator.

What the values of a table column can hold that literals did not: DuckDB guesses a type
for Python lists and dicts bound as they are (a dict becomes a STRUCT of every key of every
row), so nested values must arrive with exactly the column's type.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest

from assay.cel import ExpressionRuntimeError, compile_expression
from assay.checks import query
from assay.checks.base import CheckContext
from assay.evidence.engines.duckdb import DuckDBEngine

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine.open(None, read_only=False)
    eng.create("test")
    yield eng
    eng.close()


def test_nested_values_keep_exactly_their_own_keys_and_items(engine: DuckDBEngine) -> None:
    columns = [
        ("wf", "VARCHAR"),
        ("tags", "VARCHAR[]"),
        ("limits", "MAP(VARCHAR, BIGINT)"),
        ("lists", "MAP(VARCHAR, VARCHAR[])"),
        ("ratio", "DOUBLE"),
        ("flag", "BOOLEAN"),
        ("since", "BIGINT"),
    ]
    rows = [
        ("a", ["x", "it's", "é ☃"], {"SEV1": 1, "SEV2": 2}, {"k": ["1"]}, 0.1 + 0.2, True, 5),
        ("b", [], {"SEV3": 3}, {"j": [], "k": ["2", "3"]}, -0.0, False, None),
        ("c", None, None, None, None, None, -(2**62)),
    ]
    engine.temp_table("t", columns, rows)
    got = engine.query("SELECT * FROM t ORDER BY wf")
    assert got == [tuple(row) for row in rows]
    # Not one STRUCT of every key with NULLs for the keys a row lacks.
    assert engine.query("SELECT cardinality(limits) FROM t ORDER BY wf") == [(2,), (1,), (None,)]


def _context(workflow: str, params: dict[str, Any]) -> CheckContext:
    """What the query planner reads of a context: its workflow and CEL variables."""
    return cast(
        CheckContext,
        SimpleNamespace(
            workflow=SimpleNamespace(workflow=SimpleNamespace(id=workflow)),
            variables={"params": params, "now": NOW, "workflow": {}, "release": ""},
        ),
    )


ENVIRONMENTS = {
    "w1": {"severities": ["SEV1", "SEV2"], "limits": {"SEV1": 5, "SEV2": 1}, "since": 48.0},
    "w2": {"severities": ["SEV3"], "limits": {"SEV3": 0}, "since": 2.5},
    "w3": {"severities": [], "limits": {"SEV1": 9}, "since": 0.0},  # an empty list
    "w4": {"severities": ["SEV1", "o'clock"], "limits": {"SEV2": 7}, "since": 1e3},
}
RECORDS = [
    {"severity": sev, "aware_at": NOW - timedelta(hours=hours), "budget_burn_pct": burn}
    for sev in ("SEV1", "SEV2", "SEV3")
    for hours in (1, 3, 100)
    for burn in (0.0, 6.0)
]
CONDITIONS = [
    "r.severity in params.severities",
    "params.limits[r.severity] > 2",  # a key a workflow lacks is an error
    "r.aware_at > now - duration(string(int(params.since * 3600.0)) + 's')",
    "params.severities.exists(s, s == r.severity) || r.budget_burn_pct > params.since",
    "r.budget_burn_pct >= double(size(params.severities)) && r.severity != 'SEV3'",
]


def _row_answer(source: str, env: dict[str, Any], record: dict[str, Any]) -> bool | None:
    try:
        expr = compile_expression(source, allowed_variables=frozenset({*env, "r"}))
        return expr.test({**env, "r": record})
    except ExpressionRuntimeError:
        return None  # an error: SQL NULL


def _record_sql(record: dict[str, Any]) -> str:
    return (
        f"SELECT {query.text(record['severity'])} AS severity, "
        f"make_timestamptz({query.us(record['aware_at'])}) AS aware_at, "
        f"CAST({record['budget_burn_pct']!r} AS DOUBLE) AS budget_burn_pct"
    )


@pytest.mark.parametrize("source", CONDITIONS)
def test_bound_parameters_answer_as_literals_and_the_row_evaluator(
    engine: DuckDBEngine, source: str
) -> None:
    contexts = [_context(wf, params) for wf, params in ENVIRONMENTS.items()]
    groups, rows = query.plan(contexts, [query.Condition("c", source, "incident")])
    assert not rows, "every workflow's condition compiles"
    evidence = cast(Any, SimpleNamespace(engine=engine))
    extra: dict[str, query.Param] = {"start_us": ("BIGINT", lambda c: None)}
    bound_groups = 0
    for group in groups:
        bound_groups += group.column_types is not None
        sql = group.sql["c"].text
        answers = []
        for use_literals in (False, True):
            if use_literals:
                group.column_types = None
            cte = group.params(evidence, extra)
            records = " UNION ALL ".join(f"({_record_sql(r)})" for r in RECORDS)
            found = engine.query(
                f"WITH {cte}, recs AS (SELECT row_number() OVER () AS n, * FROM ({records})) "
                f"SELECT p.wf, r.n, ({sql}) FROM p CROSS JOIN recs r ORDER BY p.wf, r.n"
            )
            answers.append(found)
        bound, literal = answers
        assert bound == literal
        expected = [
            (ctx.workflow.workflow.id, n, _row_answer(source, ctx.variables, record))
            for ctx in group.contexts
            for n, record in enumerate(RECORDS, start=1)
        ]
        assert bound == expected
    assert bound_groups >= 1, "some workflows' values are bound, not literals"


@pytest.mark.parametrize(
    "nested", [[["SEV1"], [1]], [[1], [1.5]], [[True], [1]], [["SEV1"], []]], ids=repr
)
def test_a_list_whose_items_differ_in_type_is_left_to_the_row_evaluator(nested: Any) -> None:
    # Typed by its first item, `[[1], [1.5]]` would be bound as BIGINT[][] and 1.5 read as 2.
    contexts = [
        _context("mixed", {"lists": nested}),
        _context("plain", {"lists": [["SEV1"], ["SEV2"]]}),
    ]
    source = "params.lists.exists(x, r.severity in x)"
    groups, rows = query.plan(contexts, [query.Condition("c", source, "incident")])
    assert [ctx.workflow.workflow.id for ctx in rows] == ["mixed"]
    assert [ctx.workflow.workflow.id for g in groups for ctx in g.contexts] == ["plain"]
