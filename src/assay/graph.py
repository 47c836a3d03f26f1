"""The control dependency graph (networkx): order of evaluation and root causes.

Edges point from a control to the controls it requires. Per workflow, only controls
required at its class are nodes: a dependency on a control not required there is
ignored, as the catalog says. Cycles are rejected when the catalog is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import networkx as nx

from .models.graph import GraphNode, GraphView
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


def graph_view(
    graph: nx.DiGraph, statuses: Mapping[str, str] | None = None, workflow: str | None = None
) -> GraphView:
    """The graph as data for the formatters: sorted nodes (with their statuses, when the
    view is of one workflow's assessment) and sorted edges."""
    return GraphView(
        workflow=workflow,
        nodes=[GraphNode(id=n, status=(statuses or {}).get(n)) for n in sorted(graph.nodes)],
        edges=sorted(graph.edges),
    )
