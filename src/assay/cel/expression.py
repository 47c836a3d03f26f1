"""The compiled CEL expression: compile once at load time, evaluate per record."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import _native as cel
from .compiler import ITERATED_MAP, MAP_KEY_ERRED, MAX_MACRO_ITEMS, Compiler
from .errors import (
    EvalError,
    ExpressionRuntimeError,
    ExpressionSyntaxError,
    Fn,
    Unsupported,
    cel_message,
)
from .parser import Node, Parser, free_variables, logic_parts, tree_stats
from .values import SCALARS, describe, to_cel_value, type_name

_POSITION_RE = re.compile(r"<input>:(\d+):(\d+): (.*)")

MAX_SOURCE_CHARS = 4_096
"""Longest CEL expression accepted (the catalog's longest is a few hundred characters)."""
MAX_NESTING = 32
"""Deepest nesting of brackets accepted: ``(``, ``[``, ``{``."""
MAX_NODES = 1_000
"""Most syntax-tree nodes (operands, operators, calls) in one expression."""
MAX_DEPTH = 100
"""Deepest syntax tree accepted (a chain of 2,000 ``+`` is 2,000 deep)."""
MAX_COST = 1_000_000
"""Most evaluation steps one expression may take on one record, estimated at compile time:
each macro (``all``, ``exists``, ``map``, ``filter``) multiplies its body's cost by the length
of its list (a literal's length, else 100). A nested macro over two 3,000-element lists
(9 million steps per record) is refused before anything runs."""


def _syntax_error(src: str, exc: BaseException) -> ExpressionSyntaxError:
    match = _POSITION_RE.search(str(exc))
    if match is None:
        return ExpressionSyntaxError(str(exc).split("\n")[0], 1, 1)
    message = match.group(3).strip()
    message = re.sub(r" expecting \{.*\}$", "", message)  # the token set is noise to a reader
    return ExpressionSyntaxError(message, int(match.group(1)), int(match.group(2)))


def _line_column(src: str, offset: int) -> tuple[int, int]:
    line = src.count("\n", 0, offset) + 1
    return line, offset - (src.rfind("\n", 0, offset) + 1) + 1


@dataclass(frozen=True, slots=True)
class Chain:
    """A logic chain as :meth:`Expression.chain` splits it."""

    op: str
    constant: tuple[Expression, ...]
    residual: Expression | None


class Expression:
    """A compiled CEL expression: the fast path when possible, else the ``cel`` program."""

    __slots__ = (
        "_allowed",
        "_cell",
        "_chain",
        "_fast",
        "_newer",
        "_operands",
        "_program",
        "compiled",
        "source",
        "variables",
    )

    def __init__(
        self,
        source: str,
        variables: frozenset[str],
        program: Any,
        fast: Fn | None,
        allowed: frozenset[str] = frozenset(),
        compiler: Compiler | None = None,
    ) -> None:
        self.source = source
        self.variables = variables
        self.compiled = fast is not None
        self._program = program
        self._fast = fast
        # Errors of what used to run on the package only are still its words (see
        # Compiler.newer and Compiler.cell): the same findings as before, to the byte,
        # except where the package's map order would make them differ from run to run.
        self._newer = compiler is not None and compiler.newer
        self._cell = compiler.cell if compiler is not None and "(" in source else None
        self._allowed = allowed | variables
        self._chain: Chain | None | bool = False  # False: not worked out yet
        self._operands: tuple[tuple[str, Expression], ...] | None = None

    def chain(self, record_variables: frozenset[str]) -> Chain | None:
        """A top-level ``&&``/``||`` chain split into the operands that read none of
        ``record_variables`` (evaluate them once per selection, not once per record) and
        the chain of the others compiled as one expression; None when nothing is gained.
        Worked out once per expression."""
        if self._chain is not False:
            return self._chain  # type: ignore[return-value]
        plan: Chain | None = None
        parts = logic_parts(self.source)
        if parts is not None:
            op, texts = parts
            compiled = [self._sub(t) for t in texts]
            constant = [c for c in compiled if not c.variables & record_variables]
            dependent = [c.source for c in compiled if c.variables & record_variables]
            if constant:
                residual = None
                if len(dependent) == 1:
                    # No parentheses: lets a plain field test be recognised as one.
                    residual = self._sub(dependent[0])
                elif dependent:
                    residual = self._sub(f" {op} ".join(f"({t})" for t in dependent))
                plan = Chain(op, tuple(constant), residual)
        self._chain = plan
        return plan

    def conjuncts(self) -> tuple[tuple[str, Expression], ...]:
        """The operands of a top-level ``&&`` chain, each compiled; empty for anything
        else. Lets a finding name the part of a condition a record did not meet."""
        if self._operands is None:
            parts = logic_parts(self.source)
            self._operands = (
                tuple((t, self._sub(t)) for t in parts[1])
                if parts is not None and parts[0] == "&&"
                else ()
            )
        return self._operands

    def _sub(self, text: str) -> Expression:
        return compile_expression(text, allowed_variables=self._allowed)

    def __repr__(self) -> str:
        return f"Expression({self.source!r}, compiled={self.compiled})"

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """Evaluate on the given variables; raise ExpressionRuntimeError when CEL would fail."""
        fast = self._fast
        if fast is not None:
            cell = self._cell
            if cell is not None:
                cell[0] = 0
            try:
                result = fast(variables)
            except EvalError as exc:
                seen = 0 if cell is None else cell[0]
                if (self._newer or seen == ITERATED_MAP) and seen != MAP_KEY_ERRED:
                    return self._run_cel(variables)
                raise ExpressionRuntimeError(exc.message) from None
            except Exception:  # Unsure, or a value the closures did not foresee
                pass
            else:
                return result if type(result) in SCALARS else to_cel_value(result)
        return self._run_cel(variables)

    def test(self, variables: Mapping[str, Any]) -> bool:
        """Evaluate and require a boolean result."""
        result = self.evaluate(variables)
        if result is True or result is False:
            return result
        raise ExpressionRuntimeError(
            f"expected a boolean, got {type_name(result)} ({describe(result)})"
        )

    def _run_cel(self, variables: Mapping[str, Any]) -> Any:
        context = {
            name: to_cel_value(variables[name]) for name in self.variables if name in variables
        }
        if "(" in self.source:
            _check_list_sizes(context)
        try:
            return self._program.execute(context)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - pyo3 panics derive from BaseException
            raise ExpressionRuntimeError(cel_message(exc)) from None


def _nesting(source: str) -> tuple[int, int]:
    """(deepest bracket nesting, offset where it is reached), strings skipped."""
    depth = best = where = 0
    quote = ""
    i = 0
    while i < len(source):
        ch = source[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
            if depth > best:
                best, where = depth, i
        elif ch in ")]}":
            depth -= 1
        i += 1
    return best, where


def _check_size(source: str) -> None:
    """The compile-time bounds that need no parse, before the package's parser runs."""
    if len(source) > MAX_SOURCE_CHARS:
        raise ExpressionSyntaxError(
            f"the expression is {len(source)} characters long; at most {MAX_SOURCE_CHARS} "
            "are allowed (split it into several checks)",
            1,
            1,
        )
    nesting, where = _nesting(source)
    if nesting > MAX_NESTING:
        line, column = _line_column(source, where)
        raise ExpressionSyntaxError(
            f"brackets nested {nesting} deep; at most {MAX_NESTING} levels are allowed",
            line,
            column,
        )


def _check_tree(source: str, tree: Node) -> None:
    stats = tree_stats(tree)
    if stats.nodes > MAX_NODES:
        raise ExpressionSyntaxError(
            f"the expression has {stats.nodes} operands and operators; at most {MAX_NODES} "
            "are allowed (split it into several checks)",
            1,
            1,
        )
    if stats.depth > MAX_DEPTH:
        raise ExpressionSyntaxError(
            f"operators nested {stats.depth} deep; at most {MAX_DEPTH} levels are allowed "
            "(a chain of 150 `+` is 150 deep: split it)",
            1,
            1,
        )
    if stats.cost > MAX_COST:
        raise ExpressionSyntaxError(
            f"the expression may take about {stats.cost:,} steps per record; at most "
            f"{MAX_COST:,} are allowed (macros over long lists multiply: nest fewer)",
            1,
            1,
        )


def _check_list_sizes(context: Mapping[str, Any]) -> None:
    """The evaluation-time bound on the package's path: no list a macro could run over is
    longer than :data:`~assay.cel.compiler.MAX_MACRO_ITEMS` (checked one level deep: the
    variables and the fields of records)."""
    for value in context.values():
        items = value.values() if isinstance(value, dict) else (value,)
        for item in items:
            if isinstance(item, list) and len(item) > MAX_MACRO_ITEMS:
                raise ExpressionRuntimeError(
                    f"a list of {len(item):,} items; at most {MAX_MACRO_ITEMS:,} are allowed"
                )


def compile_expression(source: str, *, allowed_variables: frozenset[str]) -> Expression:
    """Compile CEL ``source``; raise ExpressionSyntaxError for bad syntax, unknown variables,
    or an expression beyond the size and cost bounds (:data:`MAX_SOURCE_CHARS`,
    :data:`MAX_NESTING`, :data:`MAX_NODES`, :data:`MAX_DEPTH`, :data:`MAX_COST`).

    An expression is compiled once per process for the variables it may use: the policies
    repeat conditions across controls and classes, and the chains a check splits compile
    their parts again (a quarter of a gate's compiles are repeats). What it compiles to
    depends on nothing else, and it holds no state that changes its answers."""
    return _compile(source, allowed_variables)


@lru_cache(maxsize=4096)
def _compile(source: str, allowed_variables: frozenset[str]) -> Expression:
    _check_size(source)
    try:
        program = cel.compile(source)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - the parser reports ValueError; be safe
        raise _syntax_error(source, exc) from None

    try:
        tree: Node | None = Parser(source).parse()
    except (Unsupported, RecursionError, ValueError, RuntimeError):
        tree = None

    if tree is not None:
        _check_tree(source, tree)
        references: list[tuple[str, int]] = []
        found: list[Node] = []
        free_variables(tree, frozenset(), found)
        references = [(node.value, node.start) for node in found]
    else:
        # an exotic construct: take the names from the package, positions from the text
        references = []
        for name in program.variables():
            hit = re.search(rf"(?<![\w.]){re.escape(name)}\b", source)
            references.append((name, hit.start() if hit else 0))

    for name, offset in sorted(references, key=lambda ref: ref[1]):
        if name not in allowed_variables:
            line, column = _line_column(source, offset)
            allowed = ", ".join(sorted(allowed_variables)) or "none"
            raise ExpressionSyntaxError(
                f"unknown variable '{name}' (available here: {allowed})", line, column
            )

    fast: Fn | None = None
    compiler: Compiler | None = None
    if tree is not None:
        compiler = Compiler(source)
        try:
            fast = compiler.compile(tree)
        except (Unsupported, RecursionError):
            fast, compiler = None, None
    return Expression(
        source,
        frozenset(name for name, _ in references),
        program,
        fast,
        allowed_variables,
        compiler,
    )
