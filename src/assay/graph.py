"""The control dependency graph (networkx): order of evaluation and root causes.

Edges point from a control to the controls it requires. Per workflow, only controls
required at its class are nodes: a dependency on a control not required there is
ignored, as the catalog says. Cycles are rejected when the catalog is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import networkx as nx

from .models.policy import Control


def control_graph(controls: Iterable[Control]) -> nx.DiGraph:
    """A DAG over ``controls`` with an edge to every required control that is present."""
    items = list(controls)
    present = {c.id for c in items}
    graph: nx.DiGraph = nx.DiGraph()
    for control in sorted(items, key=lambda c: c.id):
        graph.add_node(control.id)
        for dep in sorted(set(control.requires)):
            if dep in present:
                graph.add_edge(control.id, dep)
    return graph


def find_cycle(edges: Iterable[tuple[str, str]]) -> list[str] | None:
    """The nodes of one cycle in the directed graph of ``edges``, in order; None when there
    is none. The catalog's `requires` and the classes' `extends` are checked with it."""
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_edges_from(edges)
    try:
        return [edge[0] for edge in nx.find_cycle(graph)]
    except nx.NetworkXNoCycle:
        return None


def evaluation_order(graph: nx.DiGraph) -> list[str]:
    """Dependencies before dependents; ties broken by id so the order is stable."""
    reverse = graph.reverse(copy=False)
    order: list[str] = []
    for generation in nx.topological_generations(reverse):
        order.extend(sorted(generation))
    return order


def root_causes(graph: nx.DiGraph, control_id: str, statuses: Mapping[str, str]) -> list[str]:
    """The not-accepted dependencies (transitively) that are not themselves blocked."""
    causes: set[str] = set()
    for dep in nx.descendants(graph, control_id):
        status = statuses.get(dep)
        if status in ("fail", "error"):
            causes.add(dep)
    return sorted(causes)


def render_tree(graph: nx.DiGraph, statuses: Mapping[str, str] | None = None) -> str:
    """A text tree: each control with what it requires, roots (nothing depends on them) first."""
    lines: list[str] = []
    roots = sorted(n for n in graph.nodes if graph.in_degree(n) == 0)

    def label(node: str) -> str:
        status = (statuses or {}).get(node)
        return f"{node} [{status}]" if status else node

    def walk(node: str, prefix: str, seen: frozenset[str]) -> None:
        children = sorted(graph.successors(node))
        for i, child in enumerate(children):
            last = i == len(children) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{label(child)}")
            if child not in seen:
                walk(child, prefix + ("    " if last else "│   "), seen | {child})

    for root in roots:
        lines.append(label(root))
        walk(root, "", frozenset({root}))
    return "\n".join(lines) + "\n"


def render_dot(graph: nx.DiGraph, statuses: Mapping[str, str] | None = None) -> str:
    """Graphviz DOT, sorted, with failing and blocked nodes marked."""
    colours = {
        "pass": "palegreen",
        "fail": "salmon",
        "error": "orange",
        "blocked": "lightgrey",
        "waived": "khaki",
        "not_applicable": "white",
    }
    lines = [
        "digraph controls {",
        "  rankdir=LR;",
        "  node [shape=box, style=filled, fillcolor=white];",
    ]
    for node in sorted(graph.nodes):
        status = (statuses or {}).get(node)
        attrs = f' [fillcolor={colours[status]}, xlabel="{status}"]' if status else ""
        lines.append(f'  "{node}"{attrs};')
    for a, b in sorted(graph.edges):
        style = (
            " [style=dashed, color=red]"
            if statuses and statuses.get(b) not in (None, "pass", "waived", "not_applicable")
            else ""
        )
        lines.append(f'  "{a}" -> "{b}"{style};')
    lines.append("}")
    return "\n".join(lines) + "\n"
