"""Differential test: the fast path and the real ``cel`` package agree on random expressions.

A seeded generator builds expressions over records of several shapes (pydantic models
with ints, doubles, strings, nulls, timestamps, durations, lists and nested lists of
models, and plain dicts). Each is evaluated by the compiled closures and by the
``cel.Program`` on the converted record; both must give the same value or both fail.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from assay.cel import (
    Expression,
    ExpressionRuntimeError,
    ExpressionSyntaxError,
    compile_expression,
)
from assay.cel.errors import Unsure
from assay.models.base import FrozenModel

ALLOWED = frozenset({"r", "params", "now"})
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Approver(FrozenModel):
    id: str
    approved_at: datetime | None = None
    weight: int = 1


class Record(FrozenModel):
    id: str
    count: int
    score: float
    label: str | None
    breach: bool
    emergency: bool | None
    run_at: datetime
    triaged_at: datetime | None
    age: timedelta
    tags: list[str]
    values: list[int]
    approvers: list[Approver]


def make_record(rng: random.Random, index: int) -> Record:
    approvers = [
        Approver(
            id=rng.choice(["alice", "bob", "carol", "dave"]),
            approved_at=rng.choice([None, T0 + timedelta(hours=rng.randint(-50, 50))]),
            weight=rng.randint(-2, 3),
        )
        for _ in range(rng.randint(0, 3))
    ]
    return Record(
        id=f"rec-{index}",
        count=rng.choice([0, 1, 2, 5, -3, 2**62, 9223372036854775807]),
        score=rng.choice([0.0, 0.5, 1.0, 2.0, -1.25, 1e300]),
        label=rng.choice([None, "prod", "staging", "", "Prod", "héllo"]),
        breach=rng.random() < 0.5,
        emergency=rng.choice([None, True, False]),
        run_at=T0 + timedelta(minutes=rng.randint(-5000, 5000)),
        triaged_at=rng.choice([None, T0 + timedelta(hours=rng.randint(-48, 48))]),
        age=timedelta(hours=rng.randint(-5, 48)),
        tags=rng.sample(["a", "b", "gpu", "eu"], rng.randint(0, 3)),
        values=[rng.randint(-3, 3) for _ in range(rng.randint(0, 4))],
        approvers=approvers,
    )


FIELDS = {
    "int": ["r.count", "params.limit", "size(r.tags)", "r.values.size()"],
    "double": ["r.score", "params.ratio"],
    "string": ["r.label", "r.id", "params.env"],
    "bool": ["r.breach", "r.emergency", "params.strict"],
    "timestamp": ["r.run_at", "r.triaged_at", "now"],
    "duration": ["r.age", "params.window"],
    "list": ["r.tags", "r.values", "r.approvers", "params.envs"],
}
LITERALS = {
    "int": ["0", "1", "2", "-3", "9223372036854775807"],
    "double": ["0.0", "0.5", "1.0", "-1.25", "1e3"],
    "string": ["'prod'", '"staging"', "''", "'a'", "'gpu'"],
    "bool": ["true", "false"],
    "timestamp": ["timestamp('2026-03-01T12:00:00Z')", "timestamp('2026-03-02T00:00:00+02:00')"],
    "duration": ["duration('24h')", "duration('90m')", "duration('1h30m')"],
    "list": ["[1, 2, 3]", "['a', 'gpu']", "[]", "[1, 'a', null]", "[1.0, 2]"],
}
TYPES = list(FIELDS)


class Generator:
    """Random CEL over the record fields: mostly well typed, sometimes deliberately not."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def atom(self, kind: str) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.05:
            return rng.choice(["null", "r.missing", "params.nope"])
        if roll < 0.12:
            kind = rng.choice(TYPES)  # a type mismatch on purpose
        source = FIELDS if rng.random() < 0.6 else LITERALS
        return rng.choice(source[kind])

    def value(self, kind: str, depth: int) -> str:
        rng = self.rng
        if depth <= 0 or rng.random() < 0.35:
            return self.atom(kind)
        if kind == "bool":
            return self.boolean(depth - 1)
        if kind in ("int", "double") and rng.random() < 0.5:
            op = rng.choice(["+", "-", "*", "/", "%"])
            return f"({self.value(kind, depth - 1)} {op} {self.value(kind, depth - 1)})"
        if kind == "timestamp" and rng.random() < 0.5:
            op = rng.choice(["+", "-"])
            return (
                f"({self.value('timestamp', depth - 1)} {op} {self.value('duration', depth - 1)})"
            )
        if kind == "duration" and rng.random() < 0.5:
            if rng.random() < 0.5:
                return f"({self.value('timestamp', depth - 1)} - {self.value('timestamp', 0)})"
            return f"({self.value('duration', depth - 1)} + {self.value('duration', 0)})"
        if kind == "string" and rng.random() < 0.3:
            return f"({self.value('string', depth - 1)} + {self.value('string', 0)})"
        if kind == "list" and rng.random() < 0.5:
            return self.rng.choice(
                [
                    "r.approvers.map(a, a.id)",
                    "r.approvers.filter(a, a.weight > 0)",
                    "r.values.map(v, v * 2)",
                    "r.values.filter(v, v != 0)",
                    "r.approvers.map(a, a.weight > 0, a.approved_at)",
                    "(r.tags + ['x'])",
                ]
            )
        if rng.random() < 0.3:
            cond = self.boolean(depth - 1)
            return f"({cond} ? {self.value(kind, depth - 1)} : {self.value(kind, depth - 1)})"
        return self.atom(kind)

    def boolean(self, depth: int) -> str:
        rng = self.rng
        if depth <= 0:
            return self.atom("bool")
        choice = rng.randrange(12)
        if choice == 0:
            op = rng.choice(["&&", "||"])
            return f"({self.boolean(depth - 1)} {op} {self.boolean(depth - 1)})"
        if choice == 1:
            return f"!{self.boolean(depth - 1)}"
        if choice in (2, 3, 4):
            kind = rng.choice(TYPES)
            op = rng.choice(["==", "!=", "<", "<=", ">", ">="])
            return f"{self.value(kind, depth - 1)} {op} {self.value(kind, depth - 1)}"
        if choice == 5:
            field = rng.choice(["label", "triaged_at", "missing", "approvers", "emergency"])
            return rng.choice([f"has(r.{field})", f"r.{field} == null", f"r.{field} != null"])
        if choice == 6:
            kind = rng.choice(["int", "string", "double"])
            return f"{self.value(kind, depth - 1)} in {self.value('list', depth - 1)}"
        if choice == 7:
            method = rng.choice(["startsWith", "endsWith", "contains"])
            return f"{self.value('string', depth - 1)}.{method}({self.value('string', 0)})"
        if choice == 8:
            macro = rng.choice(["all", "exists", "exists_one"])
            body = rng.choice(
                [
                    "a.approved_at != null && a.approved_at < now",
                    "a.weight > 0",
                    "a.id == 'alice'",
                    "a.approved_at < now",
                    "a.id",
                    "has(a.approved_at)",
                ]
            )
            return f"r.approvers.{macro}(a, {body})"
        if choice == 9:
            macro = rng.choice(["all", "exists", "exists_one"])
            return f"r.values.{macro}(v, v {rng.choice(['>', '==', '<'])} {rng.randint(-2, 2)})"
        if choice == 10:
            return f"size({self.value(rng.choice(['string', 'list']), depth - 1)}) > 0"
        return f"r.values[{rng.randint(-1, 4)}] > 0"


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def outcome(expr: Expression, variables: dict[str, Any], fast: bool) -> tuple[str, Any]:
    try:
        value = expr.evaluate(variables) if fast else expr._run_cel(variables)
    except ExpressionRuntimeError as exc:
        assert exc.message, expr.source
        return ("error", None)
    return ("value", value)


def test_fast_path_agrees_with_cel() -> None:
    rng = random.Random(20260301)
    gen = Generator(rng)
    records = [make_record(rng, i) for i in range(40)]
    params_shapes = [
        {"limit": 2, "ratio": 0.5, "env": "prod", "strict": True, "window": timedelta(days=1),
         "envs": ["prod", "staging"]},
        {"limit": 0, "ratio": 1.5, "env": "", "strict": False, "window": timedelta(hours=-1),
         "envs": []},
    ]  # fmt: skip
    compiled = fully_fast = values = errors = 0
    for case in range(2500):
        source = gen.boolean(3) if case % 4 else gen.value(rng.choice(TYPES), 3)
        try:
            expr = compile_expression(source, allowed_variables=ALLOWED)
        except ExpressionSyntaxError as exc:  # the generator only writes valid CEL
            raise AssertionError(f"{source}: {exc}") from exc
        compiled += expr.compiled
        for record in rng.sample(records, 3):
            variables = {"r": record, "params": rng.choice(params_shapes), "now": T0}
            fast = outcome(expr, variables, fast=True)
            slow = outcome(expr, variables, fast=False)
            assert fast[0] == slow[0] and same(fast[1], slow[1]), (source, record, fast, slow)
            if fast[0] == "value":
                values += 1
            else:
                errors += 1
            if expr._fast is not None:
                try:
                    expr._fast(variables)
                    fully_fast += 1
                except Unsure:
                    pass
                except Exception:
                    fully_fast += 1  # a CEL error decided by the fast path
    # the comparison must exercise the fast path, with both values and errors
    assert compiled == 2500
    assert fully_fast > 0.9 * 7500
    assert values > 2000 and errors > 1000


def test_dict_records_agree_too() -> None:
    rng = random.Random(7)
    gen = Generator(rng)
    records = [make_record(rng, i).model_dump() for i in range(10)]
    for _ in range(300):
        expr = compile_expression(gen.boolean(3), allowed_variables=ALLOWED)
        for record in records[:3]:
            variables = {"r": record, "params": {"limit": 1}, "now": T0}
            fast = outcome(expr, variables, fast=True)
            slow = outcome(expr, variables, fast=False)
            assert fast[0] == slow[0] and same(fast[1], slow[1]), (expr.source, fast, slow)


def test_other_timezones_agree() -> None:
    tz = timezone(timedelta(hours=-7))
    expr = compile_expression("r.run_at + r.age", allowed_variables=ALLOWED)
    record = make_record(random.Random(1), 0).model_copy(update={"run_at": T0.astimezone(tz)})
    assert expr.evaluate({"r": record}) == expr._run_cel({"r": record})
