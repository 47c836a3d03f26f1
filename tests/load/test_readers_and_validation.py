"""Evidence readers (line numbers of records) and the translation of validation errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from assay.errors import InputError, InputErrors
from assay.evidence.index import SourceFile, validate_records
from assay.evidence.readers import ReaderLimits, reader_for
from assay.models.workflow import Workflow
from assay.parsing.validate import validate_model
from assay.parsing.yamlsafe import load_yaml

LIMITS = ReaderLimits(max_yaml_bytes=100_000, max_evidence_bytes=100_000)


def ident(data: Any) -> Any:
    """The id of a raw record (JSONL records may be handed on as undecoded bytes)."""
    return (json.loads(data) if isinstance(data, bytes) else data)["id"]


def read(suffix: str, text: str) -> list[Any]:
    reader = reader_for(suffix)
    assert reader is not None
    return list(reader(text.encode("utf-8"), f"e{suffix}", LIMITS))


def test_json_array_records_carry_their_start_line() -> None:
    text = '[\n  {"id": "a"},\n\n  {\n    "id": "b"\n  },\n  {"id": "c"}\n]\n'
    records = read(".json", text)
    assert [(ident(r.data), r.line, r.pointer) for r in records] == [
        ("a", 2, "/0"),
        ("b", 4, "/1"),
        ("c", 7, "/2"),
    ]


def test_json_single_object_and_empty_array() -> None:
    assert [(r.line, r.pointer) for r in read(".json", '\n\n{"id": "x"}\n')] == [(3, "")]
    assert read(".json", "[ ]") == []


def test_json_trailing_garbage_is_located() -> None:
    with pytest.raises(InputError) as info:
        read(".json", '{"id": "x"}\n{"id": "y"}\n')
    assert info.value.location is not None
    assert info.value.location.line == 2


def test_jsonl_skips_blank_lines_and_keeps_line_numbers() -> None:
    text = '{"id": "a"}\n\n   \n{"id": "b"}\n\n{"id": "c"}'
    assert [(ident(r.data), r.line) for r in read(".jsonl", text)] == [("a", 1), ("b", 4), ("c", 6)]


def test_yaml_list_records_have_positions() -> None:
    records = read(".yaml", "- id: a\n  kind: x\n- id: b\n  kind: y\n")
    assert [(ident(r.data), r.line, r.pointer) for r in records] == [("a", 1, "/0"), ("b", 3, "/1")]
    assert records[1].positions is not None
    assert records[1].positions.location("/kind").line == 4


def test_markdown_front_matter_and_body() -> None:
    text = "---\nid: PM-1\nkind: postmortem\n---\n# Title\n\nText here.\n"
    (record,) = read(".md", text)
    assert record.data["id"] == "PM-1"
    assert record.data["body"] == "# Title\n\nText here."
    assert record.line == 1
    assert record.positions is not None
    # Line numbers count the opening `---` line.
    assert record.positions.location("/kind").line == 3


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("# no front matter\n", "first line must be '---'"),
        ("---\nid: x\n", "not closed"),
        ("---\n- a\n---\n", "must be a mapping"),
        ("---\nbody: x\n---\ntext\n", "'body' is taken from the document text"),
    ],
)
def test_markdown_refusals(text: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        read(".md", text)
    assert fragment in info.value.message
    assert info.value.location is not None and info.value.location.line is not None


def test_unknown_suffix_has_no_reader() -> None:
    assert reader_for(".csv") is None
    assert reader_for(".YAML") is not None


def test_nested_validation_error_has_pointer_and_line() -> None:
    text = (
        "id: PM-1\nkind: postmortem\nworkflow: wf\ncreated_at: 2026-05-01T00:00:00Z\n"
        "recorded_by: a\nsource_uri: u\nsha256: " + "a" * 64 + "\n"
        "incident_id: I-1\npublished_at: 2026-05-01T00:00:00Z\nblameless: true\n"
        "actions:\n  - owner: bob\n    priority: P1\n    due: 2026-05-02T00:00:00Z\n"
        "  - owner: eve\n    priority: P9\n    due: 2026-05-02T00:00:00Z\n"
    )
    raw = read(".yaml", text)
    good, errors = validate_records(raw, SourceFile("e.yaml", "0" * 64), {"wf"})
    assert good == []
    (err,) = errors
    assert err.location is not None
    assert (err.location.line, err.location.column, err.location.pointer) == (
        16,
        15,
        "/actions/1/priority",
    )
    assert "'P9'" in err.message


def test_a_yaml_list_record_error_points_at_the_field_not_the_record() -> None:
    """A record of a YAML list is validated through a view shifted to its item: the error
    carries the field's own line and column, and the pointer from the file's root."""
    record = (
        "- id: PM-{n}\n  kind: postmortem\n  workflow: wf\n  created_at: 2026-05-01T00:00:00Z\n"
        "  recorded_by: a\n  source_uri: u\n  sha256: " + "a" * 64 + "\n"
        "  incident_id: I-1\n  published_at: 2026-05-01T00:00:00Z\n  blameless: {blameless}\n"
        "  actions: []\n  root_causes: []\n  colour: red\n"
    )
    text = record.format(n=1, blameless="true") + record.format(n=2, blameless="maybe")
    _, errors = validate_records(read(".yaml", text), SourceFile("e.yaml", "0" * 64), {"wf"})
    located = sorted(
        (e.location.line, e.location.column, e.location.pointer, e.message.split(" (")[0])
        for e in errors
        if e.location is not None
    )
    assert located == [
        (13, 3, "/0/colour", "unknown key 'colour'"),
        (23, 14, "/1/blameless", "Input should be a valid boolean, unable to interpret input, got 'maybe'"),
        (26, 3, "/1/colour", "unknown key 'colour'"),
    ]  # fmt: skip


def test_jsonl_validation_error_has_record_line_and_pointer() -> None:
    raw = read(".jsonl", '{"id": "x"}\n\n{"id": "y", "kind": "incident", "workflow": 3}\n')
    _, errors = validate_records(raw, SourceFile("e.jsonl", "0" * 64), {"wf"})
    lines = {e.location.line for e in errors if e.location}
    assert lines == {1, 3}
    pointers = {e.location.pointer for e in errors if e.location and e.location.line == 3}
    assert "/workflow" in pointers


def test_validate_model_collects_all_problems_with_did_you_mean() -> None:
    text = "id: wf\nnam: x\nowner: t\nrisk_class: high\nlaunched: nope\n"
    value, positions = load_yaml(text, "wf.yaml", max_bytes=1000)
    with pytest.raises(InputErrors) as info:
        validate_model(Workflow, value, positions, file="wf.yaml")
    lines = info.value.lines()
    assert any(
        line.startswith("wf.yaml:2:1 (at /nam)") and "did you mean 'name'" in line for line in lines
    )
    assert any(line.startswith("wf.yaml:5:11 (at /launched)") for line in lines)
    assert lines == sorted(lines, key=lambda s: (s.split(":")[0], int(s.split(":")[1])))
