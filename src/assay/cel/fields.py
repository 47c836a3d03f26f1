"""The record fields a CEL condition reads: every ``r.<field>`` (and ``src.<field>``)
selection, read from the syntax tree, so a report can show the fields a decision rested on.

Only the first field after the variable counts (``r.metrics.all(m, m.delta < 0.1)`` reads
``metrics``): that is the key a reader finds in the record. ``r["field"]`` with a literal
key counts too; a computed key does not name a field and is skipped. A macro variable that
shadows ``r`` (``r.items.all(r, r.x)``) is not the record.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import Unsupported
from .parser import Node, Parser, _tokenize


def record_fields(
    source: str, variables: Iterable[str] = ("r", "src")
) -> dict[str, tuple[str, ...]]:
    """For each of ``variables``, the fields ``source`` selects on it, in source order
    and without repeats (a variable it never selects on maps to ``()``)."""
    names = tuple(variables)
    found: dict[str, list[str]] = {name: [] for name in names}
    try:
        tree = Parser(source).parse()
    except (Unsupported, RecursionError, ValueError, RuntimeError):
        _scan_tokens(source, found)
    else:
        _walk(tree, frozenset(), found)
    return {name: tuple(dict.fromkeys(fields)) for name, fields in found.items()}


def _selected(node: Node, bound: frozenset[str], found: dict[str, list[str]]) -> str | None:
    """The field name when ``node`` selects a field directly on a free record variable."""
    target = node.target
    if target is None or target.kind != "ident" or target.value in bound:
        return None
    if target.value not in found:
        return None
    if node.kind == "select":
        return str(node.value)
    if node.kind == "index" and node.args and node.args[0].kind == "lit":
        key = node.args[0].value
        return key if isinstance(key, str) else None
    return None


def _walk(node: Node, bound: frozenset[str], found: dict[str, list[str]]) -> None:
    # Iterative, in source order: conditions can nest deeply and recursion costs frames.
    stack: list[tuple[Node, frozenset[str]]] = [(node, bound)]
    while stack:
        current, scope = stack.pop()
        if current.kind in ("select", "index"):
            name = _selected(current, scope, found)
            if name is not None:
                target = current.target
                assert target is not None
                found[str(target.value)].append(name)
        inner = scope | {current.var} if current.kind == "macro" else scope
        children: list[tuple[Node, frozenset[str]]] = []
        if current.target is not None:
            # The receiver of a macro is evaluated outside the macro's own variable.
            children.append((current.target, scope))
        children.extend((arg, inner) for arg in current.args)
        children.sort(key=lambda child: child[0].start)
        stack.extend(reversed(children))


def _scan_tokens(source: str, found: dict[str, list[str]]) -> None:
    """A construct the parser does not read (message construction, optional selection):
    take ``var . ident`` token runs that are not themselves a selection's tail."""
    try:
        tokens = _tokenize(source)
    except Unsupported:
        return
    for i in range(len(tokens) - 2):
        head, dot, name = tokens[i], tokens[i + 1], tokens[i + 2]
        preceded = i > 0 and tokens[i - 1].kind == "op" and tokens[i - 1].text == "."
        if (
            head.kind == "ident"
            and head.text in found
            and not preceded
            and dot.kind == "op"
            and dot.text == "."
            and name.kind == "ident"
        ):
            found[head.text].append(name.text)
