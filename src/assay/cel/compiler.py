"""The fast path: a CEL syntax tree compiled to Python closures for the constructs whose
semantics it reproduces exactly (see ``assay.cel`` for the points worth knowing)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import msgspec
import msgspec.structs

from . import _native as cel
from .errors import Env, EvalError, Fn, Unsupported, Unsure, cel_message
from .parser import Node
from .values import (
    BINARY,
    INT_MIN,
    as_map,
    cel_kind,
    field_map,
    is_model,
    overload,
    struct_get,
    struct_has,
    to_cel_value,
    type_name,
)

# --------------------------------------------------------------------------- compiler


class Compiler:
    def __init__(self, src: str):
        self.src = src
        self.newer = False
        """The expression holds a construct that used to run on the package (a map literal,
        ``string()``, ``double()``): its errors are still worded by the package."""
        self.cell: list[int] = [0]
        """Set while evaluating: ITERATED_MAP when a macro iterated a map (which also used
        to run on the package), so that evaluation's error is worded by the package too;
        MAP_KEY_ERRED when a key erred there. The package iterates a map in an order that
        changes from run to run, so it would meet that error or another key's first: then
        the error stays the fast path's, the same on every run."""

    def text(self, node: Node) -> str:
        return self.src[node.start : node.end]

    def compile(self, node: Node) -> Fn:
        method: Callable[[Node], Fn] | None = getattr(self, f"c_{node.kind}", None)
        if method is None:
            raise Unsupported
        return method(node)

    def c_lit(self, node: Node) -> Fn:
        value = node.value
        if type(value) not in (int, float, str, bool, type(None)):
            raise Unsupported
        return lambda env: value

    def c_ident(self, node: Node) -> Fn:
        name: str = node.value

        def ident(env: Env) -> Any:
            try:
                return env[name]
            except KeyError:
                raise EvalError(f"undefined variable '{name}'") from None

        return ident

    def c_list(self, node: Node) -> Fn:
        items = [self.compile(arg) for arg in node.args]
        return lambda env: [item(env) for item in items]

    def c_select(self, node: Node) -> Fn:
        assert node.target is not None
        operand = self.compile(node.target)
        name: str = node.value
        where = self.text(node.target)

        # Records of one kind share a type: remember how to read the field from it.
        getters: dict[type, Callable[[Any], Any]] = {}

        def other(value: Any) -> Any:
            if isinstance(value, msgspec.Struct) and struct_has(type(value), name):
                getters[type(value)] = getter = operator.attrgetter(name)
                return getter(value)
            if type(value) is dict:
                try:
                    return value[name]
                except KeyError:
                    raise EvalError(f"no such key '{name}' in {where}") from None
            if is_model(value):
                try:
                    if isinstance(value, msgspec.Struct):
                        return struct_get(value, name)
                    return value.__dict__[name]
                except KeyError:
                    raise EvalError(f"no such field '{name}' on {where}") from None
            if isinstance(value, Mapping):
                raise Unsure
            raise EvalError(
                f"cannot select field '{name}' from {where}: it is {type_name(value)}, not a map"
            )

        if node.target.kind == "ident":
            # `r.field`, the commonest selection: the variable read in place.
            variable: str = node.target.value

            def select_variable(env: Env) -> Any:
                try:
                    value = env[variable]
                except KeyError:
                    raise EvalError(f"undefined variable '{variable}'") from None
                getter = getters.get(type(value))
                if getter is not None:
                    return getter(value)
                if type(value) is dict and name in value:
                    return value[name]  # `params.x`, `workflow.x`
                return other(value)

            return select_variable

        def select(env: Env) -> Any:
            value = operand(env)
            getter = getters.get(type(value))
            if getter is not None:
                return getter(value)
            return other(value)

        return select

    def c_has(self, node: Node) -> Fn:
        selection = node.args[0]
        assert selection.target is not None
        operand = self.compile(selection.target)
        name: str = selection.value
        where = self.text(selection.target)

        def has(env: Env) -> bool:
            value = operand(env)
            if type(value) is dict:
                return name in value
            if is_model(value):
                return name in field_map(value)
            if isinstance(value, Mapping):
                raise Unsure
            raise EvalError(f"has() needs a map or record, but {where} is {type_name(value)}")

        return has

    def c_index(self, node: Node) -> Fn:
        assert node.target is not None
        operand = self.compile(node.target)
        index = self.compile(node.args[0])
        where = self.text(node.target)

        def item(env: Env) -> Any:
            container, key = operand(env), index(env)
            if type(container) is _Literal:
                if type(key) is str and key in container:
                    return container[key]
                raise Unsure  # the package words a missing key its own way
            kind = cel_kind(container)
            if kind == "list" and type(key) is int:
                if 0 <= key < len(container):
                    return container[key]
                raise EvalError(f"index {key} out of bounds for {where} (size {len(container)})")
            if kind == "map" and type(key) is str:
                mapping = as_map(container)
                if key in mapping:
                    return mapping[key]
                raise EvalError(f"no such key '{key}' in {where}")
            raise Unsure  # other index types: let the package decide

        return item

    def c_unary(self, node: Node) -> Fn:
        operand = self.compile(node.args[0])
        if node.value == "!":

            def negate(env: Env) -> bool:
                value = operand(env)
                if type(value) is bool:
                    return not value
                raise overload("!", value)

            return negate

        def minus(env: Env) -> Any:
            value = operand(env)
            kind = cel_kind(value)
            if kind == "int":
                if value == INT_MIN:
                    raise Unsure
                return -value
            if kind == "double":
                return -value
            raise overload("-", value)

        return minus

    def c_binary(self, node: Node) -> Fn:
        op: str = node.value
        left, right = (self.compile(arg) for arg in node.args)
        if op in ("&&", "||"):
            return _logic(op, left, right, self.text(node.args[0]), self.text(node.args[1]))
        apply = BINARY[op]
        if op == "==" and node.args[1].kind == "lit" and node.args[1].value is None:
            return lambda env: left(env) is None  # the commonest test: x == null
        if op == "!=" and node.args[1].kind == "lit" and node.args[1].value is None:
            return lambda env: left(env) is not None
        literal = node.args[1].value if node.args[1].kind == "lit" else None
        if type(literal) in (str, int) and op in _SAME_TYPE:
            # `r.environment == "prod"`, `r.count > 0`: a value of the literal's own type
            # compares as Python compares it (what `apply` does after looking up both
            # kinds); any other value goes through `apply`.
            compare = _SAME_TYPE[op]
            kind = type(literal)

            def against_literal(env: Env) -> Any:
                value = left(env)
                if type(value) is kind:
                    return compare(value, literal)
                return apply(value, literal)

            return against_literal
        return lambda env: apply(left(env), right(env))

    def c_cond(self, node: Node) -> Fn:
        cond, then, other = (self.compile(arg) for arg in node.args)

        def choose(env: Env) -> Any:
            value = cond(env)
            if value is True:
                return then(env)
            if value is False:
                return other(env)
            raise overload("_?_:_", value)

        return choose

    def c_call(self, node: Node) -> Fn:
        name: str = node.value
        args = [self.compile(arg) for arg in node.args]
        if node.target is None and name == "size" and len(args) == 1:
            return _size(args[0])
        if node.target is not None and name == "size" and not args:
            return _size(self.compile(node.target))
        if node.target is None and name in ("duration", "timestamp") and len(args) == 1:
            return _convert(name, node.args[0], args[0])
        if node.target is None and name in _CASTS and len(args) == 1:
            self.newer = True
            return _cast(name, args[0])
        if node.target is not None and name in _STRING_METHODS and len(args) == 1:
            return _string_method(name, self.compile(node.target), args[0])
        return self._package_call(node, args)

    def _package_call(self, node: Node, args: list[Fn]) -> Fn:
        """Any other function or method (``matches``, ``getFullYear``, ``int``...): the
        package computes this one call on the values the fast path computed for its
        operands, so the rest of the expression, a macro over a map included, stays on
        the fast path (and in its order)."""
        if node.value == "uint":
            raise Unsupported  # the package returns a uint as a Python int: its type is lost
        operands = ([self.compile(node.target)] if node.target is not None else []) + args
        names = [f"a{i}" for i in range(len(operands))]
        call = (
            f"{names[0]}.{node.value}({', '.join(names[1:])})"
            if node.target is not None
            else f"{node.value}({', '.join(names)})"
        )
        try:
            program = cel.compile(call)
        except Exception:  # noqa: BLE001 - not a call the package reads on its own
            raise Unsupported from None
        self.newer = True  # its errors are the package's words, as when it ran it all

        def call_package(env: Env) -> Any:
            values = {
                n: to_cel_value(operand(env)) for n, operand in zip(names, operands, strict=True)
            }
            try:
                result = program.execute(values)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # noqa: BLE001 - pyo3 panics derive from BaseException
                raise EvalError(cel_message(exc)) from None
            cel_kind(result)  # a value the fast path does not know: Unsure, the package's
            return result

        return call_package

    def c_map(self, node: Node) -> Fn:
        """A map literal with distinct string-literal keys (the commonest: a lookup table
        such as ``{"SEV1": 1, "SEV2": 2}[r.severity]``)."""
        keys = node.args[0::2]
        if not all(k.kind == "lit" and type(k.value) is str for k in keys):
            raise Unsupported
        names = [str(k.value) for k in keys]
        if len(set(names)) != len(names):
            raise Unsupported
        values = [self.compile(v) for v in node.args[1::2]]
        self.newer = True
        entries = list(zip(names, values, strict=True))
        return lambda env: _Literal((name, value(env)) for name, value in entries)

    def c_macro(self, node: Node) -> Fn:
        assert node.target is not None
        target = self.compile(node.target)
        body = [self.compile(arg) for arg in node.args]
        return _MACRO_BUILDERS[node.value](target, node.var, body, node.value, self.cell)


_SAME_TYPE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
"""Comparisons of two strings or two ints, as :data:`~assay.cel.values.BINARY` decides them."""


def _logic(op: str, left: Fn, right: Fn, left_text: str, right_text: str) -> Fn:
    """``&&``/``||`` with the package's absorption: a deciding side wins over an error."""
    decisive = op == "||"  # the value that decides the result on its own
    result: bool = decisive  # a copy `is` tests do not narrow to Any

    def bad(value: Any, text: str) -> EvalError:
        return EvalError(f"'{op}' needs booleans, but {text} is {type_name(value)}")

    def logic(env: Env) -> bool:
        problem: Exception | None = None
        try:
            a = left(env)
            if a is decisive:
                return result
            if a is not (not decisive):
                problem = bad(a, left_text)
        except (EvalError, Unsure) as exc:
            problem = exc
        try:
            b = right(env)
        except (EvalError, Unsure) as exc:
            if problem is None:
                raise
            if isinstance(problem, EvalError) and isinstance(exc, EvalError):
                raise problem from None  # the package reports the left error
            raise Unsure from None
        if b is decisive:
            return result
        if problem is not None:
            raise problem
        if b is not (not decisive):
            raise bad(b, right_text)
        return not decisive

    return logic


def _size(operand: Fn) -> Fn:
    def size(env: Env) -> int:
        value = operand(env)
        kind = cel_kind(value)
        if kind == "string":
            if value.isascii():
                return len(value)
            raise Unsure  # the package counts UTF-8 bytes
        if kind == "list":
            return len(value)
        if kind == "map":
            return len(as_map(value))
        raise overload("size", value)

    return size


_CONVERTERS = {name: cel.compile(f"{name}(x)") for name in ("duration", "timestamp")}


def _convert(name: str, arg_node: Node, arg: Fn) -> Fn:
    program = _CONVERTERS[name]
    if arg_node.kind == "lit" and type(arg_node.value) is str:
        try:
            constant = program.execute({"x": arg_node.value})
        except Exception:  # the error is reported at evaluation time by the package
            raise Unsupported from None
        return lambda env: constant

    # A computed text repeats from record to record (``duration(string(n) + "h")`` of a
    # parameter): each distinct one is converted by the package once.
    known: dict[str, Any] = {}

    def convert(env: Env) -> Any:
        value = arg(env)
        if type(value) is not str:
            raise Unsure
        found = known.get(value)
        if found is not None:
            return found
        try:
            found = program.execute({"x": value})
        except Exception as exc:
            raise EvalError(f"{name}({value!r}): {cel_message(exc)}") from None
        if len(known) < 256:
            known[value] = found
        return found

    return convert


def _to_string(value: Any) -> str:
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)  # decimal, as the package writes an int
    raise Unsure  # doubles, timestamps...: the package's own formatting; others: its error


def _to_double(value: Any) -> float:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)  # nearest double, ties to even, as the package's int-to-double
    raise Unsure  # a string to parse, or the package's error


_CASTS: dict[str, Callable[[Any], Any]] = {"string": _to_string, "double": _to_double}


def _cast(name: str, arg: Fn) -> Fn:
    cast = _CASTS[name]
    return lambda env: cast(arg(env))


class _Literal(dict[str, Any]):
    """A map built by a map literal: indexed with the package's words for a missing key
    (see :meth:`Compiler.c_index`); otherwise a map like any other."""


_STRING_METHODS: dict[str, Callable[[str, str], bool]] = {
    "startsWith": str.startswith,
    "endsWith": str.endswith,
    "contains": str.__contains__,
}


def _string_method(name: str, receiver: Fn, arg: Fn) -> Fn:
    method = _STRING_METHODS[name]

    def call(env: Env) -> bool:
        value, other = receiver(env), arg(env)
        if type(value) is str and type(other) is str:
            return method(value, other)
        raise overload(name, value, other)

    return call


MAX_MACRO_ITEMS = 100_000
"""Longest list a macro (``all``, ``exists``, ``map``, ``filter``) runs over at evaluation:
the evaluation-time side of the cost bound (the compile-time estimate assumes lists of
record fields hold 100 items; a record may carry more, but not without limit)."""


ITERATED_MAP = 1
"""A macro iterated a map on this evaluation (Compiler.cell)."""
MAP_KEY_ERRED = 2
"""... and its condition or transform erred on a key (Compiler.cell)."""


def _items(value: Any, macro: str, cell: list[int]) -> list[Any] | tuple[Any, ...]:
    """What a macro iterates: a list's items in order, a map's keys in key order."""
    kind = cel_kind(value)
    if kind == "list":
        items: list[Any] | tuple[Any, ...] = value
    elif kind == "map":
        cell[0] = max(cell[0], ITERATED_MAP)
        items = sorted(as_map(value), key=_key_order)
    else:
        raise overload(macro, value)
    if len(items) > MAX_MACRO_ITEMS:
        raise EvalError(
            f"{macro}() over {len(items):,} items; at most {MAX_MACRO_ITEMS:,} are allowed"
        )
    return items


def _key_order(key: Any) -> tuple[int, Any]:
    """CEL maps have no order; their keys (bool, int, string) are iterated sorted, so a
    macro over a map gives the same list, and names the same error, on every run."""
    return (0 if type(key) is bool else 1 if type(key) is int else 2, key)


def _bindings(env: Env, var: str, items: list[Any] | tuple[Any, ...]) -> Iterator[dict[str, Any]]:
    scope = dict(env)
    for item in items:
        scope[var] = item
        yield scope


def _predicate(macro: str, value: Any) -> bool:
    if type(value) is bool:
        return value
    raise EvalError(f"the condition of {macro}() must be a boolean, got {type_name(value)}")


def _map_truths(
    env: Env, var: str, keys: list[Any], pred: Fn, macro: str, cell: list[int]
) -> tuple[int, int]:
    """(keys that meet ``pred``, keys that do not), for ``all``/``exists``/``exists_one``
    over a map, decided as the CEL specification says rather than in an iteration order
    (a map has none): ``all`` is false when any key gives false, ``exists`` true when any
    gives true, whatever errors other keys raise; otherwise the first error in key order
    is the result. (Over a list, the macros stop at the first element that decides or
    errs, in list order, as the package and the SQL engine do.)"""
    met = unmet = 0
    error: EvalError | None = None
    for scope in _bindings(env, var, keys):
        try:
            if _predicate(macro, pred(scope)):
                met += 1
            else:
                unmet += 1
        except EvalError as exc:
            error = error or exc
    if error is not None:
        cell[0] = MAP_KEY_ERRED
        if not (macro == "all" and unmet) and not (macro == "exists" and met):
            raise error
    return met, unmet


def _is_map(value: Any) -> bool:
    return type(value) is not list and type(value) is not tuple and cel_kind(value) == "map"


def _macro_all(target: Fn, var: str, body: list[Fn], macro: str, cell: list[int]) -> Fn:
    (pred,) = body

    def all_(env: Env) -> bool:
        value = target(env)
        items = _items(value, macro, cell)
        if _is_map(value):
            return _map_truths(env, var, list(items), pred, macro, cell)[1] == 0
        for scope in _bindings(env, var, items):
            if not _predicate(macro, pred(scope)):
                return False
        return True

    return all_


def _macro_exists(target: Fn, var: str, body: list[Fn], macro: str, cell: list[int]) -> Fn:
    (pred,) = body

    def exists(env: Env) -> bool:
        value = target(env)
        items = _items(value, macro, cell)
        if _is_map(value):
            return _map_truths(env, var, list(items), pred, macro, cell)[0] > 0
        for scope in _bindings(env, var, items):
            if _predicate(macro, pred(scope)):
                return True
        return False

    return exists


def _macro_exists_one(target: Fn, var: str, body: list[Fn], macro: str, cell: list[int]) -> Fn:
    (pred,) = body

    def exists_one(env: Env) -> bool:
        value = target(env)
        items = _items(value, macro, cell)
        if _is_map(value):
            return _map_truths(env, var, list(items), pred, macro, cell)[0] == 1
        return sum(_predicate(macro, pred(scope)) for scope in _bindings(env, var, items)) == 1

    return exists_one


def _over_items(
    target: Fn, var: str, macro: str, cell: list[int], pred: Fn | None, transform: Fn | None
) -> Fn:
    """``filter`` (no transform) and ``map`` (a transform, maybe a condition too)."""

    def run(env: Env) -> list[Any]:
        value = target(env)
        items = _items(value, macro, cell)
        try:
            return [
                scope[var] if transform is None else transform(scope)
                for scope in _bindings(env, var, items)
                if pred is None or _predicate(macro, pred(scope))
            ]
        except EvalError:
            if _is_map(value):
                cell[0] = MAP_KEY_ERRED
            raise

    return run


def _macro_filter(target: Fn, var: str, body: list[Fn], macro: str, cell: list[int]) -> Fn:
    (pred,) = body
    return _over_items(target, var, macro, cell, pred, None)


def _macro_map(target: Fn, var: str, body: list[Fn], macro: str, cell: list[int]) -> Fn:
    if len(body) == 1:
        return _over_items(target, var, macro, cell, None, body[0])
    pred, transform = body
    return _over_items(target, var, macro, cell, pred, transform)


_MACRO_BUILDERS: dict[str, Callable[[Fn, str, list[Fn], str, list[int]], Fn]] = {
    "all": _macro_all,
    "exists": _macro_exists,
    "exists_one": _macro_exists_one,
    "filter": _macro_filter,
    "map": _macro_map,
}
