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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
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
    """The static CEL type of a compiled expression. ``nullable``: SQL NULL is CEL's null
    (an optional field); ``fallible``: SQL NULL is a runtime error (an index out of range,
    arithmetic on a null, the size of a failed filter). An expression that is both is not
    compiled where the difference matters (equality, ``in``); ``error``: always an error."""

    name: str  # bool int double string timestamp duration null list map struct dyn error
    nullable: bool = False
    item: SqlType | None = None
    fields: tuple[tuple[str, SqlType], ...] = ()
    fallible: bool = False

    def null_is(self) -> str:
        """What SQL NULL means for a value of this type: null, error, either, or neither."""
        if self.nullable and self.fallible:
            return "either"
        return "null" if self.nullable else "error" if self.fallible else "neither"


def _fails(*types: SqlType) -> bool:
    """Whether an operation on values of these types can be an error because one of them
    is null or an error (CEL has no arithmetic, size or selection on null)."""
    return any(t.nullable or t.fallible for t in types)


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
    if isinstance(value, dict):
        if not value or not all(type(k) is str for k in value):
            raise NotCompilable("a map literal without text keys")
        entries = [(literal(k), literal(v)) for k, v in value.items()]
        kinds = {v.type.name for _, v in entries}
        if len(kinds) > 1 or kinds & {"null", "list", "map"}:
            raise NotCompilable("a map of mixed or nested values")
        text = "MAP {" + ", ".join(f"{k.text}: {v.text}" for k, v in entries) + "}"
        return Sql(text, SqlType("map", item=entries[0][1].type))
    if isinstance(value, list | tuple):
        items = [literal(v) for v in value]
        # The whole type, not its name: `[[1], [1.5]]` is not a list of lists of ints (a
        # column of the first item's type would round 1.5 to 2, silently).
        types = {i.type for i in items}
        if len(types) > 1 or any(t.name == "null" for t in types):
            raise NotCompilable("a list of mixed types")
        item = items[0].type if items else SqlType("null")
        return Sql("[" + ", ".join(i.text for i in items) + "]", SqlType("list", item=item))
    raise NotCompilable(f"no literal for {type(value).__name__}")


ConstantHook = Callable[[Node, "_Scope"], "Sql"]
"""Gives the SQL of a record-independent part of an expression (by default: its value,
worked out once by the row evaluator, as a literal)."""


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
        constant: ConstantHook | None = None,
    ):
        tables = {"r": (record_alias, record)}
        if src is not None:
            tables["src"] = (src_alias, src)
        self._tables = tables
        self._constants = constants
        self._hook = constant

    def compile(self, source: str, tree: Node | None = None) -> Sql:
        """The SQL of a boolean condition: TRUE, FALSE, or NULL where CEL raises."""
        return self._as_bool(self.compile_value(source, tree))

    def compile_value(self, source: str, tree: Node | None = None) -> Sql:
        """The SQL of an expression of any type (NULL where CEL raises; a null value is
        NULL too, so a caller that cares tells them apart by the static type)."""
        if tree is None:
            tree = parse(source)
        scope = _Scope(dict(self._tables), self._constants, source)
        return self._expr(tree, scope)

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
        if self._hook is not None:
            return self._hook(node, scope)
        return constant_sql(scope.source[node.start : node.end], scope.constants)

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
        if _fails(target.type):
            # A field of a null (or failed) record is an error in CEL.
            if ftype.nullable:
                raise NotCompilable("a nullable field of a nullable record")
            ftype = SqlType(ftype.name, False, ftype.item, ftype.fields, True)
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
            return Sql(f"(-{operand.text})", SqlType("double", fallible=_fails(operand.type)))
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
        if op == "*":
            lt, rt = left.type.name, right.type.name
            if "error" in (lt, rt):
                return Sql("NULL", ERROR)
            if lt == rt == "double":
                fails = _fails(left.type, right.type)
                return Sql(f"({left.text} * {right.text})", SqlType("double", fallible=fails))
            if "null" in (lt, rt) or (lt != rt and not {lt, rt} <= _NUMERIC):
                return Sql("NULL", ERROR)  # no overload
            raise NotCompilable(f"* on {lt} and {rt}")
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
            if other.type.fallible:
                raise NotCompilable("null compared with something that may be an error")
            return Sql(f"({other.text} IS {negate}NULL)", BOOL)
        if lt.name in ("list", "map", "struct") or rt.name in ("list", "map", "struct"):
            raise NotCompilable("equality of lists, maps or records")
        same = lt.name == rt.name or (lt.name in _NUMERIC and rt.name in _NUMERIC)
        if not same:
            # Different types are unequal in CEL; a null value is unequal to anything.
            return literal(op == "!=")
        kinds = {lt.null_is(), rt.null_is()}
        if "either" in kinds or kinds >= {"null", "error"}:
            raise NotCompilable("an equality where NULL may be null or an error")
        if "error" in kinds:
            # NULL is an error here, and an error is unequal to nothing: it stays an error.
            test = f"({left.text} = {right.text})"
        else:
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
        if "error" in (left.type.name, right.type.name):
            return Sql("CAST(NULL AS BOOLEAN)", BOOL)  # an operand that is an error
        if left.type.fallible or _fails(right.type):
            # `x in error` and `error in l` are errors (a null list too): no coalesce then.
            if left.type.nullable:
                raise NotCompilable("`in` of something that may be null or an error")
            inner = self._in(
                Sql(left.text, SqlType(left.type.name, False, left.type.item, left.type.fields)),
                Sql(
                    right.text, SqlType(right.type.name, False, right.type.item, right.type.fields)
                ),
            )
            return Sql(
                f"(CASE WHEN {left.text} IS NULL OR {right.text} IS NULL THEN NULL "
                f"ELSE {inner.text} END)",
                BOOL,
            )
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
        fails = _fails(left.type, right.type)  # arithmetic on a null is an error
        if "error" in (lt, rt):
            return Sql("NULL", ERROR)
        if op == "-" and lt == rt == "timestamp":
            return Sql(f"({left.text} - {right.text})", SqlType("duration", fallible=fails))
        if lt == "timestamp" and rt == "duration":
            return Sql(f"({left.text} {op} {right.text})", SqlType("timestamp", fallible=fails))
        if lt == rt == "duration":
            return Sql(f"({left.text} {op} {right.text})", SqlType("duration", fallible=fails))
        if lt == rt == "double":
            return Sql(f"({left.text} {op} {right.text})", SqlType("double", fallible=fails))
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
                    f"CAST({count}({value.text}) AS BIGINT)",
                    SqlType("int", fallible=_fails(value.type)),  # size(null) is an error
                )
            if value.type.name == "string":
                raise NotCompilable("size of a string (UTF-8 bytes in the package)")
            return Sql("NULL", ERROR)
        if name == "double" and node.target is None and len(node.args) == 1:
            value = self._expr(node.args[0], scope)
            if value.type.name == "double":
                return value
            if value.type.name == "int":
                # Exact below 2**53; a larger integer would round as Python's float() does.
                return Sql(
                    f"CAST({value.text} AS DOUBLE)", SqlType("double", fallible=_fails(value.type))
                )
            if value.type.name in ("error", "null", "bool", "timestamp", "duration", "list"):
                return Sql("NULL", ERROR)
            raise NotCompilable(f"double() of {value.type.name}")
        raise NotCompilable(f"function {name}")

    def _c_index(self, node: Node, scope: _Scope) -> Sql:
        assert node.target is not None
        container = self._expr(node.target, scope)
        index = self._expr(node.args[0], scope)
        ctype = container.type
        if ctype.name == "list" and index.type.name == "int" and ctype.item is not None:
            # CEL lists count from 0, SQL lists from 1; out of range is NULL: an error.
            text = f"(CASE WHEN {index.text} < 0 THEN NULL ELSE {container.text}[{index.text} + 1] END)"
            item = ctype.item
            return Sql(text, SqlType(item.name, item.nullable, item.item, item.fields, True))
        if ctype.name == "map" and index.type.name == "string" and ctype.item is not None:
            item = ctype.item  # a missing key is an error
            return Sql(
                f"{container.text}[{index.text}]",
                SqlType(item.name, item.nullable, item.item, item.fields, True),
            )
        raise NotCompilable("index of this type")

    def _c_macro(self, node: Node, scope: _Scope) -> Sql:
        if node.value not in ("all", "exists", "filter"):
            raise NotCompilable(f"macro {node.value}")
        assert node.target is not None
        target = self._expr(node.target, scope)
        if target.type.name == "map":
            raise NotCompilable("a macro over a map (iteration order)")
        if target.type.name != "list" or target.type.item is None:
            if node.value == "filter":
                raise NotCompilable("filter over something other than a list")
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
        if node.value == "filter":
            # The elements whose predicate is true; an error on any element is the error
            # of the whole (CEL evaluates the predicate on every element).
            failed = f"list_contains(list_transform({target.text}, lambda {var}: ({body.text}) IS NULL), TRUE)"
            kept = f"list_filter({target.text}, lambda {var}: {body.text})"
            return Sql(
                f"(CASE WHEN {failed} THEN NULL ELSE {kept} END)",
                SqlType("list", False, item, fallible=True),
            )
        results = f"list_transform({target.text}, lambda {var}: {body.text})"
        # CEL stops at the first element that decides or errors, in list order; with none,
        # `all` is true and `exists` false: that value appended, the first element is the
        # answer. (Written once: a macro inside a macro would otherwise double per level.)
        stop = "x IS NOT TRUE" if node.value == "all" else "x IS NOT FALSE"
        empty = "TRUE" if node.value == "all" else "FALSE"
        first = f"list_filter({results}, lambda x: {stop})"
        # A null list is an error (and list_append would take it for an empty one).
        return Sql(
            f"(CASE WHEN {target.text} IS NULL THEN NULL ELSE list_append({first}, {empty})[1] END)",
            BOOL,
        )


def compile_condition(
    source: str, record: SqlType, constants: Mapping[str, Any], *, src: SqlType | None = None
) -> Sql:
    """Compile a CEL condition on records of type ``record``; raise NotCompilable when it
    falls outside the SQL subset."""
    return SqlCompiler(record, constants, src=src).compile(source)


def parse(source: str) -> Node:
    """The tree of ``source`` (NotCompilable when the fast parser does not read it)."""
    try:
        return Parser(source).parse()
    except Exception as err:
        raise NotCompilable("the fast parser does not read it") from err


@lru_cache(maxsize=4096)
def _constant_expression(text: str) -> Any:
    return compile_expression(text, allowed_variables=_ALL_VARIABLES)


def constant_value(text: str, constants: Mapping[str, Any]) -> tuple[bool, Any]:
    """(True, value) of a record-independent expression, or (False, None) where CEL
    raises: the row evaluator's own answer."""
    try:
        return True, _constant_expression(text).evaluate(dict(constants))
    except ExpressionRuntimeError:
        return False, None


def parameter_type(ctype: SqlType) -> str | None:
    """The DuckDB type of a parameters-table column holding constants of ``ctype``, the
    type :func:`literal` gives their literals; None where no column holds them alike (a
    list or map with no item type: an empty one)."""
    if ctype.name in _PARAMETER_TYPES:
        return _PARAMETER_TYPES[ctype.name]
    if ctype.name in ("list", "map") and ctype.item is not None:
        item = parameter_type(ctype.item)
        if item is None:
            return None
        return f"{item}[]" if ctype.name == "list" else f"MAP(VARCHAR, {item})"
    return None


_PARAMETER_TYPES = {
    "bool": "BOOLEAN",
    "int": "BIGINT",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "timestamp": "BIGINT",  # microseconds since the epoch, as literal() writes instants
    "duration": "BIGINT",
}


def parameter_value(value: Any) -> Any:
    """A constant as its parameters-table column holds it: what its :func:`literal`
    reads as (instants and spans in microseconds)."""
    if isinstance(value, datetime):
        return _us(value - _EPOCH)
    if isinstance(value, timedelta):
        return _us(value)
    if isinstance(value, dict):
        return {k: parameter_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [parameter_value(v) for v in value]
    return value


def constant_sql(text: str, constants: Mapping[str, Any]) -> Sql:
    """A record-independent expression as a literal (NULL of type error where it raises)."""
    ok, value = constant_value(text, constants)
    return literal(value) if ok else Sql("NULL", ERROR)


def constant_spans(tree: Node, record_variables: frozenset[str] = RECORD_VARIABLES) -> list[Node]:
    """The largest parts of an expression that read no record (nor a macro's variable):
    what :class:`SqlCompiler` works out once instead of per row, in the order met."""
    out: list[Node] = []

    def reads(node: Node, bound: frozenset[str]) -> bool:
        if node.kind == "ident":
            return node.value in record_variables or node.value in bound
        if node.target is not None and reads(node.target, bound):
            return True
        inner = bound | {node.var} if node.kind == "macro" and node.var else bound
        return any(reads(a, inner) for a in node.args)

    def walk(node: Node, bound: frozenset[str]) -> None:
        if not reads(node, bound):
            out.append(node)
            return
        inner = bound | {node.var} if node.kind == "macro" and node.var else bound
        if node.target is not None:
            walk(node.target, bound)
        for arg in node.args:
            walk(arg, inner)

    walk(tree, frozenset())
    return out


@dataclass
class Variant:
    """A condition compiled for the workflows whose record-independent parts have the same
    types: its SQL reads their values from the columns ``<alias>."<prefix>N"``."""

    sql: Sql
    columns: list[str]
    """The column of each constant the SQL reads, in order."""
    members: list[int] = field(default_factory=list)
    """Indexes (into the environments given) of the workflows it is for."""
    values: list[list[str]] = field(default_factory=list)
    """Per member, the SQL literal of each column."""
    parameters: list[list[Any]] = field(default_factory=list)
    """Per member, the value of each column (:func:`parameter_value`)."""
    column_types: list[str] | None = None
    """The DuckDB type of each column, or None when one has none (see
    :func:`parameter_type`): then only the literals can give the values."""


@dataclass
class Batched:
    """A condition compiled once per type variant for many workflows."""

    variants: list[Variant]
    rows: list[int]
    """The workflows it could not be compiled for: the row evaluator decides there."""


def compile_batched(
    source: str,
    record: SqlType,
    environments: Sequence[Mapping[str, Any]],
    *,
    src: SqlType | None = None,
    alias: str = "p",
    prefix: str = "c",
    value: bool = False,
) -> Batched:
    """Compile ``source`` for many workflows at once. The parts that read no record are
    evaluated per workflow by the row evaluator (exactly as :func:`compile_condition`
    inlines them); workflows whose values have the same types share one SQL expression
    that reads the values from a parameters table joined on the workflow. ``value``
    compiles an expression of any type instead of a condition."""
    try:
        tree = parse(source)
    except NotCompilable:
        return Batched([], list(range(len(environments))))
    spans = constant_spans(tree)
    texts = [source[n.start : n.end] for n in spans]
    groups: dict[tuple[SqlType, ...], tuple[list[int], list[list[Sql]], list[list[Any]]]] = {}
    unliteral: list[int] = []
    for index, env in enumerate(environments):
        found = [constant_value(text, env) for text in texts]
        try:
            sqls = [literal(value) if ok else Sql("NULL", ERROR) for ok, value in found]
        except NotCompilable:
            unliteral.append(index)  # a value without an SQL literal (e.g. a map)
            continue
        members, values, raw = groups.setdefault(tuple(q.type for q in sqls), ([], [], []))
        members.append(index)
        values.append(sqls)
        raw.append([value for _, value in found])
    variants: list[Variant] = []
    rows = list(unliteral)
    for types, (members, values, raw) in groups.items():
        by_span: dict[tuple[int, int], Sql] = {}
        columns: list[str] = []
        kept: list[int] = []  # which constants become columns (the rest are inlined)
        for i, (node, ctype) in enumerate(zip(spans, types, strict=True)):
            if ctype.name in ("null", "error"):
                by_span[(node.start, node.end)] = values[0][i]  # the same for every member
                continue
            name = f"{prefix}{len(columns)}"
            columns.append(name)
            kept.append(i)
            by_span[(node.start, node.end)] = Sql(f"{alias}.{_ident(name)}", ctype)

        def hook(node: Node, scope: _Scope, by_span: dict[tuple[int, int], Sql] = by_span) -> Sql:
            found = by_span.get((node.start, node.end))
            if found is None:
                raise NotCompilable("a constant part the analysis did not foresee")
            return found

        compiler = SqlCompiler(record, {}, src=src, constant=hook)
        try:
            sql = compiler.compile_value(source, tree) if value else compiler.compile(source, tree)
        except NotCompilable:
            rows.extend(members)
            continue
        column_types = [parameter_type(types[i]) for i in kept]
        typed = [t for t in column_types if t is not None]
        variants.append(
            Variant(
                sql,
                columns,
                members,
                [[row[i].text for i in kept] for row in values],
                [[parameter_value(row[i]) for i in kept] for row in raw],
                typed if len(typed) == len(column_types) else None,
            )
        )
    return Batched(variants, sorted(rows))
