"""A cache that cannot be built at all (a full disk, a limit of DuckDB's) is an input error
naming `.assay/` and the cause, exit 2: never a pass, never "internal error"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assay.cli.main import main
from assay.evidence.engines import duckdb as engine
from assay.evidence.engines.base import StoreCorrupt

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_a_cache_that_cannot_be_built_stops_the_gate_with_its_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "project"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".assay"))
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
