"""Safe YAML loading: positions, YAML 1.2 scalars, and refusals with locations."""

from __future__ import annotations

import pytest

from assay.errors import InputError
from assay.parsing.yamlsafe import load_yaml

TEXT = """\
id: wf
owner: team
nested:
  list:
    - first
    - {a: 1, b: two}
"""


def test_positions_map_pointers_to_values_and_keys() -> None:
    value, positions = load_yaml(TEXT, "f.yaml", max_bytes=10_000)
    assert value["nested"]["list"][1] == {"a": 1, "b": "two"}
    loc = positions.location("/owner")
    assert (loc.file, loc.line, loc.column, loc.pointer) == ("f.yaml", 2, 8, "/owner")
    assert (
        positions.location("/nested/list/0").line,
        positions.location("/nested/list/0").column,
    ) == (5, 7)
    b = positions.location("/nested/list/1/b")
    assert (b.line, b.column) == (6, 17)
    key = positions.key_location("/nested/list/1/b")
    assert (key.line, key.column) == (6, 14)


def test_missing_pointer_falls_back_to_nearest_ancestor() -> None:
    _, positions = load_yaml(TEXT, "f.yaml", max_bytes=10_000)
    loc = positions.location("/nested/list/1/missing")
    assert (loc.line, loc.column, loc.pointer) == (6, 7, "/nested/list/1/missing")


def test_shifted_view_and_line_offset() -> None:
    _, positions = load_yaml(TEXT, "f.md", max_bytes=10_000, line_offset=1)
    sub = positions.shifted("/nested/list/1")
    assert sub.location("/b").line == 7
    assert sub.location("/b").column == 17


def test_a_shifted_view_sees_only_its_subtree() -> None:
    _, positions = load_yaml(TEXT, "f.yaml", max_bytes=10_000)
    nested = positions.shifted("/nested").shifted("/list")  # views compose
    assert (nested.location("/1/b").line, nested.location("/1/b").column) == (6, 17)
    assert nested.key_location("/1/b").column == 14
    # Nothing above the view: a missing pointer stops at the view's root, and the key
    # that names the root lies outside it.
    assert nested.location("/9").line == nested.location("").line == 5
    assert nested.key_location("").column == positions.location("/nested/list").column
    assert positions.shifted("/nested/lis").location("/t").line is None  # a prefix is a path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("country: no", "no"),
        ("flag: yes", "yes"),
        ("switch: on", "on"),
        ("x: off", "off"),
        ("t: true", True),
        ("f: False", False),
    ],
)
def test_yaml_1_2_booleans(text: str, expected: object) -> None:
    value, _ = load_yaml(text, "f.yaml", max_bytes=100)
    assert list(value.values()) == [expected]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("a: 1\na: 2\n", 2, 1, "duplicate key 'a' (first defined at line 1)"),
        ("a: &x 1\nb: *x\n", 1, 4, "anchors (&x) are not allowed"),
        ("a:\n  <<: {b: 1}\n", 2, 3, "merge keys (<<) are not allowed"),
        ("a: 1\n1: b\n", 2, 1, "keys must be strings"),
        ("a: [1, 2\n", 2, 1, "expected ',' or ']'"),
    ],
)
def test_refusals_are_located(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        load_yaml(text, "f.yaml", max_bytes=1000)
    err = info.value
    assert err.location is not None
    assert (err.location.file, err.location.line, err.location.column) == ("f.yaml", line, column)
    assert fragment in err.message
    assert err.lines()[0].startswith(f"f.yaml:{line}:{column}: error[YAML]: ")


def test_size_limit_is_checked_before_parsing() -> None:
    with pytest.raises(InputError) as info:
        load_yaml("a: " + "x" * 200, "big.yaml", max_bytes=100)
    assert info.value.code == "SIZE"
    assert "larger than the limit of 100 bytes" in info.value.message


def test_empty_document_is_none() -> None:
    value, positions = load_yaml("# nothing\n", "f.yaml", max_bytes=100)
    assert value is None
    assert positions.location("").line is None
