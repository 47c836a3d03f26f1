"""A cache that cannot be built at all (a full disk, a limit of DuckDB's) is an input error
naming `.assay/` and the cause, exit 2: never a pass, never "internal error"."""

from __future__ import annotations

from pathlib import Path

import pytest
from projectkit import copy_project

from assay.cli.main import main
from assay.evidence.engines import duckdb as engine
from assay.evidence.engines.base import StoreCorrupt

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_a_cache_that_cannot_be_built_stops_the_gate_with_its_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "project"
    copy_project(EXAMPLES, root)
    attempts: list[int] = []

    def full_disk(self: object, *args: object, **kwargs: object) -> set[str]:
        attempts.append(1)
        raise StoreCorrupt("cannot write the evidence cache: No space left on device")

    monkeypatch.setattr(engine.DuckDBEngine, "write", full_disk)
    code = main(["gate", "--project", str(root), "--all", "--engine", "duckdb"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(attempts) > 1  # rebuilt and tried again before giving up
    assert ".assay/" in err and "No space left on device" in err and "--engine rows" in err
    assert "internal error" not in err


def test_an_ingest_too_large_for_the_buffer_pool_is_run_again_with_a_larger_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found on the 10x fleet: ten million drift runs did not fit the 256 MB pool. Here a
    1 MB first bound stands in for it; the gate's result is the rows engine's."""
    root = tmp_path / "project"
    copy_project(EXAMPLES, root)
    tried: list[str] = []
    real = engine.DuckDBEngine._write

    def spy(self: engine.DuckDBEngine, *args: object, **kwargs: object) -> set[str]:
        tried.append(self._con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.DuckDBEngine, "_write", spy)
    monkeypatch.setattr(engine, "WRITE_MEMORY_LIMITS", ("1MB", "1GB"))
    gate = ["gate", "--project", str(root), "--all", "--as-of", "2026-11-20T12:00:00Z"]
    assert main([*gate, "--engine", "duckdb", "--format", "json"]) == 1
    stored = capsys.readouterr().out
    assert len(tried) == 2 and tried[0] != tried[1]
    assert main([*gate, "--engine", "rows", "--format", "json"]) == 1
    assert capsys.readouterr().out == stored
