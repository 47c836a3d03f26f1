"""The control dependency graph: order of evaluation and root causes.

Edges point from a control to the controls it requires. Per workflow, only controls
required at its class are nodes: a dependency on a control not required there is
ignored, as the catalog says. Cycles are rejected when the catalog is loaded.

The graph is a few dozen nodes: plain dictionaries and :mod:`graphlib` do what is needed
(an order, the controls below one, cycle detection) without importing networkx (~0.1-0.3 s
of every gate's start-up). networkx still names the cycle in the error when there is one,
so the message is the one it always was.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Iterator, Mapping

from .models.graph import GraphNode, GraphView
from .models.policy import Control


class ControlGraph:
    """A directed graph of control ids (the part of networkx's ``DiGraph`` Assay uses):
    nodes in insertion order, each node's successors in the order their edges were added."""

    def __init__(self) -> None:
        self._succ: dict[str, list[str]] = {}
        self._pred: dict[str, list[str]] = {}

    def add_node(self, node: str) -> None:
        if node not in self._succ:
            self._succ[node] = []
            self._pred[node] = []

    def add_edge(self, tail: str, head: str) -> None:
        self.add_node(tail)
        self.add_node(head)
        if head not in self._succ[tail]:
            self._succ[tail].append(head)
            self._pred[head].append(tail)

    def __contains__(self, node: object) -> bool:
        return node in self._succ

    def __iter__(self) -> Iterator[str]:
        return iter(self._succ)

    def __len__(self) -> int:
        return len(self._succ)

    @property
    def nodes(self) -> list[str]:
        return list(self._succ)

    @property
    def edges(self) -> list[tuple[str, str]]:
        return [(tail, head) for tail, heads in self._succ.items() for head in heads]

    def successors(self, node: str) -> Iterator[str]:
        """The controls ``node`` requires."""
        return iter(self._succ[node])

    def predecessors(self, node: str) -> Iterator[str]:
        """The controls that require ``node``."""
        return iter(self._pred[node])

    def in_degree(self, node: str) -> int:
        return len(self._pred[node])

    def descendants(self, node: str) -> set[str]:
        """Every control ``node`` requires, directly or not."""
        seen: set[str] = set()
        stack = list(self._succ[node])
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(self._succ[current])
        return seen


def control_graph(controls: Iterable[Control]) -> ControlGraph:
    """A DAG over ``controls`` with an edge to every required control that is present."""
    items = list(controls)
    present = {c.id for c in items}
    graph = ControlGraph()
    for control in sorted(items, key=lambda c: c.id):
        graph.add_node(control.id)
        for dep in sorted(set(control.requires)):
            if dep in present:
                graph.add_edge(control.id, dep)
    return graph


def find_cycle(edges: Iterable[tuple[str, str]]) -> list[str] | None:
    """The nodes of one cycle in the directed graph of ``edges``, in order; None when there
    is none. The catalog's `requires` and the classes' `extends` are checked with it."""
    edges = list(edges)
    needs: dict[str, set[str]] = {}
    for tail, head in edges:
        needs.setdefault(tail, set()).add(head)
    try:
        graphlib.TopologicalSorter(needs).prepare()
        return None
    except graphlib.CycleError:
        pass
    # A cycle (an input error): networkx names the same one it always named.
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_edges_from(edges)
    return [edge[0] for edge in nx.find_cycle(graph)]


def evaluation_order(graph: ControlGraph) -> list[str]:
    """Dependencies before dependents; ties broken by id so the order is stable: the
    controls that require nothing first, then those whose requirements are all placed, and
    so on (networkx's topological generations of the reversed graph)."""
    remaining = {node: sum(1 for _ in graph.successors(node)) for node in graph.nodes}
    generation = sorted(node for node, count in remaining.items() if count == 0)
    order: list[str] = []
    while generation:
        order.extend(generation)
        following: set[str] = set()
        for node in generation:
            for dependent in graph.predecessors(node):
                remaining[dependent] -= 1
                if remaining[dependent] == 0:
                    following.add(dependent)
        generation = sorted(following)
    if len(order) != len(remaining):
        raise ValueError("the control graph has a cycle")  # rejected at load: a bug
    return order


def root_causes(graph: ControlGraph, control_id: str, statuses: Mapping[str, str]) -> list[str]:
    """The not-accepted dependencies (transitively) that are not themselves blocked."""
    causes: set[str] = set()
    for dep in graph.descendants(control_id):
        status = statuses.get(dep)
        if status in ("fail", "error"):
            causes.add(dep)
    return sorted(causes)


def graph_view(
    graph: ControlGraph, statuses: Mapping[str, str] | None = None, workflow: str | None = None
) -> GraphView:
    """The graph as data for the formatters: sorted nodes (with their statuses, when the
    view is of one workflow's assessment) and sorted edges."""
    return GraphView(
        workflow=workflow,
        nodes=[GraphNode(id=n, status=(statuses or {}).get(n)) for n in sorted(graph.nodes)],
        edges=sorted(graph.edges),
    )
