"""The control dependency graph drawn as a self-contained SVG.

Layers come from ``networkx.topological_generations``: controls with no dependencies at the
top, each control below everything it requires. Within a layer, nodes are ordered by the
mean position of their dependencies (one barycentre pass, ties broken by id) so that edges
cross less. The output uses only generic font families and no URLs, so rendering it fetches
nothing; the same input always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import networkx as nx

from ..errors import UsageError
from ..models.assessment import ACCEPTED

# (stroke, fill, label) per status; colour-blind-safe enough with the text label kept.
STATUS_STYLE: dict[str, tuple[str, str]] = {
    "pass": ("#1a7f37", "#dafbe1"),
    "fail": ("#c62828", "#ffebe9"),
    "error": ("#8e1537", "#ffd7de"),
    "blocked": ("#b35900", "#fff1d6"),
    "waived": ("#5a4fcf", "#ece9ff"),
    "not_applicable": ("#6e7781", "#f2f4f7"),
}
_UNKNOWN_STYLE = ("#6e7781", "#ffffff")
_LEGEND_ORDER = ("pass", "fail", "error", "blocked", "waived", "not_applicable")

_CHAR_W = 6.4  # average advance of a 10.5px sans-serif glyph; enough to size the boxes
_NODE_H = 34.0
_GAP_X = 18.0
_GAP_Y = 46.0
_MARGIN = 12.0
_LEGEND_H = 30.0


def _layers(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[list[str]]:
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(sorted(nodes))
    # Edge direction required -> requirer: dependencies come first (top of the drawing).
    graph.add_edges_from(sorted((req, src) for src, req in edges))
    try:
        generations = [sorted(layer) for layer in nx.topological_generations(graph)]
    except nx.NetworkXUnfeasible as exc:
        raise UsageError("the control graph has a cycle; it cannot be drawn") from exc
    # One barycentre pass, top-down, to reduce crossings deterministically.
    position: dict[str, float] = {}
    ordered: list[list[str]] = []
    for layer in generations:

        def key(node: str) -> tuple[float, str]:
            preds = [position[p] for p in graph.predecessors(node) if p in position]
            return (sum(preds) / len(preds) if preds else -1.0, node)

        layer = sorted(layer, key=key) if ordered else layer
        for index, node in enumerate(layer):
            position[node] = index / max(len(layer) - 1, 1)
        ordered.append(layer)
    return ordered


def control_graph_svg(nodes: Sequence[tuple[str, str]], edges: Sequence[tuple[str, str]]) -> str:
    """Draw the control dependency graph as SVG markup.

    ``nodes`` are ``(control id, status)``; ``edges`` are ``(requirer, required)``. Edges
    naming an unknown control are ignored. An edge into a ``blocked`` control from a control
    that did not pass is drawn thick and dashed: it is why the control is blocked.
    """
    status = dict(nodes)
    known_edges = sorted({(s, r) for s, r in edges if s in status and r in status and s != r})
    layers = _layers(list(status), known_edges)

    node_w = max([len(n) for n in status] + [14]) * _CHAR_W + 20.0
    widest = max((len(layer) for layer in layers), default=1)
    legend_w = sum(32 + len(s) * 6.0 for s in _LEGEND_ORDER) + 31 + 110
    width = max(_MARGIN * 2 + widest * node_w + (widest - 1) * _GAP_X, legend_w + _MARGIN * 2)
    height = _MARGIN * 2 + len(layers) * _NODE_H + max(len(layers) - 1, 0) * _GAP_Y + _LEGEND_H

    centre: dict[str, tuple[float, float]] = {}
    for row, layer in enumerate(layers):
        row_w = len(layer) * node_w + (len(layer) - 1) * _GAP_X
        x0 = (width - row_w) / 2
        y = _MARGIN + row * (_NODE_H + _GAP_Y)
        for index, node in enumerate(layer):
            centre[node] = (x0 + index * (node_w + _GAP_X) + node_w / 2, y + _NODE_H / 2)

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="control-graph" '
        f'viewBox="0 0 {width:.1f} {height:.1f}" width="{width:.1f}" height="{height:.1f}" '
        f'role="img" aria-label="Control dependency graph">',
        "<defs>",
        '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker>',
        '<marker id="arrow-blocked" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#b35900"/></marker>',
        "</defs>",
        '<g font-family="DejaVu Sans, sans-serif" font-size="10.5">',
    ]
    # Edges first so the boxes sit on top of them.
    for requirer, required in known_edges:
        (x1, y1), (x2, y2) = centre[required], centre[requirer]
        y1 += _NODE_H / 2
        y2 -= _NODE_H / 2
        if y2 <= y1:  # same layer cannot happen in a DAG layering; keep the guard cheap
            continue
        blocking = status[requirer] == "blocked" and status[required] not in ACCEPTED
        if blocking:
            stroke = 'stroke="#b35900" stroke-width="2.2" stroke-dasharray="6 3"'
            marker = "arrow-blocked"
        else:
            stroke = 'stroke="#8c959f" stroke-width="1"'
            marker = "arrow"
        mid = (y1 + y2) / 2
        out.append(
            f'<path class="edge{" blocked" if blocking else ""}" '
            f'data-from="{escape(required)}" data-to="{escape(requirer)}" fill="none" {stroke} '
            f'marker-end="url(#{marker})" '
            f'd="M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"/>'
        )
    for layer in layers:
        for node in layer:
            cx, cy = centre[node]
            state = status[node]
            line, fill = STATUS_STYLE.get(state, _UNKNOWN_STYLE)
            heavy = state in ("fail", "error", "blocked")
            out.append(
                f'<g class="node status-{escape(state)}" data-id="{escape(node)}">'
                f'<rect x="{cx - node_w / 2:.1f}" y="{cy - _NODE_H / 2:.1f}" '
                f'width="{node_w:.1f}" height="{_NODE_H:.1f}" rx="5" fill="{fill}" '
                f'stroke="{line}" stroke-width="{2.2 if heavy else 1.2}"/>'
                f'<text x="{cx:.1f}" y="{cy - 2:.1f}" text-anchor="middle" '
                f'font-weight="bold" fill="#1f2328">{escape(node)}</text>'
                f'<text x="{cx:.1f}" y="{cy + 11:.1f}" text-anchor="middle" font-size="9" '
                f'fill="{line}">{escape(state.replace("_", " ").upper())}</text></g>'
            )
    # Legend along the bottom.
    legend_y = height - _MARGIN - 10
    x = _MARGIN
    for state in _LEGEND_ORDER:
        line, fill = STATUS_STYLE[state]
        label = state.replace("_", " ")
        # Each legend item: swatch and padding (32px) plus its label (see legend_w).
        out.append(
            f'<rect x="{x:.1f}" y="{legend_y - 9:.1f}" width="12" height="12" rx="2" '
            f'fill="{fill}" stroke="{line}"/>'
            f'<text x="{x + 16:.1f}" y="{legend_y + 1:.1f}" font-size="9.5" '
            f'fill="#1f2328">{label}</text>'
        )
        x += 32 + len(label) * 6.0
    out.append(
        f'<path d="M{x:.1f},{legend_y - 3:.1f} L{x + 26:.1f},{legend_y - 3:.1f}" '
        f'stroke="#b35900" stroke-width="2.2" stroke-dasharray="6 3"/>'
        f'<text x="{x + 31:.1f}" y="{legend_y + 1:.1f}" font-size="9.5" fill="#1f2328">'
        f"blocking dependency</text>"
    )
    out.append("</g></svg>")
    return "\n".join(out) + "\n"
