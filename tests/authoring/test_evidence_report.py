"""Finding a field in JSON text by its JSON pointer (for `assay evidence validate`)."""

from __future__ import annotations

import json

import pytest

from assay.authoring.evidence_report import json_offset

TEXT = json.dumps(
    [{"id": "a", "x": {"a/b": 1, "c~d": [10, {"deep": True}]}}, {"id": "b", "v": 's,"]}'}],
    indent=1,
)


@pytest.mark.parametrize(
    ("pointer", "needle"),
    [
        ("", "[\n {"),
        ("/0", '{\n  "id": "a"'),
        ("/0/x", '"x"'),
        ("/0/x/a~1b", '"a/b"'),
        ("/0/x/c~0d", '"c~d"'),
        ("/0/x/c~0d/1", '{\n     "deep"'),
        ("/0/x/c~0d/1/deep", '"deep"'),
        ("/1/v", '"v"'),
    ],
)
def test_the_offset_of_a_field(pointer: str, needle: str) -> None:
    assert json_offset(TEXT, pointer) == TEXT.index(needle)


def test_a_field_that_is_not_there_is_found_at_its_record() -> None:
    assert json_offset(TEXT, "/1/missing") == TEXT.index('{\n  "id": "b"')
    assert json_offset(TEXT, "/7/id") == 0
    assert json_offset(TEXT, "/0/x/c~0d/9") == TEXT.index("[\n    10")


def test_a_string_holding_json_punctuation_is_skipped_whole() -> None:
    text = '{"a": "}, \\"b\\": 1", "b": 2}'
    assert json_offset(text, "/b") == text.index('"b": 2')
