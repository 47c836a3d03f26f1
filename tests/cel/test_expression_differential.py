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

import pytest

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
        if kind in ("string", "double") and rng.random() < 0.2:
            # a conversion: of its own type, of an int, or of anything (the package's error)
            cast = "string" if kind == "string" else "double"
            arg = rng.choice([kind, "int", "int", rng.choice(TYPES)])
            return f"{cast}({self.value(arg, depth - 1)})"
        if kind == "int" and rng.random() < 0.1:
            # a function the fast path leaves to the package, for that call alone
            return rng.choice(
                [
                    f"int({self.value(rng.choice(['double', 'string', 'int']), depth - 1)})",
                    f"{self.value('timestamp', depth - 1)}.getFullYear()",
                    f"{self.value('timestamp', depth - 1)}.getHours('+02:00')",
                    f"{self.value('duration', depth - 1)}.getMinutes()",
                    f"{self.value(rng.choice(TYPES), 0)}.getDayOfWeek()",
                ]
            )
        if kind == "int" and rng.random() < 0.15:
            # a lookup table: a map literal indexed by a string (a missing key is an error)
            table = rng.choice(["{'prod': 1, 'staging': 2}", "{'a': count, '': -1}", "{}"])
            table = table.replace("count", self.value("int", 0))
            return f"{table}[{self.value('string', depth - 1)}]"
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
            method = rng.choice(["startsWith", "endsWith", "contains", "matches"])
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


class Dependency(FrozenModel):
    name: str
    pinned: str


class Deployed(FrozenModel):
    id: str
    deps: list[Dependency]
    versions: dict[str, str]
    weights: dict[str, int]


MAP_MACROS_DECIDED = [
    "r.versions.all(k, r.versions[k] != '')",
    "r.versions.exists(k, k == 'torch')",
    "r.versions.exists_one(k, k.startsWith('t'))",
    "r.weights.all(k, r.weights[k] > 0)",
    "r.weights.exists(k, r.weights[k] > 1 && k != 'numpy')",
    "r.weights.exists_one(n, r.weights[n] == 2)",
    "r.versions.all(n, n in r.weights)",
    "r.versions.all(n, r.deps.exists(d, d.name == n && d.pinned == r.versions[n]))",
    # dependencies_pinned of the bundled catalog, with `src` spelled `r`
    "r.deps.all(d, d.name in r.versions && r.versions[d.name] == d.pinned)"
    " && r.versions.all(n, r.deps.exists(d, d.name == n && d.pinned == r.versions[n]))",
]
MAP_MACROS_ERRING = [
    # (map, macro, variable, condition)
    ("r.weights", "all", "k", "r.weights[k] > 'x'"),  # an error on every key
    ("r.versions", "exists", "k", "r.weights[k] > 0"),  # a key weights lacks: an error there
    ("r.weights", "all", "k", "10 / (r.weights[k] - 1) > 0"),  # division by zero on weight 1
    ("r.weights", "exists", "k", "10 / (r.weights[k] - 1) > 0"),
    ("r.weights", "exists_one", "k", "10 / (r.weights[k] - 1) > 0"),
    ("r.weights", "exists", "k", "r.weights[k]"),  # not a boolean
    ("r.weights", "all", "k", "r.weights[k] == 0 ? r.weights[k] : r.weights[k] < 3"),
    # a function left to the package, for that call alone
    ("r.versions", "exists", "k", "r.versions[k].matches('^[0-9]') && int(r.versions[k]) > 0"),
    ("r.versions", "all", "k", "int(r.versions[k]) < 2"),
]


def spec_outcome(macro: str, per_key: list[tuple[str, Any]]) -> tuple[str, Any]:
    """What the CEL specification gives for a macro over a map whose condition gave these
    outcomes on its keys, in any order: ``all`` is false when some key gives false and
    ``exists`` true when some key gives true, whatever errors the others raise; otherwise
    an error on any key (a non-boolean included) is the result."""
    truths = [value for kind, value in per_key if kind == "value" and type(value) is bool]
    erred = len(truths) < len(per_key)
    if macro == "all" and False in truths:
        return ("value", False)
    if macro == "exists" and True in truths:
        return ("value", True)
    if erred:
        return ("error", None)
    if macro == "all":
        return ("value", True)
    if macro == "exists":
        return ("value", False)
    return ("value", truths.count(True) == 1)


def make_deployed(rng: random.Random, index: int) -> Deployed:
    names = rng.sample(["torch", "numpy", "tqdm", "scipy", "pandas"], rng.randint(0, 4))
    versions = {n: rng.choice(["1.0", "2.1", ""]) for n in names}
    deps = [
        Dependency(name=n, pinned=versions.get(n, "1.0") if rng.random() < 0.8 else "9.9")
        for n in rng.sample(["torch", "numpy", "tqdm", "scipy", "pandas"], rng.randint(0, 4))
    ]
    weights = {n: rng.randint(-1, 3) for n in rng.sample(names, rng.randint(0, len(names)))}
    return Deployed(id=f"d-{index}", deps=deps, versions=versions, weights=weights)


def test_macros_over_maps_agree_with_cel() -> None:
    """``all``/``exists``/``exists_one`` over a map. Where every key gives a boolean, the
    count of keys that meet the condition is all that matters, in any order, and the fast
    path agrees with the package; where a key errs, it agrees with the specification."""
    rng = random.Random(5)
    records = [make_deployed(rng, i) for i in range(300)]
    shapes = [(r, r.model_dump()) for r in records]
    decided = 0
    for source in MAP_MACROS_DECIDED:
        expr = compile_expression(source, allowed_variables=ALLOWED)
        assert expr.compiled, source
        values = set()
        for model, plain in shapes:
            for record in (model, plain):
                variables = {"r": record}
                assert expr._fast is not None
                value = expr._fast(variables)  # never Unsure: every key gives a boolean
                assert value is expr._run_cel(variables), (source, record)
                values.add(value)
                decided += 1
        assert values == {True, False}, source  # the records exercise both answers
    assert decided == 2 * len(MAP_MACROS_DECIDED) * len(records)
    # Where a key errs, the package's answer depends on the key it meets first, which
    # changes from run to run; the fast path decides as the specification says. The
    # oracle evaluates the condition on each key alone, on the package, so no iteration
    # order is involved.
    erring = 0
    for target, macro, var, condition in MAP_MACROS_ERRING:
        source = f"{target}.{macro}({var}, {condition})"
        expr = compile_expression(source, allowed_variables=ALLOWED)
        body = compile_expression(condition, allowed_variables=ALLOWED | {var})
        assert expr.compiled, source
        kinds = set()
        for model, plain in shapes:
            keys = list(getattr(model, target.split(".")[1]))
            per_key = [outcome(body, {"r": model, var: key}, fast=False) for key in keys]
            expected = spec_outcome(macro, per_key)
            erring += any(kind == "error" for kind, _ in per_key)
            reordered = {
                name: dict(reversed(list(value.items())))
                for name, value in plain.items()
                if isinstance(value, dict)
            }
            for record in (model, plain, {**plain, **reordered}):
                got = outcome(expr, {"r": record}, fast=True)
                assert got == expected, (source, record, got, expected)
            kinds.add(expected[0] if expected[0] == "error" else expected[1])
        assert "error" in kinds and len(kinds) > 1, source  # the records exercise both
    assert erring > 0


def test_errors_over_maps_are_the_same_on_every_run() -> None:
    """The error a macro over a map reports is that of its first erring key in key order,
    whatever order the map was written in: the same words on every run (the package would
    name whichever key its hash order meets first)."""
    expr = compile_expression(
        "r.weights.all(k, r.weights[k] > 0 && r.versions[k] != '')", allowed_variables=ALLOWED
    )
    messages = set()
    for weights in ({"numpy": 1, "torch": 2, "scipy": 3}, {"scipy": 3, "torch": 2, "numpy": 1}):
        record = Deployed(id="d", deps=[], versions={}, weights=weights)
        with pytest.raises(ExpressionRuntimeError) as error:
            expr.evaluate({"r": record})
        messages.add(error.value.message)
    assert messages == {"no such key 'numpy' in r.versions"}
    assert compile_expression("r.weights.map(k, k)", allowed_variables=ALLOWED).evaluate(
        {"r": {"weights": {"torch": 1, "numpy": 2, "scipy": 0}}}
    ) == ["numpy", "scipy", "torch"]
    assert compile_expression(
        "r.weights.filter(k, r.weights[k] > 0)", allowed_variables=ALLOWED
    ).evaluate({"r": {"weights": {"torch": 1, "numpy": 2, "scipy": 0}}}) == ["numpy", "torch"]


def test_errors_of_what_ran_on_the_package_keep_its_words() -> None:
    """An expression with a construct that used to run on the package only (a map literal,
    ``string()``, ``double()``, a macro over a map) is worded by the package when it fails:
    findings read as before, to the byte. Elsewhere the fast path words its own errors."""
    record = Deployed(id="d", deps=[], versions={"torch": "1.0"}, weights={})
    cases = [
        "r.versions.all(k, k != '') && r.versions['numpy'] == ''",
        "{'a': 1}['a'] == 1 && r.versions['numpy'] == ''",
        "string(size(r.deps)) == '0' && r.versions['numpy'] == ''",
        "double(size(r.deps)) == 0.0 && r.versions['numpy'] == ''",
    ]
    for source in cases:
        expr = compile_expression(source, allowed_variables=ALLOWED)
        assert expr.compiled, source
        with pytest.raises(ExpressionRuntimeError) as fast:
            expr.evaluate({"r": record})
        with pytest.raises(ExpressionRuntimeError) as slow:
            expr._run_cel({"r": record})
        assert fast.value.message == slow.value.message, source
    plain = compile_expression(
        "r.deps.all(d, d.name != '') && r.versions['numpy'] == ''", allowed_variables=ALLOWED
    )
    with pytest.raises(ExpressionRuntimeError) as own:
        plain.evaluate({"r": record})
    with pytest.raises(ExpressionRuntimeError) as package:
        plain._run_cel({"r": record})
    assert own.value.message != package.value.message  # the fast path's own words
    # The map was iterated on a former evaluation, not this one: the fast path's words.
    mixed = compile_expression(
        "(size(r.versions) > 1 && r.versions.all(k, k != '')) || r.versions['numpy'] == ''",
        allowed_variables=ALLOWED,
    )
    two = Deployed(id="e", deps=[], versions={"torch": "1.0", "tqdm": "x"}, weights={})
    assert mixed.evaluate({"r": two}) is True
    with pytest.raises(ExpressionRuntimeError) as again:
        mixed.evaluate({"r": record})
    assert again.value.message == own.value.message
