"""The records a query's findings name, rebuilt from the store: the same as the loader's,
kept for the next check of the batch, and never kept across a recovered store."""

from __future__ import annotations

from typing import Any

import pytest
from projectkit import WF, Kit, drift

from assay.evidence.cache import CacheDir
from assay.evidence.engines.base import table_name
from assay.evidence.readers import ReaderLimits
from assay.evidence.store import StoredEvidence, open_store

LIMITS = ReaderLimits(max_yaml_bytes=8 << 20, max_evidence_bytes=256 << 20)


def _stored(kit: Kit) -> StoredEvidence:
    kit.setup(controls=[], classes=[])
    kit.dump(
        "evidence/drift.jsonl",
        [drift(f"d{i}", f"2026-05-{1 + i % 28:02d}T0{i % 10}:00:00+02:00") for i in range(12)],
    )
    (kit.root / "evidence/records.jsonl").unlink()
    paths = sorted(p for p in (kit.root / "evidence").rglob("*") if p.is_file())
    store, report = open_store(kit.root, paths, {WF}, LIMITS, cache=CacheDir.for_project(kit.root))
    return StoredEvidence(store, report)


def _rows(evidence: StoredEvidence) -> list[tuple[int, str, int, str]]:
    found = evidence.engine.query(
        f"SELECT r.blob, r.ord, f.path FROM {table_name('drift_log')} r "
        "JOIN files f ON f.blob = r.blob ORDER BY r.ord"
    )
    return [(blob, "drift_log", order, path) for blob, order, path in found]


def _seen(records: dict[Any, Any]) -> list[tuple[Any, ...]]:
    return [
        (key, r.data, r.line, r.pointer, r.source.path, r.source.sha256)
        for key, r in sorted(records.items())
    ]


def _loaders(evidence: StoredEvidence) -> list[tuple[Any, ...]]:
    """The records as the loader makes them (read whole from the store), by row."""
    (batch,) = evidence.store.batches()
    blob = evidence.store.files[0].blob
    return [
        ((blob, "drift_log", order), r.data, r.line, r.pointer, r.source.path, r.source.sha256)
        for order, r in enumerate(batch)
    ]


def test_rebuilt_records_are_the_loaders_and_kept_for_the_next_check(kit: Kit) -> None:
    evidence = _stored(kit)
    with evidence.store:
        rows = _rows(evidence)
        first = evidence.rebuild(rows[:5])
        again = evidence.rebuild(rows)
        assert _seen(again) == _loaders(evidence)
        # A row rebuilt before is the same record (its evidence pointer made once).
        assert all(again[key] is record for key, record in first.items())


def test_beyond_the_bound_records_are_rebuilt_again_and_still_right(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    evidence = _stored(kit)
    monkeypatch.setattr(StoredEvidence, "REBUILT", 4)
    with evidence.store:
        rows = _rows(evidence)
        first = evidence.rebuild(rows[:3])
        many = evidence.rebuild(rows)  # more than are kept: all rebuilt
        assert _seen(many) == _loaders(evidence)
        assert not any(many[key] is record for key, record in first.items())
        assert len(evidence._rebuilt) <= len(rows)


def test_nothing_kept_is_handed_out_once_the_store_recovered(kit: Kit) -> None:
    evidence = _stored(kit)
    with evidence.store:
        rows = _rows(evidence)
        before = evidence.rebuild(rows[:4])
        # An object damaged under the open store: the next read recovers (a new database,
        # whose blob numbers need not be the old ones).
        (obj,) = (CacheDir.for_project(kit.root).database.parent / "objects").glob(
            "*/*.drift_log.jsonl"
        )
        obj.write_bytes(obj.read_bytes().replace(b'"value":', b'"value" :', 1))
        after = evidence.rebuild(_rows(evidence)[:6])
        assert evidence.store.recovered
        assert not any(after.get(key) is record for key, record in before.items())
        assert _seen(after) == _loaders(evidence)[:6]
