"""The parse cache between runs (``.assay/parsed-yaml.json``): values and positions read
back exactly as the parser gives them, the same project and assessment bytes with and
without it, and a cache that is damaged, from other code or from another folder is not
trusted."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from assay.errors import InputError, InputErrors
from assay.evaluate import assess_fleet
from assay.formats import get_formatter
from assay.load import parsed
from assay.load import project as loader
from assay.load.parsed import FILE_NAME, ParsedYaml, _decode, _encode, _same
from assay.load.project import load_project
from assay.models.time import parse_instant
from assay.parsing.yamlsafe import load_yaml

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "hypercare-waivers"
AS_OF = parse_instant("2026-06-01T00:00:00Z")


@pytest.mark.parametrize(
    "value",
    [
        None,
        {"a": [1, 2.5, True, None, "x"], "b": {"c": -0.0}},
        [float("inf"), -math.inf, 1e308, 5e-324],
        date(2026, 1, 5),
        datetime(2026, 1, 5, 9, 30, 1, 120000),
        datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
        datetime(2026, 1, 5, 9, 30, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        {"z": 1, "a": 2},  # key order kept
        ["l", "d", "f"],  # strings that look like the cache's own tags
    ],
)
def test_values_read_back_exactly(value: Any) -> None:
    again = _decode(json.loads(json.dumps(_encode(value))))
    assert _same(again, value)


def test_same_tells_apart_what_equality_confuses() -> None:
    assert not _same(True, 1)
    assert not _same(1, 1.0)
    assert not _same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not _same(date(2026, 1, 5), datetime(2026, 1, 5))
    utc = datetime(2026, 1, 5, tzinfo=UTC)
    assert not _same(utc, utc.astimezone(timezone(timedelta(hours=1))))
    assert _same(float("nan"), float("nan"))  # the same bits: kept as they are


def test_a_cached_file_parses_to_the_same_value_and_positions(tmp_path: Path) -> None:
    text = (
        b"id: x  # a comment\nwhen: 2026-05-04T09:30:00+02:00\nday: 2026-05-04\n"
        b"list:\n  - |\n    block\n    text\n  - 'quoted'\n  - 1.5\nnan: -0.0\n"
    )
    fresh_value, fresh_pos = load_yaml(text, "f.yaml", max_bytes=1 << 20)
    first = ParsedYaml(tmp_path)
    first.load(text, "f.yaml", max_bytes=1 << 20)
    first.save()
    second = ParsedYaml(tmp_path)
    calls: list[str] = []
    original = parsed.load_yaml

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append("parsed")
        return original(*args, **kwargs)

    parsed.load_yaml = spy  # type: ignore[assignment]
    try:
        value, positions = second.load(text, "other.yaml", max_bytes=1 << 20)
    finally:
        parsed.load_yaml = original
    assert calls == []  # read back, not parsed
    assert _same(value, fresh_value)
    assert positions.file == "other.yaml"
    for pointer in ("", "/id", "/when", "/list/0", "/list/1", "/nan", "/missing"):
        assert positions.location(pointer).line == fresh_pos.location(pointer).line
        assert positions.location(pointer).column == fresh_pos.location(pointer).column
    for pointer in ("/day", "/list"):
        got, want = positions.key_location(pointer), fresh_pos.key_location(pointer)
        assert (got.line, got.column) == (want.line, want.column)
    block = positions.text_location("/list/0", 2, 1)
    assert (block.line, block.column) == (
        fresh_pos.text_location("/list/0", 2, 1).line,
        fresh_pos.text_location("/list/0", 2, 1).column,
    )
    # A lower size limit than when it was kept still refuses the file.
    with pytest.raises(InputError, match="larger than the limit"):
        second.load(text, "f.yaml", max_bytes=10)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(SCENARIO, target)
    (target / "expected.yaml").unlink()
    (target / ".assay").mkdir()
    return target


def _gate(root: Path) -> str:
    loader._POLICIES.clear()  # the in-process memo would hide the cache on disk
    loader._DOCUMENTS.clear()
    with load_project(root, now=AS_OF) as project:
        return get_formatter("json")(assess_fleet(project, None, AS_OF))


def test_the_same_assessment_with_and_without_the_cache(root: Path) -> None:
    cache = root / ".assay" / FILE_NAME
    first = _gate(root)
    assert cache.is_file()
    kept = json.loads(cache.read_bytes())
    inputs = [
        *root.glob("policies/*.yaml"),
        *root.glob("workflows/*.yaml"),
        *root.glob("waivers/*.yaml"),
    ]
    assert set(kept["files"]) == {hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs}
    assert _gate(root) == first
    cache.unlink()
    assert _gate(root) == first


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"{not json",
        lambda data: json.dumps({**json.loads(data), "fingerprint": "other code"}).encode(),
        lambda data: json.dumps({**json.loads(data), "identity": "0:0"}).encode(),
        lambda data: json.dumps(
            {**json.loads(data), "files": {k: [1] for k in json.loads(data)["files"]}}
        ).encode(),
    ],
)
def test_a_damaged_or_foreign_cache_is_not_trusted(root: Path, damage: Any) -> None:
    cache = root / ".assay" / FILE_NAME
    first = _gate(root)
    cache.write_bytes(damage(cache.read_bytes()))
    assert _gate(root) == first


def test_a_cache_copied_into_another_checkout_is_not_trusted(root: Path, tmp_path: Path) -> None:
    _gate(root)
    # The copy holds a workflow whose cached value was tampered with: the other folder
    # does not trust it and parses the real file.
    cache = root / ".assay" / FILE_NAME
    data = json.loads(cache.read_bytes())
    for entry in data["files"].values():
        if "Credit scoring" in json.dumps(entry[0]):
            entry[0] = json.loads(json.dumps(entry[0]).replace("Credit scoring", "Forged"))
    cache.write_text(json.dumps(data), encoding="utf-8")
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    loader._POLICIES.clear()
    loader._DOCUMENTS.clear()
    with load_project(copy, now=AS_OF) as project:
        assert [w.name for w in project.workflows.values()] == ["Credit scoring"]


def test_a_file_with_errors_is_not_kept(root: Path) -> None:
    _gate(root)
    path = root / "workflows" / "scoring.yaml"
    bad = path.read_bytes() + b"a: &x 1\n"
    path.write_bytes(bad)
    for _ in range(2):
        with pytest.raises(InputErrors, match="anchors"):
            _gate(root)
    kept = json.loads((root / ".assay" / FILE_NAME).read_bytes())
    assert hashlib.sha256(bad).hexdigest() not in kept["files"]


def test_a_pipe_in_place_of_the_cache_is_not_read(root: Path) -> None:
    first = _gate(root)
    cache = root / ".assay" / FILE_NAME
    cache.unlink()
    os.mkfifo(cache)  # reading it would block the gate for ever
    assert _gate(root) == first
