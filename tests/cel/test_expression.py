"""Unit tests of the CEL layer: each construct on the fast path, errors, and the fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assay.cel import (
    Expression,
    ExpressionRuntimeError,
    ExpressionSyntaxError,
    compile_expression,
    to_cel_value,
)
from assay.models.base import FrozenModel

ALLOWED = frozenset({"r", "src", "params", "now", "workflow", "release"})
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class Approver(FrozenModel):
    id: str
    approved_at: datetime | None = None


class Drift(FrozenModel):
    id: str
    environment: str
    emergency: bool
    breach: bool
    value: float
    threshold: float
    runs: int
    run_at: datetime
    triaged_at: datetime | None = None
    segment: str | None = None
    tags: list[str] = []
    approvers: list[Approver] = []


RECORD = Drift(
    id="d-1",
    environment="prod",
    emergency=False,
    breach=True,
    value=0.31,
    threshold=0.25,
    runs=3,
    run_at=datetime(2026, 4, 30, 12, 0, tzinfo=UTC),
    tags=["gpu", "eu"],
    approvers=[
        Approver(id="alice", approved_at=datetime(2026, 4, 30, 13, 0, tzinfo=UTC)),
        Approver(id="bob"),
    ],
)
VARS: dict[str, Any] = {
    "r": RECORD,
    "params": {"max_value": 0.5, "envs": ["prod", "staging"], "sla": timedelta(hours=24)},
    "now": NOW,
    "workflow": {"id": "fraud-scoring", "risk_class": "C3"},
    "release": "2.4.0",
}


def compile_(source: str) -> Expression:
    return compile_expression(source, allowed_variables=ALLOWED)


def both(source: str) -> Any:
    """Evaluate on the fast path and on cel; assert they agree and the fast path was used."""
    expr = compile_(source)
    assert expr.compiled, source
    fast = expr.evaluate(VARS)
    slow = expr._run_cel(VARS)
    assert fast == slow and type(fast) is type(slow), (source, fast, slow)
    return fast


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("r.breach && r.triaged_at == null", True),
        ('r.environment == "prod" && !r.emergency', True),
        ("r.value > r.threshold", True),
        ("r.value <= params.max_value", True),
        ("r.runs == 3.0", True),  # int and double compare numerically
        ("r.runs < 3.5", True),
        ("r.segment == null", True),
        ("null == null", True),
        ("r.segment != null", False),
        ("'prod' in params.envs", True),
        ("r.environment in ['dev', 'prod']", True),
        ("'max_value' in params", True),
        ("1 in [1.0, 2.0]", True),
        ("size(r.tags) == 2 && r.tags.size() == 2", True),
        ("size(r.environment) == 4", True),
        ("r.run_at + params.sla >= now", True),
        ("now - r.run_at == duration('24h')", True),
        ("now - duration('1h') > r.run_at", True),
        ("params.sla + params.sla == duration('48h')", True),
        ("r.run_at < timestamp('2026-05-01T00:00:00Z')", True),
        ("r.id.startsWith('d-') && r.id.endsWith('1') && r.environment.contains('ro')", True),
        ("r.breach ? r.runs > 2 : false", True),
        ("(r.runs + 2) * 3 - 1 == 14", True),
        ("7 / 2 == 3 && -7 / 2 == -3 && -7 % 3 == -1", True),
        ("r.value / 2.0 < 0.2", True),
        ("\"a\\tb\" == 'a\\u0009b'", True),
        ("r.approvers.exists(a, a.id == 'alice')", True),
        ("r.approvers.all(a, a.approved_at != null)", False),
        ("r.approvers.exists_one(a, a.approved_at == null)", True),
        ("r.approvers.map(a, a.id) == ['alice', 'bob']", True),
        ("r.approvers.filter(a, a.approved_at == null).size() == 1", True),
        ("r.approvers[0].id == 'alice'", True),
        ("has(r.segment) && has(params.sla) && !has(params.nope)", True),
        ("workflow.risk_class == 'C3' && release == '2.4.0'", True),
        ("!!r.breach", True),
        ("[r.runs, 1] == [3.0, 1]", True),
        # CEL's absorption: the deciding side wins over an error on the other side
        ("r.nope && false", False),
        ("false && r.nope", False),
        ("r.nope || true", True),
        ("true || r.nope", True),
        ("r.environment && false", False),
    ],
)
def test_fast_path_matches_cel(source: str, expected: Any) -> None:
    assert both(source) == expected


def test_values_of_every_type() -> None:
    assert both("r.runs + 1") == 4
    assert both("r.value * 2.0") == 0.62
    assert both("r.environment + '-eu'") == "prod-eu"
    assert both("now - r.run_at") == timedelta(days=1)
    assert both("r.run_at + duration('1h')") == datetime(2026, 4, 30, 13, 0, tzinfo=UTC)
    assert both("r.tags + ['x']") == ["gpu", "eu", "x"]
    assert both("r.segment") is None
    # a model comes back as a dict, as it would from cel
    assert both("r.approvers[1]") == {"id": "bob", "approved_at": None}


def test_has_is_true_for_a_field_that_is_null() -> None:
    # the package's behaviour for a dict key with a None value; models reach cel as dicts
    assert compile_("has(r.triaged_at)").evaluate(VARS) is True
    assert compile_("has(r.triaged_at)")._run_cel(VARS) is True
    assert compile_("has(params.x)").evaluate({"params": {"x": None}}) is True


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("r.promoted_at == null", "no such field 'promoted_at' on r"),
        ("params.nope", "no such key 'nope' in params"),
        ("r.triaged_at < now", "no matching overload for '<' applied to (null, timestamp)"),
        ("r.runs + 1.5 > 0", "no matching overload for '+' applied to (int, double)"),
        ("r.environment < 3", "no matching overload for '<' applied to (string, int)"),
        ("!r.environment", "no matching overload for '!' applied to (string)"),
        ("true && r.environment", "'&&' needs booleans, but r.environment is string"),
        ("r.nope && true", "no such field 'nope' on r"),
        ("r.segment.size() > 0", "no matching overload for 'size' applied to (null)"),
        ("r.segment.x", "cannot select field 'x' from r.segment: it is null, not a map"),
        ("r.tags[5] == 'a'", "index 5 out of bounds for r.tags (size 2)"),
        ("r.runs / 0 > 1", "division by zero"),
        ("9223372036854775807 + r.runs > 0", "integer overflow in '+'"),
        ("r.runs ? 1 : 2", "no matching overload for '_?_:_' applied to (int)"),
        ("r.approvers.all(a, a.id)", "the condition of all() must be a boolean, got string"),
    ],
)
def test_runtime_errors_name_the_field_operator_and_types(source: str, message: str) -> None:
    expr = compile_(source)
    assert expr.compiled
    with pytest.raises(ExpressionRuntimeError) as info:
        expr.evaluate(VARS)
    assert info.value.message == message
    with pytest.raises(ExpressionRuntimeError):  # and cel fails too
        expr._run_cel(VARS)


def test_test_requires_a_boolean() -> None:
    assert compile_("r.breach").test(VARS) is True
    with pytest.raises(ExpressionRuntimeError, match=r"^expected a boolean, got int \(3\)$"):
        compile_("r.runs").test(VARS)
    with pytest.raises(ExpressionRuntimeError, match="expected a boolean, got null"):
        compile_("r.segment").test(VARS)


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        ("r.runs >", 1, 9, "mismatched input '<EOF>'"),
        ("r.breach &&\n  r.runs > )", 2, 12, "mismatched input ')'"),
        ("'unterminated", 1, 1, "token recognition error"),
    ],
)
def test_syntax_errors_come_from_cel_with_line_and_column(
    source: str, line: int, column: int, fragment: str
) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_(source)
    err = info.value
    assert (err.line, err.column) == (line, column)
    assert fragment in err.message
    assert "\n" not in err.message and "^" not in err.message and "expecting" not in err.message


def test_unknown_variable_is_a_syntax_error_at_its_column() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_expression("r.breach &&\n  record.x == 1", allowed_variables=frozenset({"r"}))
    assert (info.value.line, info.value.column) == (2, 3)
    assert info.value.message == "unknown variable 'record' (available here: r)"


def test_macro_variables_are_bound_not_free() -> None:
    expr = compile_("r.approvers.all(a, a.id != '' && src.x == a.id)")
    assert expr.variables == frozenset({"r", "src"})
    with pytest.raises(ExpressionSyntaxError, match="unknown variable 'a'"):
        compile_("r.approvers.all(x, x.id != '') && a.id == ''")


def test_functions_outside_the_subset_are_called_on_the_package_alone() -> None:
    expr = compile_("r.run_at.getFullYear() == 2026 && string(r.runs) == '3'")
    assert expr.compiled  # getFullYear() alone runs on the package
    assert expr.test(VARS) is True
    assert expr.variables == frozenset({"r"})
    assert compile_("r.environment.matches('^pr')").test(VARS) is True
    with pytest.raises(ExpressionRuntimeError, match="not a valid regex"):
        compile_("r.environment.matches('(')").evaluate(VARS)


def test_constructs_outside_the_subset_fall_back_to_cel() -> None:
    # uint literals and calls: the package hands a uint back as a plain int
    for source in ("1u == 1u", "uint(r.runs) == 3u", "r.runs == 3 && 1u == 1u"):
        unknown = compile_(source)
        assert not unknown.compiled and unknown.test(VARS) is True, source


def test_fallback_errors_are_translated() -> None:
    with pytest.raises(ExpressionRuntimeError, match="no such key 'nope'"):
        compile_("string(r.nope) == ''").evaluate(VARS)
    with pytest.raises(ExpressionRuntimeError, match=r"unsupported operation: string \+ int"):
        compile_("string(r.runs) + 1 == ''").evaluate(VARS)


def test_unsure_values_are_handed_to_cel() -> None:
    # cel counts UTF-8 bytes for size(string); the fast path defers rather than guess
    expr = compile_("size(r.environment)")
    record = RECORD.model_copy(update={"environment": "prödüction"})
    assert expr.evaluate({"r": record}) == expr._run_cel({"r": record})
    # an error on the left is not final while the right side is undecided
    mixed = compile_("r.nope || size(r.environment) > 0")
    assert mixed.evaluate({"r": record}) is True


def test_to_cel_value_converts_models_recursively_and_keeps_nulls() -> None:
    converted = to_cel_value(RECORD)
    assert converted["approvers"][1] == {"id": "bob", "approved_at": None}
    assert converted["triaged_at"] is None and converted["run_at"] == RECORD.run_at
    assert to_cel_value((1, {"a": (2,)})) == [1, {"a": [2]}]


def test_missing_variable_at_evaluation_is_a_runtime_error() -> None:
    with pytest.raises(ExpressionRuntimeError, match="undefined variable 'now'"):
        compile_("r.run_at < now").evaluate({"r": RECORD})
