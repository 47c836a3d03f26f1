"""The errors of CEL compilation and evaluation, public and internal."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class ExpressionSyntaxError(Exception):
    """Bad CEL syntax, or a reference to a variable the context does not provide.

    ``line`` and ``column`` are 1-based and relative to the expression text.
    """

    def __init__(self, message: str, line: int, column: int):
        super().__init__(f"{line}:{column}: {message}")
        self.message = message
        self.line = line
        self.column = column


class ExpressionRuntimeError(Exception):
    """An expression could not be evaluated on the given values."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class EvalError(Exception):
    """A CEL runtime error raised by the fast path (the ``cel`` package raises too)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Unsure(Exception):
    """The fast path cannot be sure it matches ``cel`` here: re-run on ``cel``."""


class Unsupported(Exception):
    """The fast compiler does not handle this construct (decided at compile time)."""


Env = Mapping[str, Any]
Fn = Callable[[Env], Any]


def cel_message(exc: BaseException) -> str:
    """The first sentence of a ``cel`` runtime error, lower-cased like ours."""
    if isinstance(exc, KeyError) and exc.args:
        return f"no such key {exc.args[0]!r}"
    text = str(exc).strip() or type(exc).__name__
    if text.startswith("No such overload"):
        return "no matching overload: CEL does not convert between types (e.g. int and double)"
    first = text.split(". ")[0].split("\n")[0].rstrip(".")
    return first[:1].lower() + first[1:]
