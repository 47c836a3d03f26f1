"""The same policies, evidence and --as-of give the same report bytes in every process:
string hashing (PYTHONHASHSEED), the order sets and maps are iterated in, and the engine
that ran the checks must not show in any format. In-process tests cannot see this (one
process has one hash seed), so these gates run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from projectkit import copy_project

from assay.formats import Format

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-20T12:00:00Z"
FORMATS = [f.value for f in Format]


def _gate(project: Path, out: Path, seed: str, engine: str) -> dict[str, bytes]:
    out.mkdir(parents=True)
    formats = [arg for f in FORMATS for arg in ("--format", f"{f}={out / f}")]
    env = {**os.environ, "PYTHONHASHSEED": seed}
    env.pop("ASSAY_ENGINE", None)
    run = subprocess.run(
        [sys.executable, "-m", "assay", "gate", "--project", str(project), "--all"]
        + ["--as-of", AS_OF, "--no-cache", "--engine", engine, *formats],
        capture_output=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert run.returncode == 1, run.stderr.decode()  # the examples are non-compliant
    return {f: (out / f).read_bytes() for f in FORMATS}


@pytest.mark.parametrize("project", ["examples", "tests/scenarios/hypercare-waivers"])
def test_report_bytes_do_not_depend_on_the_process_or_the_engine(
    project: str, tmp_path: Path
) -> None:
    root = copy_project(ROOT / project, tmp_path / "project")
    first = _gate(root, tmp_path / "rows-1", "1", "rows")
    assert all(first.values())
    for name, seed, engine in (("rows-2", "2", "rows"), ("duckdb-3", "3", "duckdb")):
        again = _gate(root, tmp_path / name, seed, engine)
        differ = [f for f in FORMATS if again[f] != first[f]]
        assert not differ, (name, differ)
