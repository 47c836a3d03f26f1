"""What `assay graph` draws: the controls as nodes, their dependencies as edges, and, for
one workflow, each control's status.

A view is data: :func:`assay.graph.graph_view` builds it from the control DAG, the
formatters of :mod:`assay.formats.graph` render it (and the pack draws it as SVG).
"""

from __future__ import annotations

from .base import FrozenModel


class GraphNode(FrozenModel):
    """A control; its status is None when the view is of the catalog, not of a workflow."""

    id: str
    status: str | None = None


class GraphView(FrozenModel):
    """The control dependency graph, sorted: nodes by id, edges by (requirer, required)."""

    workflow: str | None = None
    """The workflow whose required controls (with statuses) this is; None for the catalog."""
    nodes: list[GraphNode]
    edges: list[tuple[str, str]]
    """(requirer, required): the control on the left requires the one on the right."""

    def requires(self, node: str) -> list[str]:
        """The controls ``node`` requires, sorted."""
        return sorted(b for a, b in self.edges if a == node)

    def roots(self) -> list[str]:
        """The controls nothing requires, sorted."""
        required = {b for _, b in self.edges}
        return sorted(n.id for n in self.nodes if n.id not in required)

    def statuses(self) -> dict[str, str]:
        """Status by control id, for the controls that have one."""
        return {n.id: n.status for n in self.nodes if n.status is not None}
