"""The renderers of `assay graph`: a text tree and Graphviz DOT.

Pure: a :class:`~assay.models.graph.GraphView` in, a string out; the CLI does the I/O.
The SVG drawing lives with the pack (:mod:`assay.pack.svg`), which embeds it; the CLI
registers it beside these two.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from ..models.graph import GraphView


class GraphFormat(StrEnum):
    """The formats of ``assay graph --format`` (values feed ``click.Choice``)."""

    TREE = "tree"
    DOT = "dot"
    SVG = "svg"


class GraphFormatter(Protocol):
    """Render a graph view as text; pure and deterministic."""

    def __call__(self, view: GraphView, /) -> str: ...


DOT_COLOURS = {
    "pass": "palegreen",
    "fail": "salmon",
    "error": "orange",
    "blocked": "lightgrey",
    "waived": "khaki",
    "not_applicable": "white",
}
_QUIET = (None, "pass", "waived", "not_applicable")
"""Statuses of a required control that do not mark the edge into it."""


def graph_tree(view: GraphView) -> str:
    """A text tree: each control with what it requires, roots (nothing requires them) first."""
    lines: list[str] = []
    statuses = view.statuses()
    children = {n.id: view.requires(n.id) for n in view.nodes}

    def label(node: str) -> str:
        status = statuses.get(node)
        return f"{node} [{status}]" if status else node

    def walk(node: str, prefix: str, seen: frozenset[str]) -> None:
        below = children.get(node, [])
        for i, child in enumerate(below):
            last = i == len(below) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{label(child)}")
            if child not in seen:
                walk(child, prefix + ("    " if last else "│   "), seen | {child})

    for root in view.roots():
        lines.append(label(root))
        walk(root, "", frozenset({root}))
    return "\n".join(lines) + "\n"


def graph_dot(view: GraphView) -> str:
    """Graphviz DOT, sorted; nodes coloured by status, edges into a failing control marked."""
    statuses = view.statuses()
    lines = [
        "digraph controls {",
        "  rankdir=LR;",
        "  node [shape=box, style=filled, fillcolor=white];",
    ]
    for node in view.nodes:
        status = node.status
        attrs = f' [fillcolor={DOT_COLOURS[status]}, xlabel="{status}"]' if status else ""
        lines.append(f'  "{node.id}"{attrs};')
    for a, b in view.edges:
        style = " [style=dashed, color=red]" if statuses.get(b) not in _QUIET else ""
        lines.append(f'  "{a}" -> "{b}"{style};')
    lines.append("}")
    return "\n".join(lines) + "\n"


GRAPH_FORMATTERS: dict[GraphFormat, GraphFormatter] = {
    GraphFormat.TREE: graph_tree,
    GraphFormat.DOT: graph_dot,
}
"""The text renderers; ``GraphFormat.SVG`` is drawn by the pack's SVG module."""
