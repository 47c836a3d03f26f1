"""A large JSON Lines file is validated and stored a part at a time: the same rows, the
same lines, the same errors as read whole, and never all of its records in memory."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from projectkit import WF, Kit, check, control, copy_project, drift, incident, risk_class, workflow

from assay.errors import InputError, InputErrors, Location
from assay.evaluate import assess
from assay.evidence import store
from assay.evidence.cache import ObjectFiles
from assay.evidence.index import EvidenceIndex, SourceFile
from assay.load import discover
from assay.load.project import load_project
from assay.models.time import parse_instant

ROOT = Path(__file__).resolve().parents[2]
AS_OF = parse_instant("2026-11-20T12:00:00Z")


def _packs(root: Path) -> dict[str, list[bytes]]:
    """The store's pack files' contents, by kind (pack names are unique per ingest)."""
    out: dict[str, list[bytes]] = {}
    for pack in sorted((root / ".assay").rglob("pack/*")):
        suffix = pack.name.split(".", 1)[1]
        out.setdefault(suffix, []).append(pack.read_bytes())
    return {suffix: sorted(contents) for suffix, contents in out.items()}


def test_the_examples_stored_in_small_parts_give_the_same_rows_and_assessments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    copy_project(ROOT / "examples", whole)
    copy_project(ROOT / "examples", parts)
    rows = load_project(whole, engine="rows")
    assert isinstance(rows.evidence, EvidenceIndex)
    expected = [assess(rows, w, AS_OF).model_dump_json() for w in rows.workflows]
    load_project(whole, engine="duckdb").close()

    monkeypatch.setattr(store, "PART_BYTES", 1500)  # every JSON Lines file in many parts
    with load_project(parts, engine="duckdb") as project:
        got = [assess(project, w, AS_OF).model_dump_json() for w in project.workflows]
    assert got == expected
    assert _packs(parts) == _packs(whole)  # byte for byte: rows, numbers, offsets, checksums


def _project(kit: Kit) -> Kit:
    return kit.setup(
        controls=[
            control("C-1", check("present", "drift_log", min=1)),
            control("C-2", check("present", "incident", min=1)),
        ],
        classes=[risk_class("high", 3, ["C-1", "C-2"])],
        workflows=[workflow(WF)],
    )


def _mixed(count: int) -> str:
    """Drift runs and incidents interleaved, with blank lines, a CRLF line ending and no
    newline at the end: line numbers that are not record numbers."""
    lines = []
    for i in range(count):
        item = (
            incident(f"I-{i}", "2026-05-01T00:00:00Z")
            if i % 3 == 0
            else drift(f"d-{i}", f"2026-05-{1 + i % 28:02d}T00:00:00Z")
        )
        lines.append(json.dumps(item))
        if i % 7 == 0:
            lines.append("")
    return "\n".join(lines[:10]) + "\r\n" + "\n".join(lines[10:])


@pytest.mark.parametrize("streamed", [False, True])
def test_a_file_of_two_kinds_in_parts_keeps_every_records_line(
    kit: Kit, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    _project(kit)
    kit.write("evidence/mixed.jsonl", _mixed(120))
    rows = load_project(kit.root, engine="rows")
    assert isinstance(rows.evidence, EvidenceIndex)
    monkeypatch.setattr(store, "PART_BYTES", 700)
    if streamed:  # read from disk a part at a time, never whole
        monkeypatch.setattr(store, "STREAM_BYTES", 1000)
        monkeypatch.setattr(discover, "read_regular", _never_whole("mixed.jsonl"))
    with load_project(kit.root, engine="duckdb") as project:
        for kind in ("drift_log", "incident"):
            stored = project.evidence.records(WF, kind)
            assert [(r.id, r.line) for r in stored] == [
                (r.id, r.line) for r in rows.evidence.records(WF, kind)
            ]
            assert max(r.line or 0 for r in stored) > 100
        assert assess(project, WF, AS_OF) == assess(rows, WF, AS_OF)


_READ_REGULAR = discover.read_regular
_IO_ERROR = "cannot read file: input/output error"


def _never_whole(name: str) -> Callable[[Path, str, int | None], bytes]:
    """The source's whole-file read, failing for evidence file ``name`` (as a disk would):
    a test of a file read in parts fails if that file is read whole."""

    def read(path: Path, display: str, max_bytes: int | None = None) -> bytes:
        if display == f"evidence/{name}":
            raise InputError(_IO_ERROR, location=Location(display))
        return _READ_REGULAR(path, display, max_bytes)

    return read


def _worded(errors: InputErrors) -> list[tuple[Any, ...]]:
    return [
        (e.location.file, e.location.line, e.location.column, e.location.pointer, e.message)
        for e in errors.errors
        if e.location is not None
    ]


@pytest.mark.parametrize("good", ["a-good", "z-good"])  # its pack begun before, or after
@pytest.mark.parametrize("streamed", [False, True])
def test_an_error_in_a_later_part_is_worded_at_its_line_and_nothing_of_the_file_is_stored(
    kit: Kit, monkeypatch: pytest.MonkeyPatch, streamed: bool, good: str
) -> None:
    if streamed:
        monkeypatch.setattr(store, "STREAM_BYTES", 1000)
    _project(kit)
    kit.dump(f"evidence/{good}.jsonl", [drift("good-1", "2026-05-01T00:00:00Z")])
    lines = [json.dumps(drift(f"bad-{i}", "2026-05-02T00:00:00Z")) for i in range(200)]
    lines[150] = json.dumps(drift("bad-150", "2026-05-02T00:00:00Z", value="high"))
    kit.write("evidence/bad.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(InputErrors) as whole:
        load_project(kit.root, engine="rows")
    monkeypatch.setattr(store, "PART_BYTES", 2000)
    for _ in range(3):  # read again every run: nothing piles up
        with pytest.raises(InputErrors) as parts:
            load_project(kit.root, engine="duckdb")
        worded = _worded(parts.value)
        assert worded == _worded(whole.value)
        assert [line for _, line, *_ in worded] == [151]
        packs = sorted((kit.root / ".assay").rglob("pack/*"))
        assert sorted(p.name.split(".", 1)[1] for p in packs) == ["drift_log.jsonl", "idx"]
        (drift_pack,) = (p for p in packs if p.name.endswith(".drift_log.jsonl"))
        (row,) = drift_pack.read_bytes().splitlines()  # the good file's row, and only it
        assert b"good-1" in row


def test_a_time_past_the_calendar_in_a_later_part_refuses_the_project_as_read_whole(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(kit)
    lines = [json.dumps(drift(f"d-{i}", "2026-05-02T00:00:00Z")) for i in range(100)]
    lines[90] = json.dumps(drift("d-90", "9500-05-02T00:00:00Z"))
    kit.write("evidence/late.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(InputErrors) as whole:
        load_project(kit.root, engine="rows")
    monkeypatch.setattr(store, "PART_BYTES", 2000)
    with pytest.raises(InputErrors) as parts:
        load_project(kit.root, engine="duckdb")
    assert [str(e) for e in parts.value.errors] == [str(e) for e in whole.value.errors]
    assert any("9000" in str(e) for e in whole.value.errors)


def test_what_a_blob_records_of_its_file_is_the_same_in_parts(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest record and the only record of a second workflow in the first part: the
    blob still knows them (the store skips queries and owners by them)."""
    kit.setup(
        controls=[control("C-1", check("present", "drift_log", min=1))],
        classes=[risk_class("high", 3, ["C-1"])],
        workflows=[workflow(WF), workflow("wf2")],
    )
    items = [drift("new", "2026-10-01T00:00:00Z", workflow="wf2")]
    items += [drift(f"d-{i}", f"2026-05-{1 + i % 28:02d}T00:00:00Z") for i in range(100)]
    kit.dump("evidence/drift.jsonl", items)

    def infos() -> list[Any]:
        with load_project(kit.root, engine="duckdb") as project:
            engine = project.evidence.store.engine
            return sorted(
                (i.sha256, i.records, i.workflows, i.newest_us)
                for i in engine.blob_infos().values()
            )

    whole = infos()
    shutil.rmtree(kit.root / ".assay")
    monkeypatch.setattr(store, "PART_BYTES", 700)
    assert infos() == whole
    assert [(n, workflows) for _, n, workflows, _ in whole if n] == [(101, ("wf", "wf2"))]


def test_a_file_that_cannot_be_read_to_its_end_is_refused_and_leaves_nothing(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(kit)
    kit.dump("evidence/a-good.jsonl", [drift("good-1", "2026-05-01T00:00:00Z")])
    kit.write("evidence/big.jsonl", _drift_lines(60).decode())
    monkeypatch.setattr(store, "STREAM_BYTES", 1000)
    monkeypatch.setattr(store, "PART_BYTES", 700)
    real = discover.stream_regular
    calls = []

    def stream(path: Path, display: str, max_bytes: int | None = None) -> Iterator[bytes]:
        calls.append(display)
        for n, piece in enumerate(real(path, display, max_bytes)):
            if len(calls) == 2 and n == 0:
                yield piece[:3000]
                raise InputError(_IO_ERROR, location=Location(display))
            yield piece

    monkeypatch.setattr(discover, "stream_regular", stream)
    monkeypatch.setattr(discover, "read_regular", _never_whole("big.jsonl"))
    with pytest.raises(InputErrors) as caught:
        load_project(kit.root, engine="duckdb")
    assert [(e.location and e.location.file, e.message) for e in caught.value.errors] == [
        ("evidence/big.jsonl", _IO_ERROR)
    ]
    (drift_pack,) = (kit.root / ".assay").rglob("pack/*.drift_log.jsonl")
    (row,) = drift_pack.read_bytes().splitlines()  # the good file's row, and only it
    assert b"good-1" in row


def _drift_lines(count: int) -> bytes:
    lines = (json.dumps(drift(f"d-{i}", "2026-05-01T00:00:00Z")) for i in range(count))
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(("part", "bound"), [(256 << 10, 1.0), (1 << 40, None)])
def test_a_large_file_is_never_all_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part: int, bound: float | None
) -> None:
    """Its records take several times its size: in parts, the largest allocation at any
    time is well under the file itself. Read whole (the second case), the same measure is
    several times over it: what the bound would catch."""
    data = _drift_lines(20_000)
    monkeypatch.setattr(store, "PART_BYTES", part)
    objects = ObjectFiles(tmp_path)
    source = SourceFile("evidence/big.jsonl", hashlib.sha256(data).hexdigest())
    tracemalloc.start()
    try:
        encoded = store.encode_json_lines(store._line_parts([data]), source, {WF}, objects)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        objects.close()
    assert encoded is not None
    assert encoded.records == 20_000
    if bound is not None:
        assert peak < bound * len(data)
    else:
        assert peak > 3 * len(data)


def test_a_file_that_changes_between_its_hash_and_its_parts_is_refused(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashed, then read again to be validated: if the bytes differ, the gate cannot say
    which content it assessed. It stops, naming the file, and stores nothing of it."""
    _project(kit)
    kit.write("evidence/big.jsonl", _drift_lines(40).decode())
    monkeypatch.setattr(store, "STREAM_BYTES", 1000)
    monkeypatch.setattr(store, "PART_BYTES", 700)
    real = discover.stream_regular
    calls = []

    def stream(path: Path, display: str, max_bytes: int | None = None) -> Iterator[bytes]:
        calls.append(display)
        if len(calls) == 2:  # a writer appends between the two reads
            with path.open("ab") as out:
                out.write(_drift_lines(1).replace(b"d-0", b"late"))
        return real(path, display, max_bytes)

    monkeypatch.setattr(discover, "stream_regular", stream)
    with pytest.raises(InputErrors) as caught:
        load_project(kit.root, engine="duckdb")
    assert calls == ["evidence/big.jsonl"] * 2
    (error,) = caught.value.errors
    assert error.location is not None and error.location.file == "evidence/big.jsonl"
    assert "changed while it was read" in error.message
    assert b"d-1" not in b"".join(b"".join(c) for c in _packs(kit.root).values())
    # Written by then, it loads next time.
    monkeypatch.setattr(discover, "stream_regular", real)
    with load_project(kit.root, engine="duckdb") as project:
        assert len(project.evidence.records(WF, "drift_log")) == 41


class _SmallPieces:
    """Reads files below ``root``, streamed in pieces of 64 KiB (the disk reader's are
    8 MiB: a test file would fit in one)."""

    def __init__(self, root: Path):
        self._root = root

    def read(self, rel: str, max_bytes: int | None = None) -> bytes:
        return (self._root / rel).read_bytes()

    def stream(self, rel: str, max_bytes: int | None = None) -> Iterator[bytes]:
        with (self._root / rel).open("rb") as file:
            while piece := file.read(64 << 10):
                yield piece


def test_a_streamed_file_is_never_all_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashed a piece at a time, then validated and stored a part at a time: the largest
    allocation at any time is a small share of the file (read whole it is the file)."""
    data = _drift_lines(20_000)
    (tmp_path / "big.jsonl").write_bytes(data)
    monkeypatch.setattr(store, "PART_BYTES", 128 << 10)
    reads = _SmallPieces(tmp_path)
    objects = ObjectFiles(tmp_path / "cache")
    tracemalloc.start()
    try:
        _, sha, size = store._hashed(reads, "big.jsonl", 10**9, True)
        source = SourceFile("big.jsonl", sha)
        encoded = store._encode_stream(reads, "big.jsonl", 10**9, source, {WF}, objects)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        store._hashed(reads, "big.jsonl", 10**9, False)
        _, whole = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        objects.close()
    assert (size, sha) == (len(data), hashlib.sha256(data).hexdigest())
    assert encoded is not None and encoded.records == 20_000
    assert peak < len(data) / 2
    assert whole >= len(data)


@pytest.mark.parametrize("seed", range(20))
def test_parts_of_pieces_are_whole_lines_and_lose_nothing(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(store, "PART_BYTES", rng.choice([1, 5, 40]))
    lines = [b"x" * rng.choice([0, 1, 3, 30, 120]) for _ in range(rng.randrange(0, 40))]
    data = b"\n".join(lines) + rng.choice([b"", b"\n"])
    cuts = sorted(rng.sample(range(1, max(len(data), 2)), min(len(data) // 4, 10)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    parts = list(store._line_parts(p for p in pieces if p))
    assert b"".join(parts) == data
    assert all(part.endswith(b"\n") for part in parts[:-1])
    assert all(len(part) >= store.PART_BYTES for part in parts[:-1])
    # Where a part ends depends on the bytes only, not on how they came.
    assert list(store._line_parts([data])) == parts


def test_a_file_smaller_than_a_part_is_its_own_part_not_a_copy() -> None:
    data = _drift_lines(3)
    (part,) = store._line_parts([data])
    assert part is data


def _document(count: int, bad: int | None = None) -> str:
    """A `.json` document of drift runs and incidents, pretty-printed: records span lines."""
    items = [
        incident(f"I-{i}", "2026-05-01T00:00:00Z")
        if i % 3 == 0
        else drift(f"d-{i}", f"2026-05-{1 + i % 28:02d}T00:00:00Z", value=0.5 if i != bad else "x")
        for i in range(count)
    ]
    return json.dumps(items, indent=2)


def test_a_json_document_in_batches_keeps_every_records_line_and_pointer(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(kit)
    kit.write("evidence/mixed.json", _document(90))
    rows = load_project(kit.root, engine="rows")
    assert isinstance(rows.evidence, EvidenceIndex)
    monkeypatch.setattr(store, "PART_BYTES", 900)
    batches = []
    real = store.validate_json_records

    def validate(chunks: list[Any], *args: Any) -> Any:
        batches.append(len(chunks))
        return real(chunks, *args)

    monkeypatch.setattr(store, "validate_json_records", validate)
    with load_project(kit.root, engine="duckdb") as project:
        assert len(batches) > 10 and sum(batches) == 90
        for kind in ("drift_log", "incident"):
            stored = project.evidence.records(WF, kind)
            assert [(r.id, r.line, r.pointer) for r in stored] == [
                (r.id, r.line, r.pointer) for r in rows.evidence.records(WF, kind)
            ]
        assert max(r.line or 0 for r in stored) > 1000
        assert assess(project, WF, AS_OF) == assess(rows, WF, AS_OF)


def test_an_error_in_a_later_batch_of_a_json_document_is_worded_as_read_whole(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(kit)
    kit.write("evidence/bad.json", _document(90, bad=80))
    with pytest.raises(InputErrors) as whole:
        load_project(kit.root, engine="rows")
    monkeypatch.setattr(store, "PART_BYTES", 900)
    with pytest.raises(InputErrors) as parts:
        load_project(kit.root, engine="duckdb")
    worded = _worded(parts.value)
    assert worded == _worded(whole.value)
    assert [pointer for *_, pointer, _ in worded] == ["/80/value"]
    assert b"d-1" not in b"".join(b"".join(c) for c in _packs(kit.root).values())
