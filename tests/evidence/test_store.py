"""The evidence store: the same records as loading without it, every file read once, and a
cache that damage, deletion, copying or another version can only slow down."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from projectkit import WF, Kit, copy_project, drift, incident, postmortem

from assay.evidence.cache import CacheDir
from assay.evidence.index import EvidenceIndex, Record
from assay.evidence.readers import ReaderLimits
from assay.evidence.store import EvidenceStore, SyncReport, open_store
from assay.load.project import load_project

ROOT = Path(__file__).resolve().parents[2]
LIMITS = ReaderLimits(max_yaml_bytes=8 << 20, max_evidence_bytes=256 << 20)


def evidence_paths(root: Path) -> list[Path]:
    return sorted(p for p in (root / "evidence").rglob("*") if p.is_file())


def sync(
    root: Path,
    *,
    workflows: set[str] | None = None,
    rehash: bool = False,
    cache: bool = True,
) -> tuple[EvidenceStore, SyncReport]:
    folder = CacheDir.for_project(root) if cache else None
    return open_store(
        root, evidence_paths(root), workflows or {WF}, LIMITS, cache=folder, rehash=rehash
    )


def snapshot(records: list[list[Record]]) -> list[tuple[Any, ...]]:
    """Everything a check or a finding can see of the records, in index order."""
    index = EvidenceIndex(records)
    out = []
    for key in sorted(index._records):
        for r in index._records[key]:
            out.append((key, r.data, r.line, r.pointer, r.source.path, r.source.sha256))
    return out


def loader_snapshot(root: Path) -> list[tuple[Any, ...]]:
    index = load_project(root, engine="rows").evidence
    assert isinstance(index, EvidenceIndex)
    return snapshot([list(items) for items in index._records.values()])


def make_project(kit: Kit) -> Kit:
    kit.setup(controls=[], classes=[])
    kit.dump(
        "evidence/drift.jsonl",
        [drift(f"d{i}", f"2026-05-{1 + i % 28:02d}T0{i % 10}:00:00+02:00") for i in range(40)],
    )
    kit.dump("evidence/incidents.json", [incident("INC-1", "2026-05-01T10:00:00Z")])
    kit.dump("evidence/pm.yaml", postmortem("PM-1", "INC-1", "2026-05-03T10:00:00Z"))
    kit.write(
        "evidence/pm2.md",
        "---\n"
        + json.dumps(postmortem("PM-2", "INC-1", "2026-05-04T10:00:00Z"))
        + "\n---\n# Postmortem\n\nWhat happened.\n",
    )
    (kit.root / "evidence/records.jsonl").unlink()
    return kit


def age(path: Path, seconds: float = 60.0) -> None:
    """Move a file's mtime into the past, so that its stat is not "racily clean"."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - int(seconds * 1e9)))


def settle(root: Path) -> None:
    """Sync once with every file old enough for its stat to be trusted afterwards."""
    for path in evidence_paths(root):
        age(path)
    store, _ = sync(root)
    store.close()


# -- the same records -------------------------------------------------------------------


@pytest.mark.parametrize(
    "project",
    ["examples", "tests/scenarios/basic", "tests/scenarios/hypercare-waivers"],
)
def test_records_equal_the_loaders_cold_warm_and_in_memory(project: str, tmp_path: Path) -> None:
    root = tmp_path / "p"
    copy_project(ROOT / project, root)
    expected = loader_snapshot(root)
    workflows = set(load_project(root, engine="rows").workflows)
    assert expected
    for cache in (True, True, False):  # cold, warm, no cache folder at all
        store, report = sync(root, workflows=workflows, cache=cache)
        with store:
            assert report.errors == []
            assert report.cached is cache
            assert snapshot(store.batches()) == expected


def test_one_workflow_reads_that_workflows_records_only(kit: Kit) -> None:
    kit.setup(controls=[], classes=[], workflows=[{"id": "a"}, {"id": "b"}])
    kit.dump(
        "evidence/all.jsonl",
        [drift("d1", "2026-05-01T00:00:00Z", workflow="a")]
        + [drift("d2", "2026-05-02T00:00:00Z", workflow="b")],
    )
    kit.dump("evidence/b.jsonl", [drift("d3", "2026-05-03T00:00:00Z", workflow="b")])
    store, _ = sync(kit.root, workflows={"a", "b"})
    with store:
        only_b = [r.id for batch in store.batches(["b"]) for r in batch]
        assert sorted(only_b) == ["d2", "d3"]
        assert [r.id for batch in store.batches(["a"]) for r in batch] == ["d1"]


def test_time_offsets_and_file_positions_survive_the_store(kit: Kit) -> None:
    make_project(kit)
    settle(kit.root)
    store, report = sync(kit.root)
    with store:
        assert report.parsed == []
        records = {r.id: r for batch in store.batches() for r in batch}
    assert records["d3"].data.run_at.isoformat() == "2026-05-04T03:00:00+02:00"
    assert (records["d3"].line, records["d3"].pointer) == (4, "")
    assert (records["INC-1"].line, records["INC-1"].pointer) == (2, "/0")
    assert records["PM-2"].source.path == "evidence/pm2.md"
    assert records["PM-2"].data.body is not None and "What happened." in records["PM-2"].data.body


# -- read once --------------------------------------------------------------------------


def test_unchanged_files_are_neither_read_nor_parsed_again(kit: Kit) -> None:
    make_project(kit)
    store, first = sync(kit.root)
    store.close()
    assert sorted(first.parsed) == [
        p.relative_to(kit.root).as_posix() for p in evidence_paths(kit.root)
    ]
    settle(kit.root)
    store, again = sync(kit.root)
    store.close()
    assert (again.hashed, again.parsed, again.rebuilt) == ([], [], False)


def test_a_touched_file_is_hashed_but_not_parsed(kit: Kit) -> None:
    make_project(kit)
    settle(kit.root)
    os.utime(kit.root / "evidence/drift.jsonl")  # same content, new mtime
    store, report = sync(kit.root)
    store.close()
    assert report.hashed == ["evidence/drift.jsonl"]
    assert report.parsed == []


def test_changed_content_is_parsed_again_even_with_the_same_stat(kit: Kit) -> None:
    make_project(kit)
    settle(kit.root)
    path = kit.root / "evidence/drift.jsonl"
    before = path.stat()
    text = path.read_text().replace('"value": 0.1', '"value": 0.3', 1)
    assert len(text) == before.st_size
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # hide the change from mtime
    store, report = sync(kit.root)
    with store:
        # ctime moved: the stat differs, the file is hashed, and the new content is parsed
        assert report.parsed == ["evidence/drift.jsonl"]
        values = sorted(r.data.value for b in store.batches() for r in b if r.kind == "drift_log")
    assert values.count(0.3) == 1


def test_rehash_reads_every_file_and_parses_none(kit: Kit) -> None:
    make_project(kit)
    settle(kit.root)
    store, report = sync(kit.root, rehash=True)
    store.close()
    assert len(report.hashed) == len(evidence_paths(kit.root))
    assert report.parsed == []
    assert {f.sha256 for f in report.files} == {
        hashlib.sha256(p.read_bytes()).hexdigest() for p in evidence_paths(kit.root)
    }


def test_a_renamed_file_is_found_by_its_content(kit: Kit) -> None:
    make_project(kit)
    settle(kit.root)
    (kit.root / "evidence/drift.jsonl").rename(kit.root / "evidence/drift-2026.jsonl")
    store, report = sync(kit.root)
    with store:
        assert report.parsed == []
        paths = {r.source.path for b in store.batches() for r in b if r.kind == "drift_log"}
    assert paths == {"evidence/drift-2026.jsonl"}


def test_a_deleted_file_leaves_the_store(kit: Kit) -> None:
    make_project(kit)
    settle(kit.root)
    (kit.root / "evidence/pm.yaml").unlink()
    store, report = sync(kit.root)
    with store:
        assert "evidence/pm.yaml" not in {f.path for f in report.files}
        ids = {r.id for b in store.batches() for r in b}
        stored = store.engine.query("SELECT count(*) FROM ev_postmortem")[0][0]
    assert "PM-1" not in ids
    assert stored == 1  # PM-2 only: the blob of the deleted file is gone too


def test_a_file_changed_within_the_clock_granularity_is_hashed_again(kit: Kit) -> None:
    make_project(kit)
    store, _ = sync(kit.root)  # files written just now: their stat is racily clean
    store.close()
    store, report = sync(kit.root)
    store.close()
    assert "evidence/drift.jsonl" in report.hashed


# -- errors -----------------------------------------------------------------------------


def test_an_invalid_file_is_never_stored_and_reports_the_same_errors_every_time(
    kit: Kit,
) -> None:
    make_project(kit)
    bad = drift("d-bad", "2026-05-01T00:00:00Z", value="high")
    kit.write(
        "evidence/bad.jsonl",
        json.dumps(drift("ok", "2026-05-01T00:00:00Z")) + "\n" + json.dumps(bad) + "\n",
    )
    reports = []
    for _ in range(2):
        store, report = sync(kit.root)
        with store:
            assert "evidence/bad.jsonl" not in {f.path for f in report.files}
            assert "ok" not in {r.id for b in store.batches() for r in b}
        reports.append([(e.location, e.message) for e in report.errors])
    assert reports[0] == reports[1]
    ((location, message),) = reports[0]
    assert (location.file, location.line, location.pointer) == ("evidence/bad.jsonl", 2, "/value")
    assert "high" in message or "float" in message


def test_a_workflow_removed_from_the_project_is_reported_though_its_evidence_is_cached(
    kit: Kit,
) -> None:
    make_project(kit)
    settle(kit.root)
    store, report = sync(kit.root, workflows={"other"})
    store.close()
    assert report.errors
    assert all("unknown workflow 'wf'" in e.message for e in report.errors)
    assert {e.location.file for e in report.errors} == {
        p.relative_to(kit.root).as_posix() for p in evidence_paths(kit.root)
    }


# -- damage, deletion, other versions ----------------------------------------------------


def _expected(kit: Kit) -> list[tuple[Any, ...]]:
    store, _ = sync(kit.root, cache=False)
    with store:
        return snapshot(store.batches())


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncate", "flip", "delete", "empty", "wal", "object-gone", "object-edited"],
)
def test_damaging_or_deleting_the_cache_changes_nothing_but_time(kit: Kit, damage: str) -> None:
    make_project(kit)
    expected = _expected(kit)
    settle(kit.root)
    database = CacheDir.for_project(kit.root).database
    data = database.read_bytes()
    if damage == "garbage":
        database.write_bytes(os.urandom(len(data)))
    elif damage == "truncate":
        database.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        middle = bytearray(data)
        for offset in range(len(data) // 4, len(data), 4096):
            middle[offset] ^= 0xFF
        database.write_bytes(bytes(middle))
    elif damage == "delete":
        shutil.rmtree(database.parent)
    elif damage == "empty":
        database.write_bytes(b"")
    elif damage == "wal":
        database.with_name(database.name + ".wal").write_bytes(os.urandom(5000))
    else:
        (obj,) = (database.parent / "objects").glob("*/*.drift_log.jsonl")
        if damage == "object-gone":
            obj.unlink()
        else:
            obj.write_bytes(obj.read_bytes().replace(b'"value":0.1', b'"value":0.2', 1))
    store, report = sync(kit.root)
    with store:
        assert snapshot(store.batches()) == expected
        if damage.startswith("object"):
            assert store.recovered  # found while reading, rebuilt, read again
    if damage in ("garbage", "truncate", "delete", "empty"):
        assert report.rebuilt


def test_a_cache_of_another_fingerprint_is_rebuilt_not_read(kit: Kit) -> None:
    make_project(kit)
    expected = _expected(kit)
    settle(kit.root)
    database = CacheDir.for_project(kit.root).database
    con = duckdb.connect(str(database))
    # Pretend another version wrote it, and poison its rows: they must never be read.
    con.execute("UPDATE meta SET value = 'another version' WHERE key = 'fingerprint'")
    con.execute("UPDATE ev_drift_log SET value = 9.0")
    for (path,) in con.execute(
        "SELECT file FROM glob(?)", [f"{database.parent}/objects/*/*.drift_log.jsonl"]
    ).fetchall():
        poisoned = Path(path).read_bytes().replace(b'"value":0.1', b'"value":9.0')
        Path(path).write_bytes(poisoned)
        digest = hashlib.sha256(poisoned).hexdigest()
        con.execute("UPDATE objects SET digest = ? WHERE kind = 'drift_log'", [digest])
    con.close()
    store, report = sync(kit.root)
    with store:
        assert report.rebuilt
        assert snapshot(store.batches()) == expected


def test_a_cache_copied_into_another_checkout_is_rebuilt(kit: Kit, tmp_path: Path) -> None:
    make_project(kit)
    settle(kit.root)
    copy = tmp_path / "clone"
    shutil.copytree(kit.root, copy)
    store, report = open_store(
        copy, evidence_paths(copy), {WF}, LIMITS, cache=CacheDir.for_project(copy)
    )
    with store:
        assert report.rebuilt
        assert {r.source.path for b in store.batches() for r in b} == {
            p.relative_to(copy).as_posix() for p in evidence_paths(copy)
        }


def test_a_cache_folder_is_known_by_its_marker_not_its_bytes(tmp_path: Path) -> None:
    """The identity every cache of the folder is bound to: stable for the folder, another for
    a byte-identical copy (times preserved) and for a marker made again, as when a folder is
    deleted and recreated and the filesystem hands out the same inode number."""
    cache = CacheDir(tmp_path / ".assay")
    assert cache.identity() is None  # nothing is trusted before the marker exists
    assert cache.prepare()
    first = cache.identity()
    assert first is not None and cache.identity() == first
    copy = tmp_path / "copy" / ".assay"
    shutil.copytree(cache.path, copy, copy_function=shutil.copy2)
    assert CacheDir(copy).identity() not in (None, first)
    marker = cache.path / "identity"
    marker.unlink()
    assert cache.prepare()
    assert cache.identity() not in (None, first)


def test_the_cache_folder_ignores_itself_for_git(kit: Kit) -> None:
    make_project(kit)
    store, _ = sync(kit.root)
    store.close()
    folder = CacheDir.for_project(kit.root).path
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (
        (folder / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )


def test_a_database_held_by_another_program_means_running_without_the_cache(kit: Kit) -> None:
    make_project(kit)
    expected = _expected(kit)
    settle(kit.root)
    database = CacheDir.for_project(kit.root).database
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,sys; c=duckdb.connect({str(database)!r}); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        store, report = sync(kit.root)
        with store:
            assert report.cached is False
            assert snapshot(store.batches()) == expected
    finally:
        holder.communicate("")


# -- concurrency -------------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import hashlib, json, sys, time
    from pathlib import Path
    from assay.evidence.cache import CacheDir
    from assay.evidence.store import open_store
    from assay.evidence.readers import ReaderLimits

    root = Path(sys.argv[1])
    expected = json.loads(Path(sys.argv[2]).read_text())  # sha256 -> sorted record values
    limits = ReaderLimits(8 << 20, 256 << 20)
    deadline = time.monotonic() + float(sys.argv[3])
    runs = uncached = 0
    while time.monotonic() < deadline:
        paths = sorted(p for p in (root / "evidence").rglob("*") if p.is_file())
        store, report = open_store(root, paths, {"wf"}, limits, cache=CacheDir.for_project(root))
        with store:
            assert not report.errors, report.errors
            (entry,) = [f for f in report.files if f.path == "evidence/drift.jsonl"]
            values = sorted(
                r.data.value for b in store.batches() for r in b if r.source.path == entry.path
            )
            # The rows must be those of the content whose digest the report gives.
            assert values == expected[entry.sha256], (entry.sha256, values)
        runs += 1
        uncached += not report.cached
    print(runs, uncached)
    """
)


def test_concurrent_gates_never_see_or_leave_a_torn_cache(kit: Kit, tmp_path: Path) -> None:
    make_project(kit)
    path = kit.root / "evidence/drift.jsonl"
    versions = []
    for value in (0.1, 0.15, 0.05):
        versions.append(
            "".join(
                json.dumps(
                    drift(f"d{i}", f"2026-05-{1 + i % 28:02d}T{i // 28:02d}:00:00Z", value=value)
                )
                + "\n"
                for i in range(20 + int(value * 100))
            )
        )
    expected = {
        hashlib.sha256(v.encode()).hexdigest(): sorted(
            json.loads(line)["value"] for line in v.splitlines()
        )
        for v in versions
    }
    (tmp_path / "expected.json").write_text(json.dumps(expected))
    path.write_text(versions[0])
    child = tmp_path / "child.py"
    child.write_text(_CHILD)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, str(child), str(kit.root), str(tmp_path / "expected.json"), "6"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    deadline = time.monotonic() + 6
    flips = 0
    while time.monotonic() < deadline:
        # Replace the file atomically, as an evidence pipeline would.
        tmp = tmp_path / "drift.next"
        tmp.write_text(versions[flips % len(versions)])
        tmp.replace(path)
        flips += 1
        time.sleep(0.05)
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        runs, uncached = map(int, out.split())
        assert runs > 0
        assert uncached == 0  # the lock kept the two from colliding on the database
    assert flips > 10
    # And the cache the two left behind is whole: a fresh reader gets the file's records.
    store, report = sync(kit.root)
    with store:
        (entry,) = [f for f in report.files if f.path == "evidence/drift.jsonl"]
        values = sorted(
            r.data.value for b in store.batches() for r in b if r.source.path == entry.path
        )
        assert values == expected[entry.sha256]


def test_non_finite_numbers_from_yaml_are_refused_where_they_are(kit: Kit) -> None:
    # A NaN compares false with everything (a breach test `value > threshold` would pass it
    # silently): YAML's .nan and .inf are refused like NaN and Infinity in JSON.
    make_project(kit)
    kit.write(
        "evidence/odd.yaml",
        yaml_text := "\n".join(
            f"{key}: {json.dumps(value)}"
            for key, value in drift("d-nan", "2026-05-01T00:00:00Z").items()
            if key != "value"
        )
        + "\nvalue: .nan\n",
    )
    assert ".nan" in yaml_text
    store, report = sync(kit.root)
    with store:
        (error,) = report.errors
        assert error.location is not None
        assert (error.location.file, error.location.line) == (
            "evidence/odd.yaml",
            yaml_text.count("\n"),
        )
        assert "finite" in error.message
        assert not [r for b in store.batches() for r in b if r.id == "d-nan"]


def test_each_ingest_writes_packs_and_a_pack_goes_when_nothing_in_it_is_stored(
    kit: Kit,
) -> None:
    """One ingest writes a handful of pack files whatever the number of files it stores;
    a later ingest writes its own; a pack is deleted once none of its objects is stored,
    and kept while any is (the records read back are those read without a store)."""
    make_project(kit)
    kit.dump("evidence/more.jsonl", [drift("m1", "2026-05-02T00:00:00Z")])
    settle(kit.root)
    packs = kit.root / ".assay" / "objects" / "pack"

    def names() -> set[str]:
        return {p.name for p in packs.iterdir()}

    first = names()
    tokens = {name.split(".", 1)[0] for name in first}
    assert len(tokens) == 1  # one ingest, one set of packs
    assert {name.split(".", 1)[1] for name in first} >= {"drift_log.jsonl", "idx"}
    kit.dump("evidence/late.jsonl", [drift("l1", "2026-05-05T00:00:00Z")])
    settle(kit.root)
    second = names()
    assert first < second
    assert len({name.split(".", 1)[0] for name in second}) == 2
    # more.jsonl's drift object shares the first drift pack with drift.jsonl's: kept.
    (kit.root / "evidence/more.jsonl").unlink()
    settle(kit.root)
    assert names() == second
    # late.jsonl was the only file of the second ingest: its packs go with it.
    (kit.root / "evidence/late.jsonl").unlink()
    settle(kit.root)
    assert names() == first
    store, _ = sync(kit.root)
    with store:
        assert snapshot(store.batches()) == _expected(kit)
