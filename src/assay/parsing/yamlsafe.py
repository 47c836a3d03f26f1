"""Safe YAML loading with source positions.

Stricter than ``yaml.safe_load``: duplicate keys, anchors and aliases (billion-laughs),
non-string keys, deep nesting and oversized documents are refused with a located error.
Booleans follow YAML 1.2 (only true/false), so ``country: no`` stays a string.

Every loaded document comes with a :class:`Positions` map from JSON pointer to
(line, column), so that later validation errors can name the exact spot.
"""

from __future__ import annotations

import re
from typing import Any, cast

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from ..errors import ErrorCode, InputError, Location

MAX_DEPTH = 64


def check_size(data: bytes | str, file: str, limit: int) -> None:
    """Refuse a file over ``limit`` bytes (a guard against resource exhaustion)."""
    if len(data) > limit:
        raise InputError(
            f"file is {len(data)} bytes, larger than the limit of {limit} bytes",
            location=Location(file),
            code=ErrorCode.SIZE,
        )


def decode_utf8(data: bytes, file: str) -> str:
    """Decode UTF-8 or raise an InputError at the line and column of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise InputError(
            f"not valid UTF-8 (byte 0x{data[err.start]:02x})",
            location=Location(file, line, column),
            code=ErrorCode.ENCODING,
        ) from None


class _Strict(Composer, SafeConstructor, Resolver):
    """Composer and constructor hooks that refuse anchors, aliases, merge keys and duplicate
    or non-string keys. Mixed with libyaml's C parser when available (the scanner is where
    PyYAML spends its time), else with the pure-Python one."""

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event: Any = cast(Any, self).peek_event()
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            raise yaml.MarkedYAMLError(
                None, None, "aliases (*name) are not allowed in Assay files", mark
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise yaml.MarkedYAMLError(
                None, None, f"anchors (&{anchor}) are not allowed in Assay files", event.start_mark
            )
        return Composer.compose_node(self, parent, index)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise yaml.MarkedYAMLError(
                    None, None, "merge keys (<<) are not allowed", key_node.start_mark
                )
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                raise yaml.MarkedYAMLError(
                    None,
                    None,
                    f"keys must be strings, got {key_node.tag.rsplit(':', 1)[-1]} (quote the key)",
                    key_node.start_mark,
                )
            if key_node.value in seen:
                first = seen[key_node.value].start_mark.line + 1
                raise yaml.MarkedYAMLError(
                    None,
                    None,
                    f"duplicate key {key_node.value!r} (first defined at line {first})",
                    key_node.start_mark,
                )
            seen[key_node.value] = key_node
        return SafeConstructor.construct_mapping(self, node, deep=deep)


# YAML 1.2 booleans only: drop the 1.1 yes/no/on/off resolver and add a strict one.
_Strict.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in Resolver.yaml_implicit_resolvers.copy().items()
}
_Strict.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _PyParser(Reader, Scanner, Parser):
    """The pure-Python parser, for a PyYAML built without libyaml."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)


def _parser_class() -> type:
    try:
        from yaml.cyaml import CParser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        return _PyParser
    return CParser


_PARSER: Any = _parser_class()


def _init_loader(self: Any, stream: str) -> None:
    _PARSER.__init__(self, stream)
    Composer.__init__(self)
    SafeConstructor.__init__(self)
    Resolver.__init__(self)


# Python composition (where the strict hooks live) over the fastest available parser.
_StrictLoader: Any = type("_StrictLoader", (_Strict, _PARSER), {"__init__": _init_loader})


class Positions:
    """Maps JSON pointers of a document to 1-based (line, column)."""

    def __init__(
        self,
        file: str,
        table: dict[str, tuple[int, int]],
        line_offset: int = 0,
        content: dict[str, tuple[int, int, str]] | None = None,
    ):
        self.file = file
        self._table = table
        self._offset = line_offset
        self._content = content or {}

    def text_location(self, pointer: str, line: int, column: int) -> Location:
        """The location of (1-based) ``line``/``column`` inside the string value at ``pointer``,
        taking quotes and block scalars (``|``, ``>``) into account."""
        found = self._content.get(pointer)
        if found is None:
            return self.location(pointer)
        first_line, first_column, style = found
        if style in ("|", ">"):
            # Block scalar: content starts on the next line at its indentation.
            return Location(
                self.file,
                first_line + line - 1 + self._offset,
                first_column + column - 1,
                pointer or None,
            )
        if line > 1:
            return Location(
                self.file, first_line + line - 1 + self._offset, column, pointer or None
            )
        shift = 1 if style in ("'", '"') else 0
        return Location(
            self.file, first_line + self._offset, first_column + shift + column - 1, pointer or None
        )

    def location(self, pointer: str = "") -> Location:
        """The location of ``pointer``, or of its nearest ancestor that has one."""
        probe = pointer
        while True:
            if probe in self._table:
                line, column = self._table[probe]
                return Location(self.file, line + self._offset, column, pointer or None)
            if not probe:
                return Location(self.file, None, None, pointer or None)
            probe = probe.rsplit("/", 1)[0]

    def key_location(self, pointer: str) -> Location:
        """The location of the key that ``pointer`` names (for unknown-key errors)."""
        found = self._table.get(pointer + "#key")
        if found is None:
            return self.location(pointer)
        return Location(self.file, found[0] + self._offset, found[1], pointer or None)

    def shifted(self, prefix: str) -> Positions:
        """A view whose pointers are relative to ``prefix``."""
        table = {
            key[len(prefix) :]: value
            for key, value in self._table.items()
            if key == prefix or key.startswith(prefix + "/")
        }
        content = {
            key[len(prefix) :]: value
            for key, value in self._content.items()
            if key == prefix or key.startswith(prefix + "/")
        }
        return Positions(self.file, table, self._offset, content)


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _positions(
    root: Node, file: str, lines: list[str]
) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int, str]]]:
    table: dict[str, tuple[int, int]] = {}
    content: dict[str, tuple[int, int, str]] = {}
    stack: list[tuple[Node, str, int]] = [(root, "", 0)]
    while stack:
        node, pointer, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(
                f"nesting deeper than {MAX_DEPTH} levels is not allowed",
                location=Location(file, node.start_mark.line + 1, node.start_mark.column + 1),
                code=ErrorCode.YAML,
            )
        table[pointer] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, ScalarNode):
            style = node.style or ""
            if style in ("|", ">"):
                # Content starts on the line after the indicator, at that line's indentation.
                index = node.start_mark.line + 1
                text = lines[index] if index < len(lines) else ""
                indent = len(text) - len(text.lstrip(" "))
                content[pointer] = (index + 1, indent + 1, style)
            else:
                content[pointer] = (node.start_mark.line + 1, node.start_mark.column + 1, style)
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                child = f"{pointer}/{escape_pointer_token(str(key_node.value))}"
                # Point at the key: that is where a reader looks for "the field".
                table[child + "#key"] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                stack.append((value_node, child, depth + 1))
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, f"{pointer}/{i}", depth + 1))
    return table, content


def load_yaml(
    data: bytes | str, file: str, *, max_bytes: int, line_offset: int = 0
) -> tuple[Any, Positions]:
    """Parse one YAML document safely; return the data and its position map.

    Raises :class:`InputError` with file, line and column for every refusal.
    """
    check_size(data, file, max_bytes)
    text = decode_utf8(data, file) if isinstance(data, bytes) else data
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, Positions(file, {}, line_offset)
        table, content = _positions(node, file, text.split("\n"))
        value = loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "invalid YAML"
        if err.context and err.problem:
            problem = f"{err.context}: {err.problem}"
        raise InputError(
            str(problem),
            location=Location(
                file,
                (mark.line + 1 + line_offset) if mark else None,
                (mark.column + 1) if mark else None,
            ),
            code=ErrorCode.YAML,
        ) from None
    except yaml.YAMLError as err:
        raise InputError(
            f"invalid YAML: {err}", location=Location(file), code=ErrorCode.YAML
        ) from None
    except RecursionError:
        raise InputError("nesting too deep", location=Location(file), code=ErrorCode.YAML) from None
    finally:
        loader.dispose()
    return value, Positions(file, table, line_offset, content)
