"""The control dependency graph drawn as a self-contained SVG.

Laid out by Graphviz ``dot`` (Debian ``graphviz``, installed by scripts/setup-system.sh):
dependencies above the controls that require them, edges routed around the boxes, failed,
errored and blocked controls drawn with a heavy border in their status colour and their
status written in the box, and each dependency that blocks a control drawn thick, dashed
and orange. ``dot`` runs as a subprocess on text Assay generates (no file or network
access is asked of it) and gives the same bytes for the same input; its SVG is sized to
fit the page so the labels stay readable.

Without ``dot`` on the PATH the graph falls back to a simple layered drawing made here
(``networkx`` generations, one barycentre pass), with the same marks.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from collections.abc import Sequence
from html import escape
from pathlib import Path

import networkx as nx

from ..errors import AssayError, ErrorCode, UsageError
from ..models.assessment import ACCEPTED

# (stroke, fill) per status; colour-blind-safe enough with the text label kept.
STATUS_STYLE: dict[str, tuple[str, str]] = {
    "pass": ("#1a7f37", "#dafbe1"),
    "fail": ("#c62828", "#ffebe9"),
    "error": ("#8e1537", "#ffd7de"),
    "blocked": ("#b35900", "#fff1d6"),
    "waived": ("#5a4fcf", "#ece9ff"),
    "not_applicable": ("#6e7781", "#f2f4f7"),
}
_UNKNOWN_STYLE = ("#6e7781", "#ffffff")
LEGEND_ORDER = ("fail", "error", "blocked", "waived", "pass", "not_applicable")
"""The statuses in the order the pack's legend lists them."""
HEAVY = frozenset({"fail", "error", "blocked"})
"""Statuses drawn with a heavy border: the controls an auditor looks at first."""
BLOCKING = ("#b35900", 2.2)
"""Colour and width of an edge that blocks its control."""

PAGE_MM = (176.0, 205.0)
"""The room the graph has on an A4 page of the pack (width, height)."""
MAX_UPSCALE = 1.4
"""A small graph is enlarged at most this much (11 pt labels stay below 16 pt)."""
_PT_MM = 25.4 / 72
_DOT_TIMEOUT_S = 60


class GraphLayoutError(AssayError):
    """Graphviz could not lay out the control graph."""

    code = ErrorCode.PACK_RENDER


def _checked(
    nodes: Sequence[tuple[str, str]], edges: Sequence[tuple[str, str]]
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    status = dict(nodes)
    known = sorted({(s, r) for s, r in edges if s in status and r in status and s != r})
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(status)
    graph.add_edges_from(known)
    if not nx.is_directed_acyclic_graph(graph):
        raise UsageError("the control graph has a cycle; it cannot be drawn")
    return status, known


def _blocking(status: dict[str, str], requirer: str, required: str) -> bool:
    return status[requirer] == "blocked" and status[required] not in ACCEPTED


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_source(
    status: dict[str, str], edges: Sequence[tuple[str, str]], *, rankdir: str = "TB"
) -> str:
    """The DOT text of the graph (sorted, so the same graph always gives the same text)."""
    out = [
        "digraph controls {",
        f'  graph [rankdir={rankdir}, nodesep=0.25, ranksep=0.45, bgcolor="transparent", '
        'pad=0.05, id="control-graph"];',
        '  node [shape=box, style="rounded,filled", fontname="DejaVu Sans", fontsize=11, '
        'margin="0.14,0.06", penwidth=1.2];',
        '  edge [color="#8c959f", arrowsize=0.7, penwidth=1];',
    ]
    for node in sorted(status):
        state = status[node]
        line, fill = STATUS_STYLE.get(state, _UNKNOWN_STYLE)
        word = escape(state.replace("_", " ").upper())
        label = f'<<b>{escape(node)}</b><br/><font point-size="8.5" color="{line}">{word}</font>>'
        out.append(
            f"  {_dot_quote(node)} [id={_dot_quote('node-' + node)}, "
            f"class={_dot_quote('status-' + state)}, label={label}, "
            f'fillcolor="{fill}", color="{line}", penwidth={2.4 if state in HEAVY else 1.2}];'
        )
    # Edge direction required -> requirer: dependencies come first (top of the drawing).
    for index, (requirer, required) in enumerate(edges):
        attrs = [f"id={_dot_quote(f'edge-{index}')}"]
        if _blocking(status, requirer, required):
            colour, width = BLOCKING
            attrs += ['class="blocked"', f'color="{colour}"', "style=dashed", f"penwidth={width}"]
        out.append(f"  {_dot_quote(required)} -> {_dot_quote(requirer)} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


_SVG_START = re.compile(r"<svg\b[^>]*>", re.S)
_SIZE = re.compile(r'width="([0-9.]+)pt"\s+height="([0-9.]+)pt"')


def _run(argv: list[str], text: str) -> str:
    try:
        done = subprocess.run(
            argv, input=text.encode(), capture_output=True, timeout=_DOT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GraphLayoutError(f"Graphviz {Path(argv[0]).name} could not run: {exc}") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()[:300]
        raise GraphLayoutError(
            f"Graphviz {Path(argv[0]).name} failed (exit {done.returncode}): {message}"
        )
    return done.stdout.decode("utf-8")


def _run_dot(binary: str, source: str) -> tuple[str, float, float]:
    """dot's SVG (prolog and comments dropped, for inlining) and its size in points."""
    svg = _run([binary, "-Tsvg"], source)
    start = _SVG_START.search(svg)
    size = _SIZE.search(svg)
    if start is None or size is None:
        raise GraphLayoutError("Graphviz dot returned no SVG")
    body = re.sub(r"<!--.*?-->\n?", "", svg[start.start() :], flags=re.S)
    return body, float(size[1]), float(size[2])


def _scale(width_pt: float, height_pt: float) -> float:
    width_mm, height_mm = width_pt * _PT_MM, height_pt * _PT_MM
    return min(PAGE_MM[0] / width_mm, PAGE_MM[1] / height_mm, MAX_UPSCALE)


def _dot_svg(binary: str, status: dict[str, str], edges: list[tuple[str, str]]) -> str:
    # Top-down reads best. A graph too wide for the page (many controls side by side) is
    # also tried with its independent controls stacked (Graphviz `unflatten`) and left to
    # right; the layout that prints the labels largest wins (ties: the earlier one).
    source = dot_source(status, edges)
    best = _run_dot(binary, source)
    if _scale(best[1], best[2]) < 0.8:
        variants = [dot_source(status, edges, rankdir="LR")]
        unflatten = shutil.which("unflatten", path=str(Path(binary).parent))
        if unflatten is not None:
            chain = max(2, math.isqrt(len(status)))
            variants.insert(0, _run([unflatten, "-f", "-l", "3", "-c", str(chain)], source))
        for variant in variants:
            laid = _run_dot(binary, variant)
            if _scale(laid[1], laid[2]) > _scale(best[1], best[2]):
                best = laid
    body, width, height = best
    factor = _scale(width, height)
    size = f'width="{width * _PT_MM * factor:.1f}mm" height="{height * _PT_MM * factor:.1f}mm"'
    root = _SVG_START.search(body)
    assert root is not None
    tag = _SIZE.sub(size, root.group(), count=1).replace(
        "<svg ", '<svg class="control-graph" role="img" aria-label="Control dependency graph" ', 1
    )
    return tag + body[root.end() :].rstrip("\n") + "\n"


def control_graph_svg(
    nodes: Sequence[tuple[str, str]],
    edges: Sequence[tuple[str, str]],
    *,
    dot: str | None = "dot",
) -> str:
    """Draw the control dependency graph as SVG markup.

    ``nodes`` are ``(control id, status)``; ``edges`` are ``(requirer, required)``. Edges
    naming an unknown control are ignored. An edge into a ``blocked`` control from a control
    that did not pass is drawn thick and dashed: it is why the control is blocked.
    ``dot`` names the Graphviz binary (None, or not found: the built-in layered drawing).
    """
    status, known = _checked(nodes, edges)
    binary = shutil.which(dot) if dot is not None else None
    if binary is not None:
        return _dot_svg(binary, status, known)
    return layered_svg(status, known)


_CHAR_W = 6.4  # average advance of a 10.5px sans-serif glyph; enough to size the boxes
_NODE_H = 34.0
_GAP_X = 18.0
_GAP_Y = 46.0
_MARGIN = 12.0


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


def layered_svg(status: dict[str, str], known_edges: list[tuple[str, str]]) -> str:
    """The fallback drawing: layers from ``networkx.topological_generations``, one
    barycentre pass to reduce crossings, boxes over their edges. Nodes and edges carry the
    ids and classes ``dot`` gives them (``node-ID``, ``node status-S``, ``edge blocked``)."""
    layers = _layers(list(status), known_edges)

    node_w = max([len(n) for n in status] + [14]) * _CHAR_W + 20.0
    widest = max((len(layer) for layer in layers), default=1)
    width = _MARGIN * 2 + widest * node_w + (widest - 1) * _GAP_X
    height = _MARGIN * 2 + len(layers) * _NODE_H + max(len(layers) - 1, 0) * _GAP_Y

    centre: dict[str, tuple[float, float]] = {}
    for row, layer in enumerate(layers):
        row_w = len(layer) * node_w + (len(layer) - 1) * _GAP_X
        x0 = (width - row_w) / 2
        y = _MARGIN + row * (_NODE_H + _GAP_Y)
        for index, node in enumerate(layer):
            centre[node] = (x0 + index * (node_w + _GAP_X) + node_w / 2, y + _NODE_H / 2)

    factor = min(PAGE_MM[0] / (width * _PT_MM), PAGE_MM[1] / (height * _PT_MM), MAX_UPSCALE)
    colour, line_width = BLOCKING
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="control-graph" '
        f'viewBox="0 0 {width:.1f} {height:.1f}" width="{width * _PT_MM * factor:.1f}mm" '
        f'height="{height * _PT_MM * factor:.1f}mm" role="img" '
        f'aria-label="Control dependency graph">',
        "<defs>",
        '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker>',
        '<marker id="arrow-blocked" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
        f'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>',
        "</defs>",
        '<g font-family="DejaVu Sans, sans-serif" font-size="10.5">',
    ]
    # Edges first so the boxes sit on top of them.
    for index, (requirer, required) in enumerate(known_edges):
        (x1, y1), (x2, y2) = centre[required], centre[requirer]
        y1 += _NODE_H / 2
        y2 -= _NODE_H / 2
        if y2 <= y1:  # same layer cannot happen in a DAG layering; keep the guard cheap
            continue
        blocking = _blocking(status, requirer, required)
        if blocking:
            stroke = f'stroke="{colour}" stroke-width="{line_width}" stroke-dasharray="6 3"'
            marker = "arrow-blocked"
        else:
            stroke = 'stroke="#8c959f" stroke-width="1"'
            marker = "arrow"
        mid = (y1 + y2) / 2
        out.append(
            f'<g id="edge-{index}" class="edge{" blocked" if blocking else ""}">'
            f"<title>{escape(required)}->{escape(requirer)}</title>"
            f'<path fill="none" {stroke} marker-end="url(#{marker})" '
            f'd="M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"/>'
            "</g>"
        )
    for layer in layers:
        for node in layer:
            cx, cy = centre[node]
            state = status[node]
            line, fill = STATUS_STYLE.get(state, _UNKNOWN_STYLE)
            out.append(
                f'<g id="node-{escape(node)}" class="node status-{escape(state)}">'
                f"<title>{escape(node)}</title>"
                f'<rect x="{cx - node_w / 2:.1f}" y="{cy - _NODE_H / 2:.1f}" '
                f'width="{node_w:.1f}" height="{_NODE_H:.1f}" rx="5" fill="{fill}" '
                f'stroke="{line}" stroke-width="{2.4 if state in HEAVY else 1.2}"/>'
                f'<text x="{cx:.1f}" y="{cy - 2:.1f}" text-anchor="middle" '
                f'font-weight="bold" fill="#1f2328">{escape(node)}</text>'
                f'<text x="{cx:.1f}" y="{cy + 11:.1f}" text-anchor="middle" font-size="9" '
                f'fill="{line}">{escape(state.replace("_", " ").upper())}</text></g>'
            )
    out.append("</g></svg>")
    return "\n".join(out) + "\n"
