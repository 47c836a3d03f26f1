"""Syncing the evidence store after a file landed: the read pass's plan is written as it is
when no writer came in between (the files are not looked at twice), and planned again when
one did; either way the store ends up holding exactly the files on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assay.evidence import store
from assay.evidence.cache import CacheDir, CacheLock
from assay.evidence.readers import ReaderLimits
from assay.evidence.store import open_store

LIMITS = ReaderLimits(1 << 20, 1 << 24)


_TEMPLATE = Path(__file__).resolve().parents[1] / "scenarios" / "basic" / "evidence"
_INCIDENT = json.loads((_TEMPLATE / "incidents.jsonl").read_text(encoding="utf-8").splitlines()[0])


def _record(workflow: str, rid: str) -> dict[str, Any]:
    return {**_INCIDENT, "id": rid, "workflow": workflow}


def _write(path: Path, *ids: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(_record("wf", i)) + "\n" for i in ids), encoding="utf-8")


def _sync(root: Path) -> tuple[list[str], list[str], int]:
    files, ids, parsed, _ = _synced(root)
    return files, ids, parsed


def _synced(root: Path) -> tuple[list[str], list[str], int, bool]:
    paths = sorted((root / "evidence").glob("*.jsonl"))
    opened, report = open_store(
        root, paths, {"wf"}, LIMITS, cache=CacheDir.for_project(root), rehash=False
    )
    try:
        assert not report.errors, report.errors
        ids = sorted(r.data.id for batch in opened.batches(["wf"]) for r in batch)
        return [f.path for f in opened.files], ids, len(report.parsed), report.rebuilt
    finally:
        opened.close()


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = store._plan

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "_plan", spy)
    return calls


def test_a_new_file_is_planned_once_when_no_writer_comes_in_between(
    tmp_path: Path, plans: list[int]
) -> None:
    _write(tmp_path / "evidence" / "a.jsonl", "I-1", "I-2")
    _sync(tmp_path)
    plans.clear()
    _write(tmp_path / "evidence" / "b.jsonl", "I-3")
    files, ids, parsed = _sync(tmp_path)
    assert files == ["evidence/a.jsonl", "evidence/b.jsonl"]
    assert ids == ["I-1", "I-2", "I-3"]
    assert parsed == 1
    assert len(plans) == 1  # the read pass only: its plan was written as it was
    plans.clear()
    assert _sync(tmp_path) == (files, ids, 0)  # and it reads back as written
    assert len(plans) == 1


def test_a_writer_in_between_makes_the_plan_again(
    tmp_path: Path, plans: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "evidence" / "a.jsonl", "I-1")
    _sync(tmp_path)
    original = CacheLock.acquire
    state = {"interfered": False}

    def acquire(self: CacheLock, *, exclusive: bool, **kwargs: Any) -> None:
        if exclusive and not state["interfered"]:
            # Another gate gets the lock first and indexes what it sees: only a.jsonl,
            # changed (so its index and blobs differ from what our read pass saw).
            state["interfered"] = True
            monkeypatch.setattr(CacheLock, "acquire", original)
            (tmp_path / "evidence" / "b.jsonl").rename(tmp_path / "b.hidden")
            _write(tmp_path / "evidence" / "a.jsonl", "I-1", "I-9")
            _sync(tmp_path)
            (tmp_path / "b.hidden").rename(tmp_path / "evidence" / "b.jsonl")
            monkeypatch.setattr(CacheLock, "acquire", acquire)
        original(self, exclusive=exclusive, **kwargs)

    monkeypatch.setattr(CacheLock, "acquire", acquire)
    _write(tmp_path / "evidence" / "b.jsonl", "I-3")
    plans.clear()
    files, ids, _, rebuilt = _synced(tmp_path)
    assert state["interfered"]
    assert not rebuilt  # planned again, not saved by the damage check
    assert files == ["evidence/a.jsonl", "evidence/b.jsonl"]
    assert ids == ["I-1", "I-3", "I-9"]  # what is on disk now, not what the read pass saw
    # Ours: the read pass and the plan made again under the exclusive lock; the other
    # gate's own passes in between.
    assert len(plans) >= 3
    monkeypatch.setattr(CacheLock, "acquire", original)
    assert _sync(tmp_path)[:2] == (files, ids)
