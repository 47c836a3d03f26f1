"""A Pratt parser for CEL text already known to be valid (the ``cel`` package parses it
first, so every syntax error comes from the reference parser), and the analyses that read
its tree: free variables and top-level logic chains."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import _native as cel
from .errors import Unsupported
from .values import INT_MAX

# --------------------------------------------------------------------------- tokens

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\n\f]+|//[^\n]*)
  | (?P<string>[rR]?[bB]?[rR]?(?:'''|\"\"\"|'|\"))
  | (?P<double>(?:[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+
               |\.[0-9]+(?:[eE][+-]?[0-9]+)?))
  | (?P<int>0[xX][0-9a-fA-F]+[uU]?|[0-9]+[uU]?)
  | (?P<ident>[_a-zA-Z][_a-zA-Z0-9]*)
  | (?P<op>&&|\|\||==|!=|<=|>=|[-+*/%<>!?:.,()\[\]{}])
    """,
    re.VERBOSE,
)
_KEYWORD_LITERALS = {"true": True, "false": False, "null": None}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # int, uint, double, string, bytes, ident, op, eof
    text: str
    start: int
    end: int


def _string_end(src: str, pos: int, quote: str, raw: bool) -> int:
    """Offset just past the closing quote of a string literal that starts at ``pos``."""
    i = pos
    while i < len(src):
        if not raw and src[i] == "\\":
            i += 2
            continue
        if src.startswith(quote, i):
            return i + len(quote)
        i += 1
    raise Unsupported  # the real parser accepted it: our reading must be wrong


def _tokenize(src: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(src):
        match = _TOKEN_RE.match(src, pos)
        if match is None:
            raise Unsupported
        kind = match.lastgroup or ""
        if kind == "ws":
            pos = match.end()
            continue
        if kind == "string":
            prefix = match.group().rstrip("'\"")
            quote = match.group()[len(prefix) :]
            end = _string_end(src, match.end(), quote, "r" in prefix.lower())
            kind = "bytes" if "b" in prefix.lower() else "string"
            tokens.append(_Token(kind, src[pos:end], pos, end))
            pos = end
            continue
        text = match.group()
        if kind == "int" and text[-1] in "uU":
            kind = "uint"
        tokens.append(_Token(kind, text, pos, match.end()))
        pos = match.end()
    tokens.append(_Token("eof", "", len(src), len(src)))
    return tokens


# --------------------------------------------------------------------------- syntax tree


@dataclass(slots=True)
class Node:
    kind: str  # lit, ident, select, has, index, call, list, map, unary, binary, cond, macro
    start: int
    end: int
    value: Any = None  # literal value, identifier/field/function/operator name
    args: list[Node] = field(default_factory=list)
    target: Node | None = None  # operand of select/index/receiver call
    var: str = ""  # variable bound by a macro


_MACROS = {"all", "exists", "exists_one", "map", "filter"}
_BINARY_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 3,
    "<=": 3,
    ">": 3,
    ">=": 3,
    "in": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
}


class Parser:
    """A Pratt parser for CEL (the text is already known to be valid CEL)."""

    def __init__(self, src: str):
        self.src = src
        self.tokens = _tokenize(src)
        self.pos = 0

    def parse(self) -> Node:
        node = self.expr()
        if self.peek().kind != "eof":
            raise Unsupported
        return node

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def next(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def accept(self, text: str) -> bool:
        token = self.peek()
        if token.kind in ("op", "ident") and token.text == text:
            self.pos += 1
            return True
        return False

    def expect(self, text: str) -> _Token:
        token = self.next()
        if token.text != text or token.kind not in ("op", "ident"):
            raise Unsupported
        return token

    def expr(self) -> Node:
        cond = self.binary(1)
        if not self.accept("?"):
            return cond
        then = self.binary(1)
        self.expect(":")
        other = self.expr()
        return Node("cond", cond.start, other.end, args=[cond, then, other])

    def binary(self, min_precedence: int) -> Node:
        left = self.unary()
        while True:
            token = self.peek()
            op = token.text if token.kind in ("op", "ident") else ""
            precedence = _BINARY_PRECEDENCE.get(op, 0)
            if precedence < min_precedence:
                return left
            self.next()
            right = self.binary(precedence + 1)  # all binary operators are left-associative
            left = Node("binary", left.start, right.end, value=op, args=[left, right])

    def unary(self) -> Node:
        token = self.peek()
        if token.kind != "op" or token.text not in ("!", "-"):
            return self.member()
        count = 0
        while self.peek().kind == "op" and self.peek().text == token.text:
            self.next()
            count += 1
        operand = self.member()
        if count % 2 == 0:
            return operand  # the CEL parser drops an even run of '!' or '-'
        if (
            token.text == "-"
            and operand.kind == "lit"
            and type(operand.value) in (int, float)
            and -operand.value <= INT_MAX
        ):
            # a negative literal, as CEL's grammar reads it (allows -2^63)
            return Node("lit", token.start, operand.end, value=-operand.value)
        return Node("unary", token.start, operand.end, value=token.text, args=[operand])

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.accept("."):
                name = self.next()
                if name.kind != "ident":
                    raise Unsupported  # optional field selection (.?) and the like
                if self.accept("("):
                    args = self.arguments(")")
                    end = self.tokens[self.pos - 1].end
                    node = self.call(node, name.text, args, node.start, end)
                else:
                    if self.peek().text == "{" and self.peek().kind == "op":
                        raise Unsupported  # message construction
                    node = Node("select", node.start, name.end, value=name.text, target=node)
            elif self.accept("["):
                if self.peek().text == "?":
                    raise Unsupported  # optional index
                index = self.expr()
                end = self.expect("]").end
                node = Node("index", node.start, end, target=node, args=[index])
            else:
                return node

    def call(self, target: Node | None, name: str, args: list[Node], start: int, end: int) -> Node:
        if target is not None and name in _MACROS and args and args[0].kind == "ident":
            if (name == "map" and len(args) in (2, 3)) or len(args) == 2:
                return Node(
                    "macro", start, end, value=name, target=target, args=args[1:],
                    var=args[0].value,
                )  # fmt: skip
        if target is None and name == "has" and len(args) == 1 and args[0].kind == "select":
            return Node("has", start, end, args=args)
        return Node("call", start, end, value=name, target=target, args=args)

    def arguments(self, close: str) -> list[Node]:
        args: list[Node] = []
        while not self.accept(close):
            args.append(self.expr())
            if not self.accept(","):
                self.expect(close)
                break
        return args

    def primary(self) -> Node:
        token = self.next()
        if token.kind == "ident":
            if token.text in _KEYWORD_LITERALS:
                return Node("lit", token.start, token.end, value=_KEYWORD_LITERALS[token.text])
            if self.accept("("):
                args = self.arguments(")")
                return self.call(None, token.text, args, token.start, self.tokens[self.pos - 1].end)
            if self.peek().text == "{" and self.peek().kind == "op":
                raise Unsupported  # message construction
            return Node("ident", token.start, token.end, value=token.text)
        if token.kind == "int":
            text = token.text
            value = int(text, 16) if text[:2] in ("0x", "0X") else int(text)
            return Node("lit", token.start, token.end, value=value)
        if token.kind == "double":
            return Node("lit", token.start, token.end, value=float(token.text))
        if token.kind == "string":
            # the real parser decodes the escapes, so the value is exactly CEL's
            return Node("lit", token.start, token.end, value=cel.evaluate(token.text))
        if token.kind in ("uint", "bytes"):
            return Node("unsupported", token.start, token.end)
        if token.kind == "op":
            if token.text == "-" and self.peek().kind in ("int", "double"):
                # a signed literal after '!' (CEL's literal rule carries the sign)
                literal = self.primary()
                if -literal.value > INT_MAX:
                    raise Unsupported
                return Node("lit", token.start, literal.end, value=-literal.value)
            if token.text == "(":
                inner = self.expr()
                end = self.expect(")").end
                return Node(inner.kind, token.start, end, inner.value, inner.args, inner.target,
                             inner.var)  # fmt: skip
            if token.text == "[":
                items = self.arguments("]")
                return Node("list", token.start, self.tokens[self.pos - 1].end, args=items)
            if token.text == "{":
                entries: list[Node] = []
                while not self.accept("}"):
                    if self.peek().text == "?":
                        raise Unsupported
                    entries.append(self.expr())
                    self.expect(":")
                    entries.append(self.expr())
                    if not self.accept(","):
                        self.expect("}")
                        break
                return Node("map", token.start, self.tokens[self.pos - 1].end, args=entries)
        raise Unsupported  # e.g. a leading-dot qualified name


def free_variables(node: Node, bound: frozenset[str], out: list[Node]) -> None:
    """Collect the identifier nodes that refer to context variables, in source order.
    Iterative: a long chain of operators must not exhaust Python's recursion."""
    stack: list[tuple[Node, frozenset[str]]] = [(node, bound)]
    while stack:
        current, names = stack.pop()
        if current.kind == "ident":
            if current.value not in names:
                out.append(current)
            continue
        inner = names | {current.var} if current.kind == "macro" else names
        children = [(arg, inner) for arg in current.args]
        if current.target is not None:
            children.insert(0, (current.target, names))
        stack.extend(reversed(children))


@dataclass(frozen=True, slots=True)
class TreeStats:
    """The size of a syntax tree, for the compile-time bounds."""

    nodes: int
    depth: int
    cost: int
    """Estimated evaluations in the worst case: a macro multiplies its body's cost by the
    length of the list it runs over (a literal's length, else :data:`UNKNOWN_LENGTH`)."""


UNKNOWN_LENGTH = 100
"""The length a macro's list is assumed to have when it is not a literal (a record field)."""


def tree_stats(tree: Node) -> TreeStats:
    """Nodes, depth and estimated cost of ``tree`` (iteratively: no recursion limit)."""
    order: list[tuple[Node, int]] = []
    stack: list[tuple[Node, int]] = [(tree, 1)]
    depth = 0
    while stack:
        node, level = stack.pop()
        order.append((node, level))
        depth = max(depth, level)
        if node.target is not None:
            stack.append((node.target, level + 1))
        stack.extend((arg, level + 1) for arg in node.args)
    cost: dict[int, int] = {}
    for node, _ in reversed(order):  # children before their parent
        own = 1 + (cost[id(node.target)] if node.target is not None else 0)
        body = sum(cost[id(arg)] for arg in node.args)
        if node.kind == "macro":
            target = node.target
            length = len(target.args) if target is not None and target.kind == "list" else None
            own += (length if length is not None else UNKNOWN_LENGTH) * max(body, 1)
        else:
            own += body
        cost[id(node)] = own
    return TreeStats(len(order), depth, cost[id(tree)])


def logic_parts(source: str) -> tuple[str, list[str]] | None:
    """For a top-level ``a && b && c`` (or ``||``) chain, the operator and the source text of
    each operand; None for anything else. Lets a caller evaluate the operands that do not
    depend on the record once, instead of once per record."""
    try:
        tree = Parser(source).parse()
    except (Unsupported, RecursionError, ValueError, RuntimeError):
        return None
    if tree.kind != "binary" or tree.value not in ("&&", "||"):
        return None
    op: str = tree.value
    parts: list[str] = []

    def flatten(node: Node) -> None:
        if node.kind == "binary" and node.value == op:
            flatten(node.args[0])
            flatten(node.args[1])
        else:
            parts.append(source[node.start : node.end])

    flatten(tree)
    return op, parts


def variable_paths(source: str, variable: str) -> list[tuple[str, ...]] | None:
    """The field paths read from ``variable``, e.g. ``[("metadata", "team")]`` for
    ``workflow.metadata.team == "a"``; a path stops where anything but a field selection
    follows (an index, a call, the bare variable). None when the text is beyond this
    parser (then nothing can be said about what it reads)."""
    try:
        tree = Parser(source).parse()
    except (Unsupported, RecursionError, ValueError, RuntimeError):
        return None
    paths: list[tuple[str, ...]] = []
    stack: list[tuple[Node, frozenset[str]]] = [(tree, frozenset())]
    while stack:
        node, bound = stack.pop()
        if node.kind in ("select", "has"):
            chain: list[str] = []
            current: Node | None = node.args[0] if node.kind == "has" else node
            while current is not None and current.kind == "select":
                chain.append(current.value)
                current = current.target
            if current is not None and current.kind == "ident":
                if current.value == variable and variable not in bound:
                    paths.append(tuple(reversed(chain)))
                continue
            if current is not None:
                stack.append((current, bound))
            continue
        if node.kind == "ident":
            if node.value == variable and variable not in bound:
                paths.append(())
            continue
        inner = bound | {node.var} if node.kind == "macro" else bound
        if node.target is not None:
            stack.append((node.target, bound))
        stack.extend((arg, inner) for arg in node.args)
    return paths
