"""One new, changed, renamed or removed file updates the cache for that file only (its
index rows, the duplicates of its ids), and leaves the cache exactly as a build from
scratch of the same files would: every duplicate, wherever its twin is, is still found."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from projectkit import WF, Kit, check, control, drift, incident, risk_class, workflow

from assay.errors import InputErrors
from assay.evidence.cache import CacheDir
from assay.evidence.engines.duckdb import DuckDBEngine
from assay.load.project import load_project


def _setup(kit: Kit) -> None:
    kit.setup(
        controls=[control("C-1", check("present", "drift_log", min=1))],
        classes=[risk_class("high", 3, ["C-1"])],
        workflows=[workflow(WF), workflow("other")],
    )


def _age(root: Path) -> None:
    """Every evidence file's mtime a minute back: its stat is trusted from now on."""
    for path in (root / "evidence").rglob("*"):
        if path.is_file():
            st = path.stat()
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 60_000_000_000))


def _errors(root: Path, engine: str) -> list[str]:
    try:
        load_project(root, engine=engine).close()
    except InputErrors as caught:
        return [str(e) for e in caught.errors]
    return []


def _cache_state(root: Path) -> tuple[Any, ...]:
    """What the cache says about the files: its index (less the time of each stat) and
    every duplicate, path by path."""
    engine = DuckDBEngine.open(CacheDir.for_project(root).database, read_only=True)
    try:
        entries = engine.file_entries()
        blobs = {info.id: info.sha256 for info in engine.blob_infos().values()}
        index = sorted(
            (e.path, e.size, e.mtime_ns, e.ctime_ns, e.inode, blobs[e.blob])
            for e in entries.values()
        )
        return index, sorted(engine.duplicates(), key=repr)
    finally:
        engine.close()


def _fresh_state(root: Path, tmp_path: Path) -> tuple[Any, ...]:
    """The cache state of the same files built from scratch (in a copy, same stats)."""
    copy = tmp_path / "fresh"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".assay"))
    _errors(copy, "duckdb")
    index, duplicates = _cache_state(copy)
    return [row[:1] + row[5:] for row in index], duplicates


def _step(kit: Kit, tmp_path: Path) -> list[str]:
    """A warm load after a change: the same errors as without a store, and the cache as
    a fresh build leaves it."""
    expected = _errors(kit.root, "rows")
    assert _errors(kit.root, "duckdb") == expected
    index, duplicates = _cache_state(kit.root)
    assert ([row[:1] + row[5:] for row in index], duplicates) == _fresh_state(kit.root, tmp_path)
    assert index == [
        (row[0], *_stat(kit.root / row[0]), row[5]) for row in index
    ]  # every row is the file's stat now, none stale
    return expected


def _stat(path: Path) -> tuple[int, int, int, int]:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@pytest.mark.parametrize("where", ["evidence/a-first.jsonl", "evidence/z/last.jsonl"])
def test_a_new_file_finds_its_duplicates_wherever_the_first_record_is(
    kit: Kit, tmp_path: Path, where: str
) -> None:
    _setup(kit)
    kit.dump(
        "evidence/m.jsonl",
        [drift("d1", "2026-05-01T00:00:00Z"), drift("d2", "2026-05-02T00:00:00Z")],
    )
    kit.dump("evidence/o.jsonl", [drift("d1", "2026-05-01T00:00:00Z", workflow="other")])
    kit.dump("evidence/dup.jsonl", [drift("d2", "2026-05-03T00:00:00Z")])
    kit.dump("evidence/inc.json", [incident("I1", "2026-05-01T00:00:00Z")])
    before = _step(kit, tmp_path)
    assert len(before) == 1 and "d2" in before[0]
    _age(kit.root)
    assert _errors(kit.root, "duckdb") == before  # warm, nothing new
    # A new file: one id of this workflow seen before (first here or there by path order),
    # one already a duplicate (a third time), one of the other workflow's only, one new.
    kit.dump(
        where,
        [
            drift("d1", "2026-05-04T00:00:00Z"),
            drift("d2", "2026-05-05T00:00:00Z"),
            drift("d9", "2026-05-06T00:00:00Z"),
            incident("I1", "2026-05-02T00:00:00Z", workflow="other"),
        ],
    )
    after = _step(kit, tmp_path)
    assert len(after) == 3, after  # d1 once more, d2 twice more; I1 is the other's only
    assert after != before
    # Renamed: which record comes first changes.
    _age(kit.root)
    renamed = kit.root / "evidence/zz-renamed.jsonl"
    (kit.root / where).rename(renamed)
    assert len(_step(kit, tmp_path)) == 3
    # Changed in place: the duplicates of its old ids go, those of its new ones come.
    _age(kit.root)
    kit.dump("evidence/zz-renamed.jsonl", [drift("d7", "2026-05-04T00:00:00Z")])
    assert _step(kit, tmp_path) == before
    # Removed: the untouched duplicate (d2 in dup.jsonl) is still reported.
    _age(kit.root)
    renamed.unlink()
    assert _step(kit, tmp_path) == before
    (kit.root / "evidence/dup.jsonl").unlink()
    assert _step(kit, tmp_path) == []


def test_a_copy_of_a_file_is_a_duplicate_of_every_record_in_it(kit: Kit, tmp_path: Path) -> None:
    _setup(kit)
    kit.dump(
        "evidence/m.jsonl",
        [drift("d1", "2026-05-01T00:00:00Z"), drift("d1", "2026-05-02T00:00:00Z")],
    )
    _step(kit, tmp_path)
    _age(kit.root)
    shutil.copy(kit.root / "evidence/m.jsonl", kit.root / "evidence/copy.jsonl")
    assert len(_step(kit, tmp_path)) == 3


def test_every_write_marks_a_new_generation_and_a_read_keeps_it(kit: Kit) -> None:
    _setup(kit)
    kit.dump("evidence/m.jsonl", [drift("d1", "2026-05-01T00:00:00Z")])

    def generation() -> str | None:
        engine = DuckDBEngine.open(CacheDir.for_project(kit.root).database, read_only=True)
        try:
            return engine.generation()
        finally:
            engine.close()

    _errors(kit.root, "duckdb")
    _age(kit.root)
    _errors(kit.root, "duckdb")  # the aged stats written: a new generation
    first = generation()
    assert first is not None
    _errors(kit.root, "duckdb")  # nothing to write
    assert generation() == first
    kit.dump("evidence/n.jsonl", [drift("d2", "2026-05-01T00:00:00Z")])
    _errors(kit.root, "duckdb")
    assert generation() not in (None, first)


def test_a_writer_between_the_read_pass_and_the_write_is_seen(
    kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process writes (here: forgets a file and its records) after this run
    planned its write and before it holds the lock alone: the plan is made again."""
    from assay.evidence.cache import CacheLock

    _setup(kit)
    kit.dump("evidence/m.jsonl", [drift("d1", "2026-05-01T00:00:00Z")])
    kit.dump("evidence/n.jsonl", [drift("d2", "2026-05-02T00:00:00Z")])
    _step(kit, tmp_path)
    _age(kit.root)
    kit.dump("evidence/o.jsonl", [drift("d1", "2026-05-03T00:00:00Z")])  # something to write
    acquire = CacheLock.acquire
    intruded = []

    def intrude(self: CacheLock, *, exclusive: bool, timeout: float = 30.0) -> None:
        if exclusive and not intruded:
            intruded.append(True)
            engine = DuckDBEngine.open(CacheDir.for_project(kit.root).database, read_only=False)
            try:
                entries = engine.file_entries()
                del entries["evidence/n.jsonl"]
                engine.write([], entries.values())
            finally:
                engine.close()
        acquire(self, exclusive=exclusive, timeout=timeout)

    monkeypatch.setattr(CacheLock, "acquire", intrude)
    expected = _errors(kit.root, "rows")
    assert _errors(kit.root, "duckdb") == expected
    assert intruded
    monkeypatch.undo()
    assert len(expected) == 1
    index, duplicates = _cache_state(kit.root)
    assert "evidence/n.jsonl" in [row[0] for row in index]
    assert ([row[:1] + row[5:] for row in index], duplicates) == _fresh_state(kit.root, tmp_path)


def test_a_new_file_leaves_the_other_files_index_rows_as_they_were(kit: Kit) -> None:
    _setup(kit)
    kit.dump("evidence/m.jsonl", [drift("d1", "2026-05-01T00:00:00Z")])
    kit.dump("evidence/racy.jsonl", [drift("d2", "2026-05-01T00:00:00Z")])

    def entries() -> dict[str, Any]:
        engine = DuckDBEngine.open(CacheDir.for_project(kit.root).database, read_only=True)
        try:
            return engine.file_entries()
        finally:
            engine.close()

    _age(kit.root)
    _errors(kit.root, "duckdb")
    before = entries()
    # Just written: its stat is not trusted yet (racily clean), so its row is taken anew.
    os.utime(kit.root / "evidence/racy.jsonl")
    kit.dump("evidence/n.jsonl", [drift("d3", "2026-05-02T00:00:00Z")])
    _errors(kit.root, "duckdb")
    after = entries()
    assert set(after) == set(before) | {"evidence/n.jsonl"}
    assert after["evidence/m.jsonl"] == before["evidence/m.jsonl"]  # the time of its stat too
    assert after["evidence/racy.jsonl"].mtime_ns != before["evidence/racy.jsonl"].mtime_ns
    assert after["evidence/racy.jsonl"].checked_ns > before["evidence/racy.jsonl"].checked_ns
