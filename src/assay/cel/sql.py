"""CEL conditions compiled to SQL expressions over the evidence store's tables (prototype).

The contract is CEL's semantics as the row evaluator implements them, proven by the
differential test (tests/cel/test_sql_differential.py). The mapping rests on three facts:

* a CEL runtime error becomes SQL NULL in a boolean position, and CEL's commutative
  ``&&``/``||`` (an error is absorbed when the other side decides) *is* SQL's three-valued
  logic: ``false && error`` is false, ``true && error`` an error, exactly as
  ``FALSE AND NULL`` / ``TRUE AND NULL``. A check treats NULL as "could not evaluate":
  it fails closed, as a row error does;
* CEL ``==`` never errors (different types are simply unequal; ``null == x`` is false), so
  it compiles to ``IS NOT DISTINCT FROM`` with static types deciding the rest;
* timestamps and durations are compared as integer microseconds (``epoch_us``), which is
  what Python's datetime/timedelta arithmetic gives.

Parts of an expression that do not read a record (``params``, ``now``, ``workflow``,
``release``) are evaluated once, by the row evaluator itself, and inlined as literals:
their semantics cannot drift. Anything outside the subset raises :class:`NotCompilable`,
and the caller runs the row evaluator on the rows the query narrowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import ExpressionRuntimeError
from .expression import compile_expression
from .parser import Node, Parser

RECORD_VARIABLES = frozenset({"r", "src"})
_ALL_VARIABLES = frozenset({"r", "src", "params", "now", "workflow", "release"})


class NotCompilable(Exception):
    """The expression uses something the SQL subset does not cover."""


@dataclass(frozen=True)
class SqlType:
    """The static CEL type of a compiled expression. ``nullable``: the value may be null
    (an optional field); ``error``: the value is always a runtime error."""

    name: str  # bool int double string timestamp duration null list map struct dyn error
    nullable: bool = False
    item: SqlType | None = None
    fields: tuple[tuple[str, SqlType], ...] = ()


BOOL = SqlType("bool")
ERROR = SqlType("error")
_NUMERIC = frozenset({"int", "double"})
_ORDERED = frozenset({"int", "double", "string", "timestamp", "duration", "bool"})


@dataclass(frozen=True)
class Sql:
    text: str
    type: SqlType


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _string(value: str) -> str:
    if "\x00" in value:
        raise NotCompilable("NUL in a string")
    return "'" + value.replace("'", "''") + "'"


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def literal(value: Any) -> Sql:
    """A constant as SQL (raises NotCompilable for values without a literal)."""
    if value is None:
        return Sql("NULL", SqlType("null", True))
    if value is True or value is False:
        return Sql("TRUE" if value else "FALSE", BOOL)
    if type(value) is int:
        return Sql(f"CAST({value} AS BIGINT)", SqlType("int"))
    if type(value) is float:
        if math.isnan(value) or math.isinf(value):
            raise NotCompilable("a non-finite constant")
        return Sql(f"CAST('{value!r}' AS DOUBLE)", SqlType("double"))
    if type(value) is str:
        return Sql(_string(value), SqlType("string"))
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise NotCompilable("a naive time")
        micros = _us(value - _EPOCH)
        return Sql(f"CAST({micros} AS BIGINT)", SqlType("timestamp"))
    if isinstance(value, timedelta):
        return Sql(f"CAST({_us(value)} AS BIGINT)", SqlType("duration"))
    if isinstance(value, list | tuple):
        items = [literal(v) for v in value]
        kinds = {i.type.name for i in items}
        if len(kinds) > 1 or "null" in kinds:
            raise NotCompilable("a list of mixed types")
        item = items[0].type if items else SqlType("null")
        return Sql("[" + ", ".join(i.text for i in items) + "]", SqlType("list", item=item))
    raise NotCompilable(f"no literal for {type(value).__name__}")


@dataclass
class _Scope:
    tables: dict[str, tuple[str, SqlType]]
    """CEL variable -> (SQL alias, struct type) for record variables and macro variables."""
    constants: Mapping[str, Any]
    source: str
    depth: int = 0
    bound: dict[str, Sql] = field(default_factory=dict)


class SqlCompiler:
    """Compile one CEL condition for records of type ``record`` (a struct of the record's
    columns, as the evidence store lays them out), and ``src`` for a covering check's
    source record."""

    def __init__(
        self,
        record: SqlType,
        constants: Mapping[str, Any],
        *,
        src: SqlType | None = None,
        record_alias: str = "r",
        src_alias: str = "s",
    ):
        tables = {"r": (record_alias, record)}
        if src is not None:
            tables["src"] = (src_alias, src)
        self._tables = tables
        self._constants = constants

    def compile(self, source: str) -> Sql:
        """The SQL of a boolean condition: TRUE, FALSE, or NULL where CEL raises."""
        try:
            tree = Parser(source).parse()
        except Exception as err:
            raise NotCompilable("the fast parser does not read it") from err
        scope = _Scope(dict(self._tables), self._constants, source)
        out = self._expr(tree, scope)
        return self._as_bool(out)

    # -- helpers ---------------------------------------------------------------------
    def _as_bool(self, value: Sql) -> Sql:
        if value.type.name == "bool":
            return value
        return Sql("CAST(NULL AS BOOLEAN)", BOOL)  # not a boolean: a runtime error

    def _reads_records(self, node: Node, scope: _Scope) -> bool:
        if node.kind == "ident":
            return node.value in scope.tables or node.value in scope.bound
        if node.target is not None and self._reads_records(node.target, scope):
            return True
        return any(self._reads_records(a, scope) for a in node.args)

    def _constant(self, node: Node, scope: _Scope) -> Sql:
        """Evaluate a record-independent part once, with the row evaluator itself."""
        text = scope.source[node.start : node.end]
        expr = compile_expression(text, allowed_variables=_ALL_VARIABLES)
        try:
            value = expr.evaluate(dict(scope.constants))
        except ExpressionRuntimeError:
            return Sql("NULL", ERROR)
        return literal(value)

    # -- nodes -----------------------------------------------------------------------
    def _expr(self, node: Node, scope: _Scope) -> Sql:
        if not self._reads_records(node, scope):
            return self._constant(node, scope)
        method = getattr(self, f"_c_{node.kind}", None)
        if method is None:
            raise NotCompilable(f"{node.kind} is outside the SQL subset")
        result: Sql = method(node, scope)
        return result

    def _c_ident(self, node: Node, scope: _Scope) -> Sql:
        if node.value in scope.bound:
            return scope.bound[node.value]
        alias, rtype = scope.tables[node.value]
        return Sql(alias, rtype)

    def _c_select(self, node: Node, scope: _Scope) -> Sql:
        assert node.target is not None
        target = self._expr(node.target, scope)
        if target.type.name != "struct":
            raise NotCompilable("selection from something other than a record")
        fields = dict(target.type.fields)
        if node.value not in fields:
            raise NotCompilable(f"unknown field {node.value!r}")
        ftype = fields[node.value]
        if ftype.name == "dyn":
            raise NotCompilable(f"field {node.value!r} has no single type")
        text = f"{target.text}.{_ident(node.value)}"
        if ftype.name == "timestamp":
            text = f"epoch_us({text})"
        return Sql(text, ftype)

    def _c_has(self, node: Node, scope: _Scope) -> Sql:
        selection = node.args[0]
        assert selection.target is not None
        target = self._expr(selection.target, scope)
        if target.type.name != "struct":
            raise NotCompilable("has() on something other than a record")
        # A record's field exists even when its value is null (the row evaluator's rule).
        return literal(selection.value in dict(target.type.fields))

    def _c_unary(self, node: Node, scope: _Scope) -> Sql:
        operand = self._expr(node.args[0], scope)
        if node.value == "!":
            value = self._as_bool(operand)
            return Sql(f"(NOT {value.text})", BOOL)
        if operand.type.name == "double":
            return Sql(f"(-{operand.text})", operand.type)
        raise NotCompilable("negation of a non-double")

    def _c_binary(self, node: Node, scope: _Scope) -> Sql:
        op: str = node.value
        left, right = (self._expr(arg, scope) for arg in node.args)
        if op in ("&&", "||"):
            a, b = self._as_bool(left), self._as_bool(right)
            return Sql(f"({a.text} {'AND' if op == '&&' else 'OR'} {b.text})", BOOL)
        if op in ("==", "!="):
            return self._equality(op, left, right)
        if op in ("<", "<=", ">", ">="):
            return self._ordering(op, left, right)
        if op == "in":
            return self._in(left, right)
        if op in ("+", "-"):
            return self._arithmetic(op, left, right)
        raise NotCompilable(f"operator {op}")

    def _equality(self, op: str, left: Sql, right: Sql) -> Sql:
        negate = "NOT " if op == "!=" else ""
        lt, rt = left.type, right.type
        if "error" in (lt.name, rt.name):
            return Sql("CAST(NULL AS BOOLEAN)", BOOL)
        if lt.name == "null" or rt.name == "null":
            other = right if lt.name == "null" else left
            if other.type.name == "null":
                return literal(op == "==")
            return Sql(f"({other.text} IS {negate}NULL)", BOOL)
        if lt.name in ("list", "map", "struct") or rt.name in ("list", "map", "struct"):
            raise NotCompilable("equality of lists, maps or records")
        same = lt.name == rt.name or (lt.name in _NUMERIC and rt.name in _NUMERIC)
        if not same:
            # Different types are unequal in CEL; a null value is unequal to anything.
            return literal(op == "!=")
        test = f"({left.text} IS NOT DISTINCT FROM {right.text})"
        if "double" in (lt.name, rt.name):
            test = f"(coalesce(NOT (isnan({left.text}) OR isnan({right.text})), TRUE) AND {test})"
        return Sql(f"({negate}{test})", BOOL)

    def _ordering(self, op: str, left: Sql, right: Sql) -> Sql:
        lt, rt = left.type, right.type
        same = (lt.name == rt.name and lt.name in _ORDERED) or (
            lt.name in _NUMERIC and rt.name in _NUMERIC
        )
        if not same:
            return Sql("CAST(NULL AS BOOLEAN)", BOOL)  # no overload (null included): error
        test = f"({left.text} {op} {right.text})"
        if "double" in (lt.name, rt.name):
            # NaN is unordered: CEL raises where SQL would order it last.
            test = (
                f"(CASE WHEN isnan({left.text}) OR isnan({right.text}) THEN NULL ELSE {test} END)"
            )
        return Sql(test, BOOL)

    def _in(self, left: Sql, right: Sql) -> Sql:
        if right.type.name == "map" and left.type == SqlType("string"):
            return Sql(f"coalesce(map_contains({right.text}, {left.text}), FALSE)", BOOL)
        if right.type.name != "list" or right.type.item is None:
            raise NotCompilable("`in` on something other than a list")
        item = right.type.item
        if left.type.name == "error":
            return Sql("CAST(NULL AS BOOLEAN)", BOOL)
        if item.name in ("list", "map", "struct") or left.type.name in ("list", "map", "struct"):
            raise NotCompilable("`in` over lists of lists, maps or records")
        same = item.name == left.type.name or (item.name in _NUMERIC and left.type.name in _NUMERIC)
        if item.name == "null" or not same:
            return literal(False)  # an empty list, or nothing of the same type
        if "double" in (item.name, left.type.name):
            raise NotCompilable("`in` with doubles (NaN)")
        return Sql(f"coalesce(list_contains({right.text}, {left.text}), FALSE)", BOOL)

    def _arithmetic(self, op: str, left: Sql, right: Sql) -> Sql:
        lt, rt = left.type.name, right.type.name
        nullable = left.type.nullable or right.type.nullable
        if "error" in (lt, rt):
            return Sql("NULL", ERROR)
        if op == "-" and lt == rt == "timestamp":
            return Sql(f"({left.text} - {right.text})", SqlType("duration", nullable))
        if lt == "timestamp" and rt == "duration":
            return Sql(f"({left.text} {op} {right.text})", SqlType("timestamp", nullable))
        if lt == rt == "duration":
            return Sql(f"({left.text} {op} {right.text})", SqlType("duration", nullable))
        if lt == rt == "double":
            return Sql(f"({left.text} {op} {right.text})", SqlType("double", nullable))
        if "null" in (lt, rt) or lt != rt:
            return Sql("NULL", ERROR)  # no overload
        raise NotCompilable(f"{op} on {lt} (integer overflow is an error in CEL)")

    def _c_call(self, node: Node, scope: _Scope) -> Sql:
        name: str = node.value
        if name == "size":
            operand = node.args[0] if node.target is None and len(node.args) == 1 else node.target
            if operand is None or (node.target is not None and node.args):
                raise NotCompilable("size with other arguments")
            value = self._expr(operand, scope)
            if value.type.name in ("list", "map"):
                count = "len" if value.type.name == "list" else "cardinality"
                return Sql(
                    f"CAST({count}({value.text}) AS BIGINT)", SqlType("int", value.type.nullable)
                )
            if value.type.name == "string":
                raise NotCompilable("size of a string (UTF-8 bytes in the package)")
            return Sql("NULL", ERROR)
        raise NotCompilable(f"function {name}")

    def _c_index(self, node: Node, scope: _Scope) -> Sql:
        assert node.target is not None
        container = self._expr(node.target, scope)
        index = self._expr(node.args[0], scope)
        ctype = container.type
        if ctype.name == "list" and index.type.name == "int" and ctype.item is not None:
            # CEL lists count from 0, SQL lists from 1; out of range is NULL: an error.
            text = f"(CASE WHEN {index.text} < 0 THEN NULL ELSE {container.text}[{index.text} + 1] END)"
            return Sql(text, SqlType(ctype.item.name, True, ctype.item.item, ctype.item.fields))
        if ctype.name == "map" and index.type.name == "string" and ctype.item is not None:
            return Sql(f"{container.text}[{index.text}]", ctype.item)
        raise NotCompilable("index of this type")

    def _c_macro(self, node: Node, scope: _Scope) -> Sql:
        if node.value not in ("all", "exists"):
            raise NotCompilable(f"macro {node.value}")
        assert node.target is not None
        target = self._expr(node.target, scope)
        if target.type.name == "map":
            raise NotCompilable("a macro over a map (iteration order)")
        if target.type.name != "list" or target.type.item is None:
            return Sql("CAST(NULL AS BOOLEAN)", BOOL)
        var = f"v{scope.depth}"
        inner = _Scope(
            dict(scope.tables),
            scope.constants,
            scope.source,
            scope.depth + 1,
            {**scope.bound, node.var: Sql(var, target.type.item)},
        )
        item = target.type.item
        if item.name == "struct":
            inner.bound[node.var] = Sql(var, item)
        body = self._as_bool(self._expr(node.args[0], inner))
        results = f"list_transform({target.text}, lambda {var}: {body.text})"
        # CEL stops at the first element that decides or errors, in list order.
        stop = "x IS NOT TRUE" if node.value == "all" else "x IS NOT FALSE"
        first = f"list_filter({results}, lambda x: {stop})"
        empty = "TRUE" if node.value == "all" else "FALSE"
        return Sql(f"(CASE WHEN len({first}) = 0 THEN {empty} ELSE {first}[1] END)", BOOL)


def compile_condition(
    source: str, record: SqlType, constants: Mapping[str, Any], *, src: SqlType | None = None
) -> Sql:
    """Compile a CEL condition on records of type ``record``; raise NotCompilable when it
    falls outside the SQL subset."""
    return SqlCompiler(record, constants, src=src).compile(source)
