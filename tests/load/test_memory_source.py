"""A project held in memory loads exactly as the same files on disk."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import assay
from assay.errors import InputErrors
from assay.load import DiskSource, MemorySource

AS_OF = datetime(2026, 5, 1, 12, tzinfo=UTC)
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "basic"


def _files(root: Path) -> dict[str, bytes]:
    source = DiskSource(root)
    return {rel: source.read(rel) for rel in source.walk("")}


def test_memory_and_disk_give_the_same_assessment() -> None:
    on_disk = assay.load_project(SCENARIO)
    in_memory = assay.load_files(_files(SCENARIO))
    assert [f.path for f in in_memory.files] == [f.path for f in on_disk.files]
    assert [f.sha256 for f in in_memory.files] == [f.sha256 for f in on_disk.files]
    for workflow in on_disk.workflows:
        a = assay.assess(on_disk, workflow, as_of=AS_OF, release="1")
        b = assay.assess(in_memory, workflow, as_of=AS_OF, release="1")
        assert a.canonical_json() == b.canonical_json()


def test_errors_in_memory_are_located_like_on_disk() -> None:
    files = _files(SCENARIO)
    workflow = next(p for p in files if p.startswith("workflows/"))
    files[workflow] = b"id: [unclosed\n"
    with pytest.raises(InputErrors) as caught:
        assay.load_files(files)
    assert any(e.location is not None and e.location.file == workflow for e in caught.value.errors)


def test_memory_source_walks_sorted_and_skips_hidden() -> None:
    source = MemorySource({"b/x.yaml": b"", "a/y.yaml": b"", "a/.hidden/z.yaml": b"", "a/.w": b""})
    assert list(source.walk("")) == ["a/y.yaml", "b/x.yaml"]
    assert source.kind("a") == "folder" and source.kind("a/y.yaml") == "file"
    assert source.kind("c") is None
