"""The control graph SVG: layered, coloured, deterministic, self-contained."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from assay.errors import UsageError
from assay.pack.svg import STATUS_STYLE, control_graph_svg

NODES = [
    ("A-ROOT-01", "fail"),
    ("B-MID-01", "blocked"),
    ("C-LEAF-01", "pass"),
    ("D-X-01", "waived"),
]
EDGES = [("B-MID-01", "A-ROOT-01"), ("C-LEAF-01", "B-MID-01"), ("D-X-01", "C-LEAF-01")]
NS = {"s": "http://www.w3.org/2000/svg"}


def _node_y(root: ET.Element, node_id: str) -> float:
    group = root.find(f".//s:g[@data-id='{node_id}']", NS)
    assert group is not None
    rect = group.find("s:rect", NS)
    assert rect is not None
    return float(rect.attrib["y"])


def test_layers_put_dependencies_above_their_dependants() -> None:
    root = ET.fromstring(control_graph_svg(NODES, EDGES))
    ys = [_node_y(root, n) for n in ("A-ROOT-01", "B-MID-01", "C-LEAF-01", "D-X-01")]
    assert ys == sorted(ys) and len(set(ys)) == 4


def test_blocking_edge_is_marked_and_others_are_not() -> None:
    root = ET.fromstring(control_graph_svg(NODES, EDGES))
    blocked = root.findall(".//s:path[@class='edge blocked']", NS)
    assert [(e.attrib["data-from"], e.attrib["data-to"]) for e in blocked] == [
        ("A-ROOT-01", "B-MID-01")
    ]
    assert "stroke-dasharray" in blocked[0].attrib
    assert len(root.findall(".//s:path[@class='edge']", NS)) == 2


def test_status_colours_and_labels() -> None:
    svg = control_graph_svg(NODES, EDGES)
    for _, status in NODES:
        stroke, fill = STATUS_STYLE[status]
        assert f'fill="{fill}" stroke="{stroke}"' in svg
    assert ">BLOCKED<" in svg and ">FAIL<" in svg


def test_deterministic_and_order_independent() -> None:
    first = control_graph_svg(NODES, EDGES)
    assert control_graph_svg(list(reversed(NODES)), list(reversed(EDGES))) == first


def test_no_external_references_and_labels_escaped() -> None:
    svg = control_graph_svg([("X-<B>-01", "pass")], [("X-<B>-01", "UNKNOWN-01")])
    assert "<B>" not in svg and "X-&lt;B&gt;-01" in svg
    refs = re.findall(r'(?:href|src)="([^"]*)"|url\(([^)]*)\)', svg)
    assert all(not a and b.startswith("#") for a, b in refs)
    assert "@import" not in svg and "@font-face" not in svg


def test_cycle_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="cycle"):
        control_graph_svg(
            [("A-A-01", "pass"), ("B-B-01", "pass")], [("A-A-01", "B-B-01"), ("B-B-01", "A-A-01")]
        )
