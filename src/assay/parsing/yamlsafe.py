"""Safe YAML loading with source positions.

Stricter than ``yaml.safe_load``: duplicate keys, anchors and aliases (billion-laughs),
non-string keys, deep nesting and oversized documents are refused with a located error.

Scalars follow the YAML 1.2 core schema, never YAML 1.1's coercions:

* booleans are only ``true``/``false`` (``country: no`` stays a string);
* integers are plain decimal (``-12``, ``0``, ``300``) within 64 bits; YAML 1.1's forms
  (``190:20:30``, ``0b1010``, ``012``, ``12_000``, ``0x1F``) stay strings, so a field that
  wants a number refuses them instead of reading something the author did not mean;
* floats are decimal (``0.25``, ``1e-3``) and finite: ``.inf``, ``.nan`` and ``1e999`` are
  refused (a NaN compares false with everything and would hide a breach);
* timestamps (``2026-05-01``, ``2026-05-01T12:00:00Z``) must be real dates and times: an
  impossible one (``2026-02-30``, ``24:00``, ``+25:00``, year 0) is refused where it is;
* explicit tags are limited to the core ones (``!!str``, ``!!int``, ``!!float``,
  ``!!bool``, ``!!null``, ``!!timestamp``, ``!!map``, ``!!seq``); ``!!binary``,
  ``!!set``, ``!!omap``, ``!!pairs`` and every application tag are refused.

A constructor never escapes as a bare exception: every refusal is an :class:`InputError`
naming the file, line and column of the scalar.

Every loaded document comes with a :class:`Positions` map from JSON pointer to
(line, column), so that later validation errors can name the exact spot.
"""

from __future__ import annotations

import math
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
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_INT_RE = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT_RE = re.compile(
    r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][-+]?[0-9]+)?$"
    r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
)
_CORE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
)


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

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event: Any = cast(Any, self).peek_event()
        mark: Any = event.start_mark
        if self._depth > MAX_DEPTH and isinstance(
            event, yaml.SequenceStartEvent | yaml.MappingStartEvent
        ):
            # Refused while composing, before the recursion gets deep: a flow sequence of
            # 100,000 `[` must not reach Python's recursion limit.
            raise yaml.MarkedYAMLError(
                None, None, f"nesting deeper than {MAX_DEPTH} levels is not allowed", mark
            )
        if isinstance(event, yaml.AliasEvent):
            raise yaml.MarkedYAMLError(
                None, None, "aliases (*name) are not allowed in Assay files", mark
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise yaml.MarkedYAMLError(
                None, None, f"anchors (&{anchor}) are not allowed in Assay files", event.start_mark
            )
        self._depth += 1
        try:
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node.tag not in _CORE_TAGS:
            raise yaml.MarkedYAMLError(
                None,
                None,
                f"the tag {_short_tag(node.tag)} is not allowed in Assay files",
                node.start_mark,
            )
        try:
            value = SafeConstructor.construct_object(self, node, deep=deep)
            if type(value) is str and not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    # "\ud800" in a double-quoted scalar: a lone surrogate is no character,
                    # and every output format would fail on it later.
                    raise yaml.MarkedYAMLError(
                        None,
                        None,
                        "a lone surrogate escape (\\ud800-\\udfff) is not a character",
                        node.start_mark,
                    ) from None
            return value
        except yaml.MarkedYAMLError:
            raise
        except (ValueError, TypeError, OverflowError, AttributeError, KeyError) as err:
            # PyYAML's constructors raise bare exceptions for impossible values
            # (`2026-02-30`, `!!int x`); say what and where instead.
            raise yaml.MarkedYAMLError(
                None, None, _constructor_problem(node, err), node.start_mark
            ) from None

    def construct_yaml_int(self, node: ScalarNode) -> int:
        text = str(self.construct_scalar(node))
        if not _INT_RE.match(text):
            raise yaml.MarkedYAMLError(
                None,
                None,
                f"expected a decimal integer, got {_quote(text)}",
                node.start_mark,
            )
        if len(text.lstrip("+-")) > 19:
            raise yaml.MarkedYAMLError(None, None, _INT_RANGE, node.start_mark)
        value = int(text)
        if not INT64_MIN <= value <= INT64_MAX:
            raise yaml.MarkedYAMLError(None, None, _INT_RANGE, node.start_mark)
        return value

    def construct_yaml_float(self, node: ScalarNode) -> float:
        text = str(self.construct_scalar(node))
        if not _FLOAT_RE.match(text):
            raise yaml.MarkedYAMLError(
                None, None, f"expected a decimal number, got {_quote(text)}", node.start_mark
            )
        if len(text) > 100:
            raise yaml.MarkedYAMLError(
                None, None, "a number of more than 100 characters is not allowed", node.start_mark
            )
        bare = text.lower().lstrip("+-")
        value = math.inf if bare in (".inf", ".nan") else float(text)
        if not math.isfinite(value):
            raise yaml.MarkedYAMLError(
                None,
                None,
                "numbers must be finite (.inf, .nan and out-of-range values like 1e999 are "
                "not allowed)",
                node.start_mark,
            )
        return value

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


_INT_RANGE = "integer out of range (Assay's integers are 64-bit: -2^63 to 2^63-1)"


def _short_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!") if tag.startswith("tag:yaml.org") else tag


def _quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _constructor_problem(node: Node, err: Exception) -> str:
    what = {
        "tag:yaml.org,2002:timestamp": "date or timestamp",
        "tag:yaml.org,2002:int": "integer",
        "tag:yaml.org,2002:float": "number",
        "tag:yaml.org,2002:bool": "boolean",
        "tag:yaml.org,2002:null": "null",
    }.get(node.tag, "value")
    value = node.value if isinstance(node, ScalarNode) else ""
    reason = str(err).split("\n")[0] if isinstance(err, ValueError) else "not well formed"
    if "offset" in reason:
        reason = "a UTC offset must be less than 24 hours"
    return f"not a valid {what}: {_quote(str(value))} ({reason})"


# The YAML 1.2 core schema: drop the 1.1 bool, int and float resolvers (yes/no/on/off,
# sexagesimal, binary, octal, underscores) and add strict ones.
_REPLACED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_Strict.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _REPLACED]
    for first, resolvers in Resolver.yaml_implicit_resolvers.copy().items()
}
_Strict.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Strict.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_Strict.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$|^[-+]?[0-9]+[eE][-+]?[0-9]+$"
        r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
    ),
    list("-+0123456789."),
)
cast(Any, _Strict).add_constructor("tag:yaml.org,2002:int", _Strict.construct_yaml_int)
cast(Any, _Strict).add_constructor("tag:yaml.org,2002:float", _Strict.construct_yaml_float)


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
        *,
        prefix: str = "",
    ):
        self.file = file
        self._table = table
        self._offset = line_offset
        self._content = content or {}
        # A shifted view shares its document's tables and prepends its prefix to every
        # lookup: copying the entries under the prefix made reading a YAML list of n
        # records O(n²) (each record's view scanned the whole table).
        self._prefix = prefix

    def text_location(self, pointer: str, line: int, column: int) -> Location:
        """The location of (1-based) ``line``/``column`` inside the string value at ``pointer``,
        taking quotes and block scalars (``|``, ``>``) into account."""
        found = self._content.get(self._prefix + pointer)
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
            found = self._table.get(self._prefix + probe)
            if found is not None:
                line, column = found
                return Location(self.file, line + self._offset, column, pointer or None)
            if not probe:
                return Location(self.file, None, None, pointer or None)
            probe = probe.rsplit("/", 1)[0]

    def key_location(self, pointer: str) -> Location:
        """The location of the key that ``pointer`` names (for unknown-key errors)."""
        # The key naming a view's own root lies outside the view.
        found = (
            self._table.get(self._prefix + pointer + "#key")
            if pointer or not self._prefix
            else None
        )
        if found is None:
            return self.location(pointer)
        return Location(self.file, found[0] + self._offset, found[1], pointer or None)

    def shifted(self, prefix: str) -> Positions:
        """A view whose pointers are relative to ``prefix``."""
        return Positions(
            self.file, self._table, self._offset, self._content, prefix=self._prefix + prefix
        )


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
    except yaml.reader.ReaderError as err:
        # A character YAML refuses (NUL, other control characters): name it and where it is.
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        raise InputError(
            f"the character U+{err.character:04X} is not allowed in YAML (control character)"
            if isinstance(err.character, int)
            else "a character YAML does not allow",
            location=Location(file, line + line_offset, column),
            code=ErrorCode.YAML,
        ) from None
    except yaml.YAMLError as err:
        raise InputError(
            f"invalid YAML: {str(err).splitlines()[0]}",
            location=Location(file),
            code=ErrorCode.YAML,
        ) from None
    except RecursionError:
        raise InputError("nesting too deep", location=Location(file), code=ErrorCode.YAML) from None
    finally:
        loader.dispose()
    return value, Positions(file, table, line_offset, content)
