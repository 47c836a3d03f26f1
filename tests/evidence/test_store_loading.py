"""Loading through the evidence store: the same project, the same errors, one workflow's
rows only, and nothing held once the project is closed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from projectkit import (
    WF,
    Kit,
    check,
    control,
    copy_project,
    drift,
    incident,
    postmortem,
    risk_class,
    workflow,
)

from assay.errors import InputErrors
from assay.evaluate import assess
from assay.evidence.cache import CacheDir
from assay.evidence.index import EvidenceIndex
from assay.evidence.store import StoredEvidence
from assay.load.project import STORE_MIN_BYTES, Project, load_project
from assay.models.time import parse_instant

ROOT = Path(__file__).resolve().parents[2]
AS_OF = parse_instant("2026-11-20T12:00:00Z")


def setup(kit: Kit, workflows: list[str] = [WF], **evidence: object) -> Kit:  # noqa: B006
    """A valid project: one control counting drift runs, one class, the workflows."""
    return kit.setup(
        controls=[control("C-1", check("present", "drift_log", min=1))],
        classes=[risk_class("high", 3, ["C-1"])],
        workflows=[workflow(w) for w in workflows],
        **evidence,  # type: ignore[arg-type]
    )


def _copy(project: str, tmp_path: Path) -> Path:
    root = tmp_path / Path(project).name
    copy_project(ROOT / project, root)
    return root


def _stored(project: Project) -> StoredEvidence:
    assert isinstance(project.evidence, StoredEvidence)
    return project.evidence


def _errors(root: Path, engine: str) -> list[tuple[str | None, int | None, str | None, str]]:
    with pytest.raises(InputErrors) as caught:
        load_project(root, engine=engine).close()
    return [
        (e.location.file, e.location.line, e.location.pointer, e.message)
        for e in caught.value.errors
    ]


def age(root: Path) -> None:
    """Move every evidence file's mtime into the past: its stat can be trusted next time."""
    for path in (root / "evidence").rglob("*"):
        if path.is_file():
            st = path.stat()
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 60_000_000_000))


@pytest.mark.parametrize(
    ("project", "as_of"),
    [
        ("examples", AS_OF),
        ("tests/scenarios/basic", parse_instant("2026-06-01T00:00:00Z")),
        ("tests/scenarios/hypercare-waivers", parse_instant("2026-06-01T00:00:00Z")),
    ],
)
def test_the_store_gives_the_assessments_of_the_rows_engine(
    project: str, as_of: object, tmp_path: Path
) -> None:
    root = _copy(project, tmp_path)
    rows = load_project(root, engine="rows")
    assert isinstance(rows.evidence, EvidenceIndex)
    expected = [assess(rows, w, as_of).model_dump_json() for w in rows.workflows]  # type: ignore[arg-type]
    for run in ("cold", "warm"):
        with load_project(root, engine="duckdb") as stored:
            assert stored.files == rows.files, run
            assert len(stored.evidence) == len(rows.evidence)
            got = [assess(stored, w, as_of).model_dump_json() for w in stored.workflows]  # type: ignore[arg-type]
            assert got == expected, run


def test_one_workflow_rebuilds_that_workflows_records_only(kit: Kit) -> None:
    setup(kit, ["a", "b"])
    kit.dump("evidence/a.jsonl", [drift("d1", "2026-05-01T00:00:00Z", workflow="a")])
    kit.dump("evidence/b.jsonl", [drift("d2", "2026-05-02T00:00:00Z", workflow="b")])
    with load_project(kit.root, engine="duckdb") as project:
        evidence = _stored(project)
        assert [r.id for r in evidence.records("b", "drift_log")] == ["d2"]
        assert set(evidence._indexes) == {("b", "drift_log")}
        assert evidence.files_of("a") == {"evidence/a.jsonl"}
        assert set(evidence._indexes) == {("b", "drift_log")}  # the file list needs no records


def test_the_records_kept_between_workflows_are_bounded_in_number(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fleet asks for one workflow's records after another: what stays in memory is
    bounded by records, not only by (workflow, kind) pairs, and the pair asked for last
    always stays; a pair let go is rebuilt the same when asked again."""
    names = ["a", "b", "c"]
    setup(kit, names)
    for w in names:
        records = [drift(f"{w}{i}", f"2026-05-{i + 1:02d}T00:00:00Z", workflow=w) for i in range(3)]
        kit.dump(f"evidence/{w}.jsonl", records)
    monkeypatch.setattr(StoredEvidence, "KEEP_RECORDS", 5)
    with load_project(kit.root, engine="duckdb") as project:
        evidence = _stored(project)
        first = [r.id for r in evidence.records("a", "drift_log")]
        assert first == ["a0", "a1", "a2"]
        evidence.records("b", "drift_log")  # 6 records: "a" goes
        assert list(evidence._indexes) == [("b", "drift_log")]
        monkeypatch.setattr(StoredEvidence, "KEEP_RECORDS", 6)
        evidence.records("c", "drift_log")
        assert list(evidence._indexes) == [("b", "drift_log"), ("c", "drift_log")]
        assert [r.id for r in evidence.records("a", "drift_log")] == first
        assert list(evidence._indexes) == [("c", "drift_log"), ("a", "drift_log")]
        assert evidence._kept == 6


def test_a_workflows_key_table_is_built_once_however_few_records_the_store_keeps(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `covered` checks look their candidates up by the same key with another kind read
    in between: the store (keeping one record here) lets the candidates go, but the
    workflow's checks share the key table, so it is built once."""
    by = {"evidence": "postmortem", "key": "incident_id"}
    covered = {"by": by, "deadline": "30d", "window": "365d"}
    kit.setup(
        controls=[
            control(
                "C-1",
                check("covered", "incident", "first", **covered),
                check("present", "drift_log", "drift", min=1),
                check("covered", "incident", "again", **covered),
            )
        ],
        classes=[risk_class("high", 3, ["C-1"])],
        evidence=[
            incident("i1", "2026-05-01T00:00:00Z"),
            postmortem("p1", "i1", "2026-05-03T00:00:00Z"),
            drift("d1", "2026-05-02T00:00:00Z"),
        ],
    )
    monkeypatch.setattr(StoredEvidence, "KEEP_RECORDS", 1)
    asked: list[str] = []
    build = EvidenceIndex.__init__

    def counted(self: EvidenceIndex, batches: Any) -> None:
        batches = list(batches)
        asked.extend(r.kind for batch in batches for r in batch)
        build(self, batches)

    monkeypatch.setattr(EvidenceIndex, "__init__", counted)
    with load_project(kit.root, engine="duckdb") as project:
        result = assess(project, WF, parse_instant("2026-06-01T00:00:00Z")).control("C-1")
    assert [c.status for c in result.checks] == ["pass", "pass", "pass"]
    assert asked.count("postmortem") == 1


def test_the_engine_is_chosen_by_size_unless_asked(kit: Kit) -> None:
    setup(kit, evidence=[drift("d1", "2026-05-01T00:00:00Z")])
    assert isinstance(load_project(kit.root).evidence, EvidenceIndex)
    assert not (kit.root / ".assay").exists()
    padding = json.dumps(drift("pad", "2026-05-01T00:00:00Z", segment="x" * 1000)) + "\n"
    lines = [
        padding.replace('"pad"', f'"pad-{i}"') for i in range(STORE_MIN_BYTES // len(padding) + 1)
    ]
    kit.write("evidence/big.jsonl", "".join(lines))
    with load_project(kit.root) as project:
        assert isinstance(project.evidence, StoredEvidence)
    assert isinstance(load_project(kit.root, engine="rows").evidence, EvidenceIndex)


def test_duplicates_are_reported_as_without_the_store(kit: Kit) -> None:
    setup(kit)
    kit.dump(
        "evidence/one.jsonl",
        [drift("d1", "2026-05-01T00:00:00Z"), drift("d2", "2026-05-02T00:00:00Z")],
    )
    kit.dump("evidence/sub/two.jsonl", [drift("d2", "2026-05-03T00:00:00Z")])
    # Folders sort before their siblings by path component ("sub" < "sub-z.jsonl"), not
    # by the text ("sub-" < "sub/"): which record comes first depends on it.
    kit.dump("evidence/sub-z.jsonl", [drift("d2", "2026-05-04T00:00:00Z")])
    shutil.copy(kit.root / "evidence/one.jsonl", kit.root / "evidence/one-copy.jsonl")
    kit.dump("evidence/inc.json", [incident("I1", "2026-05-01T00:00:00Z")] * 2)
    expected = _errors(kit.root, "rows")
    assert len(expected) == 5
    assert any(
        "sub-z.jsonl" in str(e) and "first at evidence/sub/two.jsonl" in str(e) for e in expected
    )
    for _ in ("cold", "warm"):
        assert _errors(kit.root, "duckdb") == expected
    age(kit.root)
    # A rename changes which record comes first: the duplicates are worked out again.
    (kit.root / "evidence/one-copy.jsonl").rename(kit.root / "evidence/a-copy.jsonl")
    assert _errors(kit.root, "duckdb") == _errors(kit.root, "rows")
    # Gone again: the project loads.
    (kit.root / "evidence/a-copy.jsonl").unlink()
    (kit.root / "evidence/sub/two.jsonl").unlink()
    (kit.root / "evidence/sub-z.jsonl").unlink()
    kit.dump("evidence/inc.json", [incident("I1", "2026-05-01T00:00:00Z")])
    load_project(kit.root, engine="duckdb").close()


def test_a_copy_of_an_evidence_file_is_a_duplicate_of_every_record(kit: Kit) -> None:
    """Both files have one content, so the store holds its records once: each of them is
    still there twice for the project, and a gate counting them must not pass."""
    setup(kit)
    kit.dump(
        "evidence/a.jsonl",
        [drift("d1", "2026-05-01T00:00:00Z"), drift("d2", "2026-05-02T00:00:00Z")],
    )
    load_project(kit.root, engine="duckdb").close()  # a warm store without the copy
    shutil.copy(kit.root / "evidence/a.jsonl", kit.root / "evidence/b.jsonl")
    expected = _errors(kit.root, "rows")
    assert [(file, line) for file, line, *_ in expected] == [
        ("evidence/b.jsonl", 1),
        ("evidence/b.jsonl", 2),
    ]
    assert _errors(kit.root, "duckdb") == expected  # the copy added to the store
    assert _errors(kit.root, "duckdb") == expected  # and again, nothing changed
    shutil.rmtree(kit.root / ".assay")
    assert _errors(kit.root, "duckdb") == expected  # built with both files at once


def test_a_file_with_errors_still_takes_part_in_the_duplicate_check(kit: Kit) -> None:
    setup(kit, evidence=[drift("d1", "2026-05-01T00:00:00Z")])
    kit.write(
        "evidence/bad.jsonl",
        json.dumps(drift("d1", "2026-05-02T00:00:00Z"))
        + "\n"
        + json.dumps(drift("d9", "2026-05-02T00:00:00Z", value="high"))
        + "\n",
    )
    expected = _errors(kit.root, "rows")
    assert any("duplicate" in message for *_, message in expected)
    assert _errors(kit.root, "duckdb") == expected


def test_no_cache_rehashes_every_file(kit: Kit) -> None:
    setup(kit, evidence=[drift("d1", "2026-05-01T00:00:00Z")])
    kit.dump("evidence/more.jsonl", [drift("d2", "2026-05-02T00:00:00Z")])
    load_project(kit.root, engine="duckdb").close()
    age(kit.root)
    load_project(kit.root, engine="duckdb").close()  # the stats are trusted from now on
    with load_project(kit.root, engine="duckdb") as project:
        assert _stored(project).report.hashed == []
    with load_project(kit.root, engine="duckdb", rehash=True) as project:
        report = _stored(project).report
        assert sorted(report.hashed) == ["evidence/more.jsonl", "evidence/records.jsonl"]
        assert report.parsed == []


def test_a_closed_project_holds_no_lock(kit: Kit) -> None:
    setup(kit, evidence=[drift("d1", "2026-05-01T00:00:00Z")])
    project = load_project(kit.root, engine="duckdb")
    lock = CacheDir.for_project(kit.root).lock()
    try:
        with pytest.raises(Exception, match="held by this process"):
            lock.acquire(exclusive=True, timeout=0.1)
        project.close()
        project.close()  # idempotent
        lock.acquire(exclusive=True, timeout=0.1)
    finally:
        lock.close()


def test_a_second_load_while_the_first_is_open_does_not_wait(kit: Kit) -> None:
    """A library user who never closes a project: the next load after a change runs
    without the cache (the first still holds it) instead of waiting for the lock."""
    setup(kit, evidence=[drift("d1", "2026-05-01T00:00:00Z")])
    first = load_project(kit.root, engine="duckdb")
    kit.dump("evidence/more.jsonl", [drift("d2", "2026-05-02T00:00:00Z")])
    with load_project(kit.root, engine="duckdb") as second:
        assert _stored(second).report.cached is False
        assert [r.id for r in second.evidence.records(WF, "drift_log")] == ["d1", "d2"]
    assert [r.id for r in first.evidence.records(WF, "drift_log")] == ["d1"]
    first.close()


def _gate_json(root: Path, engine: str = "duckdb") -> tuple[int, bytes]:
    """A gate as a user runs it, in its own process (one run, then exit)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "assay", "gate", "--project", str(root), "--all"]
        + ["--as-of", "2026-11-20T12:00:00Z", "--engine", engine, "--format", "json"],
        capture_output=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr.decode()
    return done.returncode, done.stdout


@pytest.fixture(scope="module")
def rows_gate(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, bytes]:
    return _gate_json(_copy("examples", tmp_path_factory.mktemp("rows")), "rows")


@pytest.mark.parametrize("damage", ["truncate", "object-edited", "other-version"])
def test_damaging_the_cache_changes_nothing_but_the_time_of_a_gate(
    damage: str, tmp_path: Path, rows_gate: tuple[int, bytes]
) -> None:
    """The whole gate, not just the store: the exit code and the Assessment JSON of the
    rows engine byte for byte after the cache is damaged, deleted, or written by another
    version; and the cache is whole again afterwards. (Each gate is a process of its own,
    so three kinds of damage here; tests/evidence/test_store.py tries every kind on the
    store itself.)"""
    import duckdb

    root = _copy("examples", tmp_path)
    age(root)
    assert _gate_json(root) == rows_gate  # builds the cache
    cache = CacheDir.for_project(root)
    database = cache.database
    objects = sorted((cache.path / "objects").glob("*/*.jsonl"))
    assert objects
    size = sum(o.stat().st_size for o in objects)
    if damage == "truncate":
        data = database.read_bytes()
        database.write_bytes(data[: len(data) // 3])
    elif damage == "object-edited":
        for obj in objects:  # every stored record says something else now
            obj.write_bytes(obj.read_bytes().replace(b'"id":"', b'"id":"x', 1))
    else:
        con = duckdb.connect(str(database))
        con.execute("UPDATE meta SET value = 'another version' WHERE key = 'fingerprint'")
        con.close()
    assert _gate_json(root) == rows_gate
    # Rebuilt, not merely bypassed: a whole cache of this version is there again (in new
    # packs: every ingest writes its own), as large as the first, none of it edited.
    again = sorted((cache.path / "objects").glob("*/*.jsonl"))
    assert len(again) == len(objects)
    assert all(b'"id":"x' not in obj.read_bytes() for obj in again)
    assert sum(o.stat().st_size for o in again) == size
    con = duckdb.connect(str(database), read_only=True)
    try:
        ((fingerprint,),) = con.execute(
            "SELECT value FROM meta WHERE key = 'fingerprint'"
        ).fetchall()
        (files,) = con.execute("SELECT count(*) FROM files").fetchone() or (0,)
    finally:
        con.close()
    assert fingerprint != "another version"
    assert files == len([p for p in (root / "evidence").rglob("*") if p.is_file()])


def test_a_cached_file_replaced_by_a_link_outside_the_project_is_refused(
    kit: Kit, tmp_path: Path
) -> None:
    """The cache never carries a file across the project's boundary: the same content,
    stored while it was inside, is refused once it is reached through a link leading
    outside (and the cached rows are not used)."""
    setup(kit, evidence=[drift("d1", "2026-05-01T00:00:00Z")])
    age(kit.root)
    load_project(kit.root, engine="duckdb").close()  # stored while inside
    inside = kit.root / "evidence" / "records.jsonl"
    outside = tmp_path / "elsewhere.jsonl"
    shutil.move(inside, outside)
    inside.symlink_to(outside)
    errors = _errors(kit.root, "duckdb")
    assert errors == _errors(kit.root, "rows")
    assert [(file, message.split(" (")[0]) for file, _, _, message in errors] == [
        ("evidence/records.jsonl", "this path leads outside the project folder")
    ]


def test_the_stores_own_reader_is_bounded_and_reads_regular_files_only(kit: Kit) -> None:
    from assay.errors import InputError
    from assay.evidence.store import disk_reader

    kit.root.mkdir(parents=True, exist_ok=True)
    reads = disk_reader(kit.root)
    (kit.root / "big.jsonl").write_bytes(b"x" * 100)
    os.mkfifo(kit.root / "pipe.jsonl")  # a plain read would block for ever
    (kit.root / "zero.jsonl").symlink_to("/dev/zero")  # ... or read for ever
    assert reads.read("big.jsonl", 100) == b"x" * 100
    assert b"".join(reads.stream("big.jsonl", 100)) == b"x" * 100
    for rel, limit, expected in [
        ("big.jsonl", 99, "larger than the limit of 99 bytes"),
        ("pipe.jsonl", None, "found a named pipe (FIFO)"),
        ("zero.jsonl", 1 << 20, "found a character device"),
    ]:
        with pytest.raises(InputError) as caught:
            reads.read(rel, limit)
        assert expected in caught.value.message
        assert caught.value.location.file == rel
        with pytest.raises(InputError) as caught:
            list(reads.stream(rel, limit))
        assert expected in caught.value.message
        assert caught.value.location.file == rel


def test_records_created_after_the_as_of_are_counted_and_none_asks_nothing(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each stored blob knows when its newest record was created: a gate at a time after
    every record's creation does not scan every kind's rows for late ones, and a gate just
    before one still counts it in its file (created exactly at the as-of is not after)."""
    setup(kit, ["a", "b"])
    kit.dump("evidence/a.jsonl", [drift("d1", "2026-05-01T00:00:00Z", workflow="a")])
    kit.dump(
        "evidence/b.jsonl",
        [
            drift("d2", "2026-05-02T00:00:00Z", workflow="b"),
            drift("d3", "2026-05-03T00:00:00Z", workflow="b", created_at="2026-06-01T00:00:00Z"),
        ],
    )
    asked: list[str] = []
    with load_project(kit.root, engine="duckdb") as project:
        evidence = _stored(project)
        query = evidence.engine.query
        monkeypatch.setattr(
            evidence.engine, "query", lambda sql, *a: asked.append(sql) or query(sql, *a)
        )

        def after_as_of(workflow: str, as_of: str) -> dict[str, int | None]:
            digest = assess(project, workflow, parse_instant(as_of)).inputs
            return {d.path: d.after_as_of for d in digest if d.path.startswith("evidence/")}

        assert after_as_of("b", "2026-05-31T23:59:59.999999Z") == {"evidence/b.jsonl": 1}
        assert after_as_of("a", "2026-05-31T23:59:59Z") == {"evidence/a.jsonl": 0}
        late = [sql for sql in asked if "created_at) >" in sql]
        assert len(late) == 1  # b's; a's only file holds nothing created that late
        asked.clear()
        assert after_as_of("b", "2026-06-01T00:00:00Z") == {"evidence/b.jsonl": 0}
        assert after_as_of("a", "2026-07-01T00:00:00Z") == {"evidence/a.jsonl": 0}
        assert not [sql for sql in asked if "created_at) >" in sql]
