"""CEL conditions in plain words, built from their syntax tree.

A finding must say what a record was required to meet and what it had, with values and
units, without quoting CEL. Three readings of an expression serve that:

* :func:`unmet` — why a condition is false for given values: one clause per unmet part,
  e.g. ``the time from started_at to ended_at is 30 h 0 m; at least 48 h is required
  (min_duration during hypercare)``;
* :func:`requirement` — what a condition requires, in words (``blameless is true and the
  number of actions is at least 1``), with the parts that do not depend on a record worked
  out first (a guard such as ``!params.require_signoff ||`` disappears when it is false);
* :func:`measure` — what a value expression measures (``the time from paged_at to
  acked_at``).

Everything here is a pure function of the source text, the values the condition saw and
the parameters' sources; the check kinds put the subject and the evidence pointers around
the clauses. Sub-expressions are evaluated with the same compiled :class:`Expression` the
checks use, so a sentence never contradicts the verdict.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from ..models.duration import Duration
from .errors import ExpressionRuntimeError, ExpressionSyntaxError, Unsupported
from .expression import Expression, compile_expression
from .parser import Node, Parser, free_variables

CONSTANT_VARIABLES = frozenset({"params", "now", "workflow", "release"})
"""Variables that are the same for every record: a part that reads only these is a
reference value (a threshold), not a measurement."""

_IDENTIFYING_KEYS = ("id", "name", "metric", "signal", "category", "rotation_id", "person")
"""Keys that name a list item in a sentence (``approver "bob"``), in order of preference."""

_UNITS = (
    ("_pct", "%"),
    ("_percent", "%"),
    ("_minutes", "min"),
    ("_min", "min"),
    ("_hours", "h"),
    ("_days", "day"),
    ("_months", "month"),
    ("_seconds", "s"),
)
"""Units read from a field or parameter name's suffix (``max_traffic_pct``)."""

_ZERO = timedelta(0)
_QUOTED = re.compile(r"'([^']*)'")


# --------------------------------------------------------------------------- values


def kind_words(kind: str) -> str:
    """An evidence kind as a reader says it: ``canary_report`` -> ``canary report``."""
    return kind.replace("_", " ")


def kind_plural(kind: str, count: int | None = None) -> str:
    """``drift logs``; with a count, ``1 drift log`` / ``3 drift logs``."""
    words = kind_words(kind)
    if count is None:
        return words + "s"
    return f"{count} {words}{'' if count == 1 else 's'}"


def article(words: str) -> str:
    """``a drift log``, ``an oversight report``."""
    return f"{'an' if words[:1].lower() in 'aeiou' else 'a'} {words}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def time_words(value: datetime) -> str:
    """``2026-11-07 03:15 UTC`` (an offset other than UTC is kept as written)."""
    # Keyed by the offset too: one instant in two offsets is one (equal) datetime.
    return _time_words(value, value.utcoffset())


@lru_cache(maxsize=4096)
def _time_words(value: datetime, offset: timedelta | None) -> str:
    # A fleet's findings name the same few instants (the as-of time, deadlines) again
    # and again: strftime was ~3 % of a fleet gate.
    if offset == _ZERO:
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def span(value: timedelta | float) -> str:
    """A measured span for humans: ``42 s``, ``31 m``, ``29 h 0 m``, ``100 days 4 h``."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if math.isinf(seconds):
        return "unbounded"
    sign = "−" if seconds < 0 else ""
    whole = round(abs(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days >= 2:
        text = f"{days} days" + (f" {hours} h" if hours else "")
    elif whole >= 3600:
        text = f"{days * 24 + hours} h {minutes} m"
    elif whole >= 60:
        text = f"{minutes} m" + (f" {secs} s" if secs else "")
    else:
        text = f"{secs} s"
    return sign + text


_DURATION_UNITS = {"s": "s", "m": "m", "h": "h"}
_DURATION_WORDS = {"d": "day", "w": "week", "bd": "business day", "mo": "month", "y": "year"}


def duration_words(value: Duration) -> str:
    """A duration as the policy wrote it: ``48 h``, ``15 m``, ``90 days``, ``5 business days``."""
    if value.unit in _DURATION_UNITS:
        return f"{value.amount} {_DURATION_UNITS[value.unit]}"
    return plural(value.amount, _DURATION_WORDS[value.unit])


def number_words(value: float) -> str:
    """A number without float noise: ``0.3``, ``5000``, ``0.0042``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "not a number"
    if math.isinf(value):
        return "infinite" if value > 0 else "minus infinity"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.6g}"
    if "e" in text:
        text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text


def percent_words(fraction: float) -> str:
    """A share as a percentage: 0.2 -> ``20 %``."""
    if math.isnan(fraction) or math.isinf(fraction):
        return number_words(fraction)
    return f"{number_words(round(fraction * 100, 2))} %"


def _with_unit(text: str, value: float, unit: str | None) -> str:
    if unit is None:
        return text
    if unit in ("day", "month"):
        return f"{text} {unit}{'' if value == 1 else 's'}"
    return f"{text} {unit}"


def show(value: Any, unit: str | None = None) -> str:
    """A value in a sentence: true/false, quoted text, times, spans, numbers with units."""
    if value is None:
        return "missing"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, Duration):
        return duration_words(value)
    if isinstance(value, datetime):
        return time_words(value)
    if isinstance(value, timedelta):
        return span(value)
    if isinstance(value, int | float):
        return _with_unit(number_words(value), value, unit)
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return f'"{text}"'
    if isinstance(value, Mapping):
        return plural(len(value), "entry") if len(value) != 1 else "1 entry"
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        items = list(value)
        if items and len(items) <= 6 and all(_is_scalar(x) for x in items):
            return ", ".join(show(x, unit) for x in items)
        return plural(len(items), "item")
    return "a value"


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | datetime | timedelta)


def unit_of(name: str) -> str | None:
    """The unit a field or parameter name declares by its suffix."""
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    return None


def source_words(source: str | None) -> str:
    """Where a parameter value came from, as a phrase: ``during hypercare``."""
    if not source:
        return ""
    if source.startswith("hypercare"):
        return "during hypercare"
    if source == "default":
        return "by default"
    return f"for class {source}"


def param_note(name: str, sources: Mapping[str, str]) -> str:
    """``min_duration during hypercare``: the parameter and where its value came from."""
    where = source_words(sources.get(name))
    return f"{name} {where}" if where else name


def bound_words(op: str, value: str, *, is_time: bool = False) -> str:
    """``at least 48 h``, ``no later than 2026-11-08 03:15 UTC``."""
    words = _TIME_BOUNDS if is_time else _BOUNDS
    return f"{words[op]} {value}".strip()


_BOUNDS = {
    ">=": "at least",
    ">": "more than",
    "<=": "at most",
    "<": "less than",
    "==": "",
    "!=": "anything but",
}
_TIME_BOUNDS = {
    ">=": "no earlier than",
    ">": "later than",
    "<=": "no later than",
    "<": "earlier than",
    "==": "exactly",
    "!=": "anything but",
}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_COMPARISONS = frozenset(_FLIP)
_ARITHMETIC = {"+": "+", "-": "−", "*": "×", "/": "÷", "%": "mod"}


# --------------------------------------------------------------------------- scope


@dataclass(frozen=True)
class Scope:
    """What a condition was evaluated on, and how a sentence names it."""

    variables: Mapping[str, Any]
    """The CEL variables: ``r`` (and ``src``), ``params``, ``now``, ``workflow``."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Parameter values as the policy wrote them (durations as :class:`Duration`)."""
    param_sources: Mapping[str, str] = field(default_factory=dict)
    """Where each parameter came from: a class id, ``hypercare (...)`` or ``default``."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """How a sentence names a record variable other than the subject, e.g.
    ``{"src": "deploy record DEP-1"}``; fields of ``r`` are named bare."""
    subject: str = ""
    """How a sentence names ``r`` where a bare field name would be ambiguous (a list item
    with a field of the same name)."""


@dataclass(frozen=True)
class Unmet:
    """Why a condition is false: clauses in words, and the CEL of the unmet part."""

    clauses: tuple[str, ...]
    condition: str

    def text(self) -> str:
        return "; and ".join(self.clauses)


@lru_cache(maxsize=512)
def _tree(source: str) -> Node | None:
    try:
        return Parser(source).parse()
    except (Unsupported, RecursionError, ValueError, RuntimeError):
        return None


@lru_cache(maxsize=4096)
def _compiled(text: str, names: frozenset[str]) -> Expression | None:
    try:
        return compile_expression(text, allowed_variables=names)
    except ExpressionSyntaxError:
        return None


class _Failed(Exception):
    def __init__(self, message: str):
        self.message = message


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _flatten(node: Node, op: str) -> list[Node]:
    if node.kind == "binary" and node.value == op:
        return _flatten(node.args[0], op) + _flatten(node.args[1], op)
    return [node]


def _select_path(node: Node) -> tuple[str, list[str]] | None:
    """``r.a.b`` -> ("r", ["a", "b"]); None when the chain does not start at a variable."""
    fields: list[str] = []
    while node.kind == "select" and node.target is not None:
        fields.append(node.value)
        node = node.target
    if node.kind != "ident" or not fields:
        return None
    return node.value, fields[::-1]


_TIME_NAMES = frozenset({"due", "start", "end", "launched", "deadline"})
_WORKFLOW_WORDS = {"launched": "launch date", "in_hypercare": "hypercare state"}


def _looks_like_time(node: Node) -> bool:
    """Whether a part reads as an instant by its name (``acked_at``, ``now``, ``due``): for
    wording where no value is at hand, e.g. a requirement about items not yet bound."""
    if node.kind == "ident":
        return bool(node.value == "now")
    path = _select_path(node) if node.kind == "select" else None
    if path is not None:
        name = path[1][-1]
        return name.endswith("_at") or name in _TIME_NAMES
    if node.kind == "binary" and node.value in ("+", "-"):
        return _looks_like_time(node.args[0])
    return False


def _is_literal(node: Node, value: Any) -> bool:
    return node.kind == "lit" and type(node.value) is type(value) and node.value == value


_Env = dict[str, Any]


class _Words:
    """The readings of one expression's tree on one scope."""

    def __init__(self, source: str, scope: Scope):
        self.source = source
        self.scope = scope
        self.qualified: dict[str, str] = {}
        """Macro variables whose fields are named with their item noun (``the alert's
        rotation_id``), because the record has a field of the same name in the part."""
        self.clashing: set[str] = set()

    # ----------------------------------------------------------------- evaluation

    def text(self, node: Node) -> str:
        return self.source[node.start : node.end]

    def value(self, node: Node, env: _Env) -> Any:
        if node.kind == "lit":
            return node.value
        variables = dict(self.scope.variables)
        variables.update(env)
        compiled = _compiled(self.text(node), frozenset(variables))
        if compiled is None:
            raise _Failed("it could not be read")
        try:
            return compiled.evaluate(variables)
        except ExpressionRuntimeError as err:
            raise _Failed(err.message) from None

    def try_value(self, node: Node, env: _Env) -> tuple[bool, Any]:
        try:
            return True, self.value(node, env)
        except _Failed:
            return False, None

    def measured(self, node: Node) -> bool:
        """Whether the part depends on a record (or on an item of a list in a record)."""
        found: list[Node] = []
        free_variables(node, frozenset(), found)
        return any(n.value not in CONSTANT_VARIABLES for n in found)

    def params_in(self, node: Node) -> list[str]:
        names: list[str] = []

        def walk(n: Node) -> None:
            path = _select_path(n) if n.kind == "select" else None
            if path is not None and path[0] == "params":
                if path[1][0] not in names:
                    names.append(path[1][0])
                return
            if n.target is not None:
                walk(n.target)
            for arg in n.args:
                walk(arg)

        walk(node)
        return names

    def unit(self, node: Node) -> str | None:
        path = _select_path(node) if node.kind == "select" else None
        if path is not None:
            return unit_of(path[1][-1])
        if node.kind == "unary" and node.args:
            return self.unit(node.args[0])
        if node.kind == "binary" and node.value in ("+", "-") and node.args:
            return self.unit(node.args[0]) or self.unit(node.args[1])
        return None

    # ----------------------------------------------------------------- terms

    def param(self, name: str) -> Any:
        if name in self.scope.params:
            return self.scope.params[name]
        return self.scope.variables.get("params", {}).get(name)

    def param_term(self, name: str, unit: str | None = None) -> str:
        """A parameter as a noun phrase: its value (in its own unit, else in ``unit``, that
        of what it is compared with) and where the value came from."""
        value = show(self.param(name), unit_of(name) or unit)
        return f"{value} ({param_note(name, self.scope.param_sources)})"

    def term(self, node: Node, env: _Env) -> str:
        """What a value expression is, as a noun phrase (no CEL)."""
        kind = node.kind
        if kind == "lit":
            return show(node.value)
        if kind == "ident":
            name = node.value
            if name in env:
                item = env[name]
                return show(item) if _is_scalar(item) else "the item"
            if name == "now":
                return "the as-of time"
            if name == "release":
                return "the release"
            return str(name)
        if kind == "select":
            path = _select_path(node)
            if path is None:
                return f"{node.value} of {self.term(node.target, env)}" if node.target else "?"
            root, fields = path
            name = fields[-1]
            if root == "params":
                return self.param_term(fields[0])
            if root == "workflow":
                return f"the workflow's {_WORKFLOW_WORDS.get(name, name)}"
            if root in self.scope.labels and root not in env:
                return f"{name} of {self.scope.labels[root]}"
            if root in env and root in self.qualified and len(fields) == 1:
                return f"the {self.qualified[root]}'s {name}"
            if root == "r" and name in self.clashing and self.scope.subject:
                return f"{name} of {self.scope.subject}"
            if len(fields) > 1:
                return f"{name} of {' '.join(fields[:-1])}"
            return name
        if kind == "index" and node.target is not None:
            index = node.args[0]
            ok, key = self.try_value(index, env)
            if node.target.kind in ("map", "list"):
                return self.shown(node, env)
            target = self.term(node.target, env)
            if ok and isinstance(key, int) and not isinstance(key, bool):
                return f"item {key + 1} of {target}"
            if ok and isinstance(key, str):
                return f"{target} {show(key)}"
            return f"{target} entry {self.term(index, env)}"
        if kind == "call":
            return self.call_term(node, env)
        if kind == "binary":
            return self.binary_term(node, env)
        if kind == "unary":
            inner = self.term(node.args[0], env)
            return f"−{inner}" if node.value == "-" else f"not {inner}"
        if kind == "list":
            return ", ".join(self.term(item, env) for item in node.args) or "an empty list"
        if kind == "macro" and node.target is not None and node.value in ("filter", "map"):
            where = self.requirement(node.args[-1], env)
            target = self.term(node.target, env)
            if node.value == "filter" and isinstance(where, str):
                return f"{target} where {where}"
            return target
        if kind == "has" and node.args:
            return f"whether {self.term(node.args[0], env)} is present"
        return self.shown(node, env)

    def shown(self, node: Node, env: _Env) -> str:
        ok, value = self.try_value(node, env)
        return show(value) if ok else "a computed value"

    def call_term(self, node: Node, env: _Env) -> str:
        name = node.value
        args = node.args if node.target is None else [node.target, *node.args]
        if name == "size" and len(args) == 1:
            return f"the number of {self.items(args[0], env)}"
        if name in ("double", "int", "uint", "dyn", "string") and len(args) == 1:
            return self.term(args[0], env)
        if name == "duration" and len(args) == 1 and args[0].kind == "lit":
            try:
                return duration_words(Duration.parse(str(args[0].value)))
            except ValueError:
                return self.shown(node, env)
        if name == "timestamp" and len(args) == 1 and args[0].kind == "lit":
            return self.shown(node, env)
        if name == "duration" and len(args) == 1:
            # duration(string(r.ack_sla_min) + "m"): the number is what the reader knows
            inner = args[0]
            if inner.kind == "binary" and inner.value == "+" and inner.args[1].kind == "lit":
                return self.term(inner.args[0], env)
        if not self.measured(node):
            return self.shown(node, env)
        target = self.term(args[0], env) if args else ""
        rest = ", ".join(self.term(a, env) for a in args[1:])
        return f"{target} {name} {rest}".strip()

    def items(self, node: Node, env: _Env) -> str:
        """A list as the thing being counted: ``actions where owner is not empty``."""
        return self.term(node, env)

    def binary_term(self, node: Node, env: _Env) -> str:
        op = node.value
        left, right = node.args
        if op == "-":
            ok_l, a = self.try_value(left, env)
            ok_r, b = self.try_value(right, env)
            both = (
                isinstance(a, datetime) and isinstance(b, datetime)
                if ok_l and ok_r
                else _looks_like_time(left) and _looks_like_time(right)
            )
            if both:
                if left.kind == "ident" and left.value == "now":
                    return f"the time since {self.term(right, env)}"
                return f"the time from {self.term(right, env)} to {self.term(left, env)}"
        if op == "+":
            ok_l, a = self.try_value(left, env)
            ok_r, b = self.try_value(right, env)
            if ok_l and ok_r and isinstance(a, datetime) and isinstance(b, timedelta):
                return f"{self.term(right, env)} after {self.term(left, env)}"
            if ok_l and ok_r and isinstance(a, timedelta) and isinstance(b, datetime):
                return f"{self.term(left, env)} after {self.term(right, env)}"
        if op in _ARITHMETIC:
            return f"{self.operand(left, env)} {_ARITHMETIC[op]} {self.operand(right, env)}"
        return self.shown(node, env)

    def operand(self, node: Node, env: _Env) -> str:
        text = self.term(node, env)
        if node.kind == "binary" and node.value in _ARITHMETIC:
            return f"({text})"
        return text

    def reference(self, node: Node, env: _Env, unit: str | None = None) -> tuple[str, str, Any]:
        """A value that does not depend on the record: (its value in words, a note naming the
        parameters behind it, the value). ``unit`` is the unit of what it is compared with:
        both sides of a comparison are in the same unit, so a parameter whose own name
        declares none (``max_traffic``) is shown in the field's (``max_traffic_pct``)."""
        path = _select_path(node) if node.kind == "select" else None
        if path is not None and path[0] == "params" and len(path[1]) == 1:
            name = path[1][0]
            ok, cel_value = self.try_value(node, env)
            raw = self.param(name)
            return (
                show(raw, unit_of(name) or unit),
                param_note(name, self.scope.param_sources),
                cel_value if ok else raw,
            )
        ok, value = self.try_value(node, env)
        if not ok:
            return "a value that could not be worked out", "", None
        unit = self.unit(node) or unit
        text = show(value, unit)
        if node.kind == "lit":
            return text, "", value
        names = self.params_in(node)
        described = self.term(node, env)
        if described == text:
            note = ", ".join(param_note(n, self.scope.param_sources) for n in names)
        else:
            note = described
        return text, note, value

    # ----------------------------------------------------------------- requirements

    def requirement(self, node: Node, env: _Env) -> str | bool:
        """What ``node`` requires, in words; True/False when it does not depend on the
        record (so a caller can drop a guard that is already decided)."""
        if not self.measured(node) and not any(_mentions(node, name) for name in env):
            ok, value = self.try_value(node, env)
            if ok and isinstance(value, bool):
                return value
        kind = node.kind
        if kind == "unary" and node.value == "!":
            inner = node.args[0]
            if inner.kind == "binary" and inner.value in _COMPARISONS:
                return self.comparison_requirement(inner, env, negate=True)
            got = self.requirement(inner, env)
            if isinstance(got, bool):
                return not got
            if self.is_leaf(inner):
                return f"{self.term(inner, env)} is false"
            return f"not ({got})"
        if kind == "binary" and node.value in ("&&", "||"):
            return self.chain_requirement(node, env)
        if kind == "binary" and node.value in _COMPARISONS:
            return self.comparison_requirement(node, env)
        if kind == "binary" and node.value == "in":
            element, container = node.args
            if self.measured(container):
                return f"{self.term(container, env)} includes {self.term(element, env)}"
            return f"{self.term(element, env)} is one of {self.term(container, env)}"
        if kind == "macro" and node.target is not None:
            return self.macro_requirement(node, env)
        if kind == "has" and node.args:
            return f"{self.term(node.args[0], env)} is present"
        if kind == "cond":
            return f"{self.term(node, env)} is true"
        return f"{self.term(node, env)} is true"

    def chain_requirement(self, node: Node, env: _Env) -> str | bool:
        op = node.value
        parts = [self.requirement(part, env) for part in _flatten(node, op)]
        decisive: bool = op == "||"  # the value that decides the chain
        if decisive in parts:
            return decisive
        words = [p for p in parts if isinstance(p, str)]
        if not words:
            return not decisive
        if op == "||":
            words = _merge_alternatives(words)
        if len(words) == 1:
            return words[0]
        if op == "||":
            return " or ".join(f"({w})" if " and " in w else w for w in words)
        return " and ".join(f"({w})" if " or " in w else w for w in words)

    def comparison_requirement(self, node: Node, env: _Env, *, negate: bool = False) -> str:
        op = _NEGATE[node.value] if negate else node.value
        left, right = node.args
        if not self.measured(left) and self.measured(right):
            left, right, op = right, left, _FLIP[op]
        subject = self.term(left, env)
        if _is_literal(right, None):
            return f"{subject} is {'set' if op == '!=' else 'missing'}"
        if _is_literal(right, ""):
            return f"{subject} is {'not empty' if op == '!=' else 'empty'}"
        if right.kind == "lit" and isinstance(right.value, bool) and op in ("==", "!="):
            return f"{subject} is {show(right.value == (op == '=='))}"
        ok, value = self.try_value(right, env)
        is_time = isinstance(value, datetime) if ok else _looks_like_time(right)
        path = _select_path(right) if right.kind == "select" else None
        if path is not None and path[0] == "params" and len(path[1]) == 1:
            other = self.param_term(path[1][0], self.unit(left))
        else:
            other = self.term(right, env)
        if ok and self.measured(right) and _is_scalar(value) and show(value) not in other:
            other = f"{other} ({show(value)})"  # a record's field: say what it holds
        if op == "==":
            return f"{subject} is {other}"
        if op == "!=":
            return f"{subject} is not {other}"
        return f"{subject} is {bound_words(op, other, is_time=is_time)}"

    def macro_requirement(self, node: Node, env: _Env) -> str | bool:
        assert node.target is not None
        name = node.value
        var = node.var
        predicate = node.args[-1]
        if name in ("all", "exists") and not self.measured(node.target):
            ok, items = self.try_value(node.target, env)
            if ok and isinstance(items, list | tuple | dict) and 0 < len(items) <= 6:
                keys = list(items)
                parts = [self.requirement(predicate, {**env, var: item}) for item in keys]
                joined = self.join_requirements(parts, "and" if name == "all" else "or")
                if joined is not None:
                    return joined
        inner = self.requirement(predicate, {**env})
        target = self.term(node.target, env)
        if isinstance(inner, bool):
            inner = "true" if inner else "false"
        if name == "all":
            return f"for every item of {target}, {inner}"
        if name == "exists":
            return f"for some item of {target}, {inner}"
        if name == "exists_one":
            return f"for exactly one item of {target}, {inner}"
        return f"{target} is true"

    def join_requirements(self, parts: list[str | bool], word: str) -> str | bool | None:
        decisive = word == "or"
        if decisive in parts:
            return decisive
        words = [p for p in parts if isinstance(p, str)]
        if not words:
            return not decisive
        if word == "or":
            words = _merge_alternatives(words)
        wrap = " or " if word == "and" else " and "
        shown = [f"({w})" if wrap in w else w for w in words]
        if len(shown) == 1:
            return shown[0]
        return ", ".join(shown[:-1]) + f" {word} " + shown[-1]

    def is_leaf(self, node: Node) -> bool:
        return node.kind in ("select", "ident", "index")

    # ----------------------------------------------------------------- why not

    def why(self, node: Node, env: _Env, want: bool = True) -> list[str]:
        """Clauses saying why ``node`` is not ``want`` (it evaluated otherwise, or failed)."""
        try:
            got = self.value(node, env)
        except _Failed as err:
            return [self.unevaluable(node, env, err.message)]
        if got is want:
            return []
        kind = node.kind
        if kind == "unary" and node.value == "!":
            return self.why(node.args[0], env, not want)
        if kind == "binary" and node.value in ("&&", "||"):
            return self.why_chain(node, env, want)
        if kind == "binary" and node.value in _COMPARISONS:
            return [self.why_comparison(node, env, want)]
        if kind == "binary" and node.value == "in":
            return [self.why_in(node, env, want)]
        if kind == "macro" and node.target is not None:
            return self.why_macro(node, env, want)
        if kind == "cond" and len(node.args) == 3:
            ok, test = self.try_value(node.args[0], env)
            if ok and isinstance(test, bool):
                return self.why(node.args[1] if test else node.args[2], env, want)
        if kind == "has" and node.args:
            subject = self.term(node.args[0], env)
            return [f"{subject} is not present" if want else f"{subject} is present"]
        if not isinstance(got, bool):
            return [f"{self.term(node, env)} is {show(got)}, not true or false"]
        if self.is_leaf(node):
            return [f"{self.term(node, env)} is {show(got)}; it must be {show(want)}"]
        phrase = self.requirement(node, env)
        if isinstance(phrase, bool):
            phrase = self.term(node, env)
        return [f"{phrase} does not hold" if want else f"{phrase} holds; it must not"]

    def unevaluable(self, node: Node, env: _Env, message: str) -> str:
        phrase = self.requirement(node, env) if self.measured(node) else self.term(node, env)
        if isinstance(phrase, bool):
            phrase = self.term(node, env)
        # CEL's messages quote names the Python way ('x'); a sentence quotes them as text.
        quoted = _QUOTED.sub(r'"\1"', message)
        return f"{phrase} could not be checked ({quoted})"

    def why_chain(self, node: Node, env: _Env, want: bool) -> list[str]:
        op = node.value
        parts = _flatten(node, op)
        # With want=True an && needs every part true; with want=False an || needs every part
        # false: then each part that is not as wanted is a reason.
        every_part = (op == "&&") == want
        values = [self.try_value(p, env) for p in parts]
        if every_part:
            wrong = [p for p, (ok, v) in zip(parts, values, strict=True) if ok and v is not want]
            if not wrong:  # only errors: CEL absorbs an error only where a part decides
                wrong = [p for p, (ok, _) in zip(parts, values, strict=True) if not ok]
            out: list[str] = []
            for part in wrong:
                out.extend(self.why(part, env, want))
            return out
        # Any one part being as wanted would do, and none is: the record-dependent parts are
        # the alternatives; the others are guards already decided (say why they bind).
        live = [p for p in parts if self.measured(p) or any(_mentions(p, n) for n in env)]
        guards = [p for p in parts if p not in live]
        if not live:
            live, guards = parts, []
        alternatives = [self.why(p, env, want) for p in live]
        alternatives = [a for a in alternatives if a]
        if not alternatives:
            return [self.unevaluable(node, env, "no part of it holds")]
        text = "; ".join(alternatives[0])
        for other in alternatives[1:]:
            text += "; nor does the alternative hold: " + "; ".join(other)
        because = self.guard_reasons(guards, env)
        return [text + (f" ({because})" if because else "")]

    def guard_reasons(self, guards: list[Node], env: _Env) -> str:
        names: list[str] = []
        for guard in guards:
            for name in self.params_in(guard):
                if name not in names:
                    names.append(name)
        if not names:
            return ""
        shown = [
            f"{name} is {show(self.param(name), unit_of(name))}"
            + (f" {w}" if (w := source_words(self.scope.param_sources.get(name))) else "")
            for name in names
        ]
        return "required as " + " and ".join(shown)

    def why_comparison(self, node: Node, env: _Env, want: bool) -> str:
        op = node.value if want else _NEGATE[node.value]
        left, right = node.args
        if not self.measured(left) and self.measured(right):
            left, right, op = right, left, _FLIP[op]
        subject = self.term(left, env)
        ok, found = self.try_value(left, env)
        if _is_literal(right, None):
            if op == "!=":
                return f"{subject} is missing"
            return f"{subject} is {show(found)}; it must be missing"
        if _is_literal(right, ""):
            if op == "!=":
                return f"{subject} is empty"
            return f"{subject} is {show(found)}; it must be empty"
        if right.kind == "lit" and isinstance(right.value, bool) and op in ("==", "!="):
            return f"{subject} is {show(found)}; it must be {show(right.value == (op == '=='))}"
        unit = self.unit(left) or self.unit(right)
        found_text = self.found(left, env, found, unit)
        if self.measured(right):
            ok_r, other = self.try_value(right, env)
            other_term = self.term(right, env)
            is_time = isinstance(other, datetime)
            shown_other = show(other, unit) if ok_r else "unknown"
            if op in ("==", "!="):
                relation = "they must be equal" if op == "==" else "they must differ"
                return f"{found_text}, and {other_term} is {shown_other}; {relation}"
            return (
                f"{found_text}, and {other_term} is {shown_other}; {subject} must be "
                f"{bound_words(op, other_term, is_time=is_time)}"
            )
        value_text, note, value = self.reference(right, env, unit)
        if (
            op == ">"
            and isinstance(value, int)
            and not isinstance(value, bool)
            and isinstance(found, int)
        ):
            op, value_text = ">=", show(value + 1, unit)  # "more than 0 items" is "at least 1"
        suffix = f" ({note})" if note else ""
        if isinstance(value, datetime) or isinstance(found, datetime):
            relation = "" if op == "==" else _TIME_BOUNDS[op] + " "
            return f"{found_text}; it must be {relation}{value_text}{suffix}"
        if op == "==":
            return f"{found_text}; it must be {value_text}{suffix}"
        if op == "!=":
            return f"{found_text}, which is not allowed{suffix}"
        verdict = "allowed" if op in ("<", "<=") else "required"
        return f"{found_text}; {bound_words(op, value_text)} is {verdict}{suffix}"

    def found(self, node: Node, env: _Env, value: Any, unit: str | None) -> str:
        """The *found* half: ``actions has 0 items``, ``sample_size is 900``, ``it ran
        30 h 0 m (from started_at to ended_at)``."""
        if node.kind == "binary" and node.value == "-" and isinstance(value, timedelta):
            end, begin = (_select_path(n) if n.kind == "select" else None for n in node.args)
            if (
                end is not None
                and begin is not None
                and end[0] == begin[0]
                and end[0] not in self.scope.labels
                and len(end[1]) == len(begin[1]) == 1
                and end[1][0].endswith("ended_at")
                and begin[1][0] == end[1][0].replace("ended_at", "started_at")
            ):
                return f"it ran {span(value)} (from {begin[1][0]} to {end[1][0]})"
        if node.kind == "call" and node.value in ("double", "int", "uint", "dyn"):
            args = node.args if node.target is None else [node.target]
            if len(args) == 1:
                return self.found(args[0], env, value, unit)
        if node.kind == "call" and node.value == "size":
            args = node.args if node.target is None else [node.target]
            if len(args) == 1:
                target = args[0]
                count = value if isinstance(value, int) else 0
                if target.kind == "macro" and target.value == "filter" and target.target:
                    where = self.requirement(target.args[-1], env)
                    if isinstance(where, str):
                        return (
                            f"{self.term(target.target, env)} has {plural(count, 'item')} "
                            f"where {where}"
                        )
                return f"{self.term(target, env)} has {plural(count, 'item')}"
        return f"{self.term(node, env)} is {show(value, unit)}"

    def why_in(self, node: Node, env: _Env, want: bool) -> str:
        element, container = node.args
        _, item = self.try_value(element, env)
        ok, within = self.try_value(container, env)
        if self.measured(container):
            what = self.term(container, env)
            if isinstance(within, Mapping):
                return (
                    f"{what} has no entry {show(item)}"
                    if want
                    else f"{what} has an entry {show(item)}, which is not allowed"
                )
            return (
                f"{what} does not include {show(item)}"
                if want
                else f"{what} includes {show(item)}, which is not allowed"
            )
        value_text, note, _ = self.reference(container, env)
        suffix = f" ({note})" if note else ""
        relation = "one of" if want else "none of"
        return (
            f"{self.term(element, env)} is {show(item)}; it must be {relation} {value_text}{suffix}"
        )

    def why_macro(self, node: Node, env: _Env, want: bool) -> list[str]:
        assert node.target is not None
        name = node.value
        var = node.var
        predicate = node.args[-1]
        self.qualify(node, env)
        ok, container = self.try_value(node.target, env)
        items = list(container) if ok and isinstance(container, list | tuple | dict) else []
        target = self.term(node.target, env)
        if name == "all" and want or name == "exists" and not want:
            # One item is the reason: the first that is not as every item must be.
            for index, item in enumerate(items):
                inner = {**env, var: item}
                good, result = self.try_value(predicate, inner)
                if good and result is want:
                    continue
                clauses = self.why(predicate, inner, want)
                label = self.item_label(node.target, env, index, item, len(items))
                text = "; ".join(clauses)
                if label and not (_is_scalar(item) and show(item) in text):
                    text = f"{label}: {text}"
                return [text]
            return [self.unevaluable(node, env, "no item explains it")]
        phrase = self.requirement(predicate, env)
        if isinstance(phrase, bool):
            phrase = "true" if phrase else "false"
        if name == "exists":  # want True: no item qualifies
            if not items:
                return [f"{target} has no items"]
            return [f"{target} has no item where {phrase}"]
        if name == "all":  # want False: every item qualifies but must not
            return [f"every item of {target} meets this, which is not allowed: {phrase}"]
        if name == "exists_one":
            count = sum(
                1 for item in items if self.try_value(predicate, {**env, var: item}) == (True, True)
            )
            expected = "exactly one is required" if want else "exactly one is not allowed"
            return [f"{target} has {plural(count, 'item')} where {phrase}; {expected}"]
        return [f"{target} does not hold"]

    def qualify(self, macro: Node, env: _Env) -> None:
        """Name the item's fields with its noun where the record has a field of the same
        name in the predicate: ``the alert's rotation_id`` beside ``rotation_id of ...``."""
        assert macro.target is not None
        own: set[str] = set()
        other: set[str] = set()

        def walk(n: Node) -> None:
            path = _select_path(n) if n.kind == "select" else None
            if path is not None:
                (own if path[0] == macro.var else other).add(path[1][0])
                return
            if n.target is not None:
                walk(n.target)
            for arg in n.args:
                walk(arg)

        walk(macro.args[-1])
        clash = own & other
        if clash:
            self.qualified[macro.var] = self.item_noun(macro.target, env)
            self.clashing |= clash

    def item_noun(self, target: Node, env: _Env) -> str:
        path = _select_path(target) if target.kind == "select" else None
        return _singular(path[1][-1] if path is not None else self.term(target, env))

    def item_label(self, target: Node, env: _Env, index: int, item: Any, total: int) -> str:
        if isinstance(item, Mapping):
            noun = self.item_noun(target, env)
            for key in _IDENTIFYING_KEYS:
                value = item.get(key)
                if isinstance(value, str) and value:
                    return f"{noun} {show(value)}"
            return f"{noun} {index + 1} of {total}"
        return f"for {show(item)}"


def _mentions(node: Node, name: str) -> bool:
    found: list[Node] = []
    free_variables(node, frozenset(), found)
    return any(n.value == name for n in found)


def _singular(words: str) -> str:
    if " " in words:
        return f"the item of {words}"
    if words.endswith("ies"):
        return words[:-3] + "y"
    if words.endswith("s") and not words.endswith("ss"):
        return words[:-1]
    return f"{words} item"


def _merge_alternatives(words: list[str]) -> list[str]:
    """``priority is "P0"`` or ``priority is "P1"`` -> ``priority is "P0" or "P1"``."""
    merged: list[str] = []
    for phrase in words:
        head, _, tail = phrase.rpartition(" is ")
        if merged and head and " is " in merged[-1]:
            prev_head = merged[-1].split(" is ", 1)[0]
            if prev_head == head and " and " not in tail and " or " not in head:
                merged[-1] = f"{merged[-1]} or {tail}"
                continue
        merged.append(phrase)
    return merged


# --------------------------------------------------------------------------- public


def unmet(source: str, scope: Scope) -> Unmet:
    """Why ``source`` is not true on ``scope``'s values.

    Each operand of a top-level ``&&`` that is false gets its clauses (operands that
    could not be evaluated only when none is false: CEL's ``&&`` absorbs an error beside
    a false operand); the condition is the CEL of those operands."""
    tree = _tree(source)
    if tree is None:
        return Unmet(("the condition is not met",), _one_line(source))
    words = _Words(source, scope)
    parts = _flatten(tree, "&&")
    values = [words.try_value(p, {}) for p in parts]
    failing = [p for p, (ok, v) in zip(parts, values, strict=True) if ok and v is not True]
    if not failing:
        failing = [p for p, (ok, _) in zip(parts, values, strict=True) if not ok] or [tree]
    clauses: list[str] = []
    for part in failing:
        clauses.extend(words.why(part, {}))
    if not clauses:
        clauses = ["the condition is not met"]
    condition = " && ".join(_one_line(words.text(p)) for p in failing)
    return Unmet(tuple(clauses), condition)


def requirement(source: str, scope: Scope) -> str:
    """What ``source`` requires of a record, in words (parts that do not depend on the
    record are worked out: ``always`` / ``never`` when that decides it)."""
    tree = _tree(source)
    if tree is None:
        return "the condition holds"
    got = _Words(source, scope).requirement(tree, {})
    if isinstance(got, bool):
        return "always" if got else "never"
    return got


def measure(source: str, scope: Scope) -> str:
    """What a value expression measures, as a noun phrase."""
    tree = _tree(source)
    if tree is None:
        return "the value"
    return _Words(source, scope).term(tree, {})


def unit(source: str) -> str | None:
    """The unit a value expression's field names declare (``budget_burn_pct`` -> %)."""
    tree = _tree(source)
    if tree is None:
        return None
    return _Words(source, Scope({})).unit(tree)


@dataclass(frozen=True)
class PooledRatio:
    """A sum written as ``on_time - share * due`` (exact where a ratio of sums is meant):
    the statistic a reader wants is ``sum(on_time) / sum(due)`` against ``share``."""

    numerator: str
    denominator: str
    share: str
    phrase: str


def pooled_ratio(source: str, scope: Scope) -> PooledRatio | None:
    """Recognise ``A - k * B`` (or ``A - B * k``) with ``k`` not depending on the record."""
    tree = _tree(source)
    if tree is None or tree.kind != "binary" or tree.value != "-":
        return None
    numerator, product = tree.args
    if product.kind != "binary" or product.value != "*":
        return None
    words = _Words(source, scope)
    first, second = product.args
    if not words.measured(first) and words.measured(second):
        share, denominator = first, second
    elif words.measured(first) and not words.measured(second):
        denominator, share = first, second
    else:
        return None
    if not words.measured(numerator):
        return None
    return PooledRatio(
        numerator=words.text(numerator),
        denominator=words.text(denominator),
        share=words.text(share),
        phrase=_ratio_phrase(words, numerator, denominator),
    )


def _counted(node: Node) -> Node | None:
    """``double(size(L.filter(v, P)))`` -> the filter node."""
    while node.kind == "call" and node.value in ("double", "int", "uint", "dyn"):
        args = node.args if node.target is None else [node.target]
        if len(args) != 1:
            return None
        node = args[0]
    if node.kind != "call" or node.value != "size":
        return None
    args = node.args if node.target is None else [node.target]
    if len(args) != 1 or args[0].kind != "macro" or args[0].value != "filter":
        return None
    return args[0]


def _ratio_phrase(words: _Words, numerator: Node, denominator: Node) -> str:
    top, bottom = _counted(numerator), _counted(denominator)
    if (
        top is not None
        and bottom is not None
        and top.target is not None
        and bottom.target is not None
        and words.text(top.target) == words.text(bottom.target)
        and top.var == bottom.var
    ):
        shared = {words.text(p) for p in _flatten(bottom.args[-1], "&&")}
        rest = [p for p in _flatten(top.args[-1], "&&") if words.text(p) not in shared]
        base = words.requirement(bottom.args[-1], {})
        extra = [words.requirement(p, {}) for p in rest]
        extra_words = [e for e in extra if isinstance(e, str)]
        items = words.term(top.target, {})
        if isinstance(base, str) and extra_words:
            joined = " and ".join(f"({e})" if " or " in e else e for e in extra_words)
            return f"the share of {items} where {base} that also meet: {joined}"
    return (
        f"the ratio of the total of {words.term(numerator, {})} to the total of "
        f"{words.term(denominator, {})}"
    )


def evaluate(source: str, scope: Scope) -> Any:
    """Evaluate ``source`` on ``scope``; raise ExpressionRuntimeError when it fails."""
    compiled = _compiled(source, frozenset(scope.variables))
    if compiled is None:
        raise ExpressionRuntimeError("the expression could not be compiled")
    return compiled.evaluate(scope.variables)
