"""The control graph SVG: laid out by Graphviz dot (or the built-in layered fallback),
failed and blocked controls marked, deterministic, self-contained, sized for the page."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from assay.errors import UsageError
from assay.pack.svg import PAGE_MM, STATUS_STYLE, control_graph_svg, dot_source

NODES = [
    ("A-ROOT-01", "fail"),
    ("B-MID-01", "blocked"),
    ("C-LEAF-01", "pass"),
    ("D-X-01", "waived"),
]
EDGES = [("B-MID-01", "A-ROOT-01"), ("C-LEAF-01", "B-MID-01"), ("D-X-01", "C-LEAF-01")]
NS = {"s": "http://www.w3.org/2000/svg"}
LAYOUTS = ["dot", None]  # Graphviz, and the fallback when dot is not installed


@pytest.fixture(scope="module", autouse=True)
def _dot_installed() -> None:
    if shutil.which("dot") is None:
        pytest.fail("Graphviz dot is not installed; run scripts/setup-system.sh")


def _node(root: ET.Element, node_id: str) -> ET.Element:
    group = root.find(f".//s:g[@id='node-{node_id}']", NS)
    assert group is not None, node_id
    return group


def _top(group: ET.Element) -> float:
    # The smallest y of the node's shape: a rect (fallback) or a path (dot).
    shape = group.find("s:rect", NS)
    if shape is not None:
        return float(shape.attrib["y"])
    path = group.find("s:path", NS)
    assert path is not None
    return min(float(y) for y in re.findall(r",(-?[0-9.]+)", path.attrib["d"]))


@pytest.mark.parametrize("dot", LAYOUTS)
def test_dependencies_sit_above_their_dependants(dot: str | None) -> None:
    root = ET.fromstring(control_graph_svg(NODES, EDGES, dot=dot))
    tops = [_top(_node(root, n)) for n in ("A-ROOT-01", "B-MID-01", "C-LEAF-01", "D-X-01")]
    assert tops == sorted(tops) and len(set(tops)) == 4


@pytest.mark.parametrize("dot", LAYOUTS)
def test_blocking_edge_is_marked_and_others_are_not(dot: str | None) -> None:
    root = ET.fromstring(control_graph_svg(NODES, EDGES, dot=dot))
    blocked = root.findall(".//s:g[@class='edge blocked']", NS)
    assert [e.findtext("s:title", namespaces=NS) for e in blocked] == ["A-ROOT-01->B-MID-01"]
    path = blocked[0].find("s:path", NS)
    assert path is not None and "stroke-dasharray" in path.attrib
    assert path.attrib["stroke"] == "#b35900"
    assert len(root.findall(".//s:g[@class='edge']", NS)) == 2


@pytest.mark.parametrize("dot", LAYOUTS)
def test_status_colours_labels_and_heavy_borders(dot: str | None) -> None:
    root = ET.fromstring(control_graph_svg(NODES, EDGES, dot=dot))
    for node, status in NODES:
        group = _node(root, node)
        assert f"status-{status}" in group.attrib["class"]
        shape = group.find("s:rect", NS)
        shape = shape if shape is not None else group.find("s:path", NS)
        assert shape is not None
        stroke, fill = STATUS_STYLE[status]
        assert (shape.attrib["stroke"], shape.attrib["fill"]) == (stroke, fill)
        heavy = float(shape.attrib["stroke-width"]) > 2
        assert heavy == (status in ("fail", "blocked")), node
        words = [t.text for t in group.findall("s:text", NS)]
        assert words == [node, status.replace("_", " ").upper()]


@pytest.mark.parametrize("dot", LAYOUTS)
def test_deterministic_order_independent_and_sized_for_the_page(dot: str | None) -> None:
    first = control_graph_svg(NODES, EDGES, dot=dot)
    assert control_graph_svg(list(reversed(NODES)), list(reversed(EDGES)), dot=dot) == first
    assert control_graph_svg(NODES, EDGES, dot=dot) == first
    root = ET.fromstring(first)
    width, height = (float(root.attrib[k].removesuffix("mm")) for k in ("width", "height"))
    assert width <= PAGE_MM[0] + 0.1 and height <= PAGE_MM[1] + 0.1
    assert "<!--" not in first and "<?xml" not in first and "DOCTYPE" not in first


def test_a_wide_graph_is_laid_out_to_keep_its_labels_readable() -> None:
    # 30 independent controls: one rank far wider than the page when drawn top-down.
    nodes = [(f"PROD-WIDE-{i:02d}", "pass") for i in range(30)]
    root = ET.fromstring(control_graph_svg(nodes, [], dot="dot"))
    view = [float(v) for v in root.attrib["viewBox"].split()]
    scale = float(root.attrib["width"].removesuffix("mm")) / (view[2] * 25.4 / 72)
    assert scale * 11 >= 6.5  # an 11 pt label prints at 6.5 pt or larger


@pytest.mark.parametrize("dot", LAYOUTS)
def test_no_external_references_and_labels_escaped(dot: str | None) -> None:
    svg = control_graph_svg([("X-<B>-01", "pass")], [("X-<B>-01", "UNKNOWN-01")], dot=dot)
    assert "<B>" not in svg
    assert _node(ET.fromstring(svg), "X-<B>-01").findtext("s:title", namespaces=NS) == "X-<B>-01"
    refs = re.findall(r'(?:href|src)="([^"]*)"|url\(([^)]*)\)', svg)
    assert all(not a and b.startswith("#") for a, b in refs)
    assert "@import" not in svg and "@font-face" not in svg and "<image" not in svg


def test_dot_source_quotes_names() -> None:
    text = dot_source({'A"B\\C': "pass"}, [])
    assert '"A\\"B\\\\C"' in text


@pytest.mark.parametrize("dot", LAYOUTS)
def test_cycle_is_a_usage_error(dot: str | None) -> None:
    with pytest.raises(UsageError, match="cycle"):
        control_graph_svg(
            [("A-A-01", "pass"), ("B-B-01", "pass")],
            [("A-A-01", "B-B-01"), ("B-B-01", "A-A-01")],
            dot=dot,
        )
