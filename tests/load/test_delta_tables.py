"""A Delta table in an evidence folder is refused as one error, none of its files read: its
transaction log, not the folder's listing, says which Parquet files hold its rows, and a
file the log removed still lies in the folder. Read file by file, it would bring deleted
records back (or fail on the log's own JSON with an error that says nothing of Delta)."""

from __future__ import annotations

from pathlib import Path

import pytest
from projectkit import copy_project

from assay.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
GATE = ["gate", "--all", "--as-of", "2026-11-20T12:00:00Z", "--format", "json"]
REFUSED = "error[FORMAT]: a Delta table, which Assay does not read"


def _delta_table(folder: Path) -> None:
    log = folder / "_delta_log"
    log.mkdir(parents=True)
    (log / "00000000000000000000.json").write_text(
        '{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}\n'
        '{"add":{"path":"part-0.parquet","size":1,"dataChange":true}}\n',
        encoding="utf-8",
    )
    (log / "00000000000000000000.crc").write_text("{}", encoding="utf-8")
    (folder / "part-0.parquet").write_bytes(b"PAR1 not read PAR1")  # removed or not


@pytest.mark.parametrize("where", ["evidence/claims-triage/drift", "evidence"])
def test_a_delta_table_is_one_error_naming_its_log(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_project(ROOT / "examples", tmp_path / "examples")
    _delta_table(root / where)
    code = main([*GATE, "--project", str(root)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [f"{where}/_delta_log: {REFUSED}" + err[0].split(REFUSED, 1)[1]], err
