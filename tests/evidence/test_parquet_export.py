"""`assay evidence export --format parquet`: what the lake gets, read back with DuckDB, and
a gate over the exported tables gives the verdicts of the gate over the files."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from projectkit import copy_project

from assay.cli.main import main
from assay.load.project import load_project

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-20T12:00:00Z"


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export") / "examples"
    copy_project(ROOT / "examples", root)
    return root


@pytest.fixture(scope="module")
def lake(examples: Path) -> Path:
    out = examples.parent / "lake"
    assert main(["evidence", "export", "--project", str(examples), str(out)]) == 0
    return out


def _store_counts(root: Path) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    with load_project(root, engine="duckdb") as project:
        evidence = project.evidence
        for kind in evidence._kinds():  # type: ignore[attr-defined]
            for workflow, n in evidence.engine.query(  # type: ignore[attr-defined]
                f"SELECT r.workflow, count(*) FROM ev_{kind} r JOIN files f ON f.blob = r.blob "
                "GROUP BY r.workflow"
            ):
                counts[(kind, workflow)] = int(n)
    return counts


def test_rows_per_kind_and_workflow_are_the_stores(examples: Path, lake: Path) -> None:
    con = duckdb.connect()
    rows = con.execute(
        "SELECT kind, workflow, count(*) FROM read_parquet(?, hive_partitioning = true) "
        "GROUP BY kind, workflow",
        [str(lake / "*" / "*" / "*.parquet")],
    ).fetchall()
    assert {(k, w): n for k, w, n in rows} == _store_counts(examples)
    assert sum(n for *_, n in rows) > 1000


def test_the_layout_is_hive_style_by_kind_and_workflow(lake: Path) -> None:
    parts = sorted(p.relative_to(lake).as_posix() for p in lake.rglob("*") if p.is_file())
    assert parts
    for part in parts:
        kind, workflow, name = part.split("/")
        assert kind.startswith("kind=") and workflow.startswith("workflow=")
        assert name == "part-0.parquet"
    assert "kind=drift_log/workflow=claims-triage/part-0.parquet" in parts


def test_each_row_keeps_its_provenance_and_its_record(examples: Path, lake: Path) -> None:
    part = lake / "kind=drift_log" / "workflow=claims-triage" / "part-0.parquet"
    con = duckdb.connect()
    columns = [
        row[0]
        for row in con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = false)", [str(part)]
        ).fetchall()
    ]
    assert columns[:3] == ["file", "line", "pointer"]
    assert "record" in columns and "workflow" not in columns  # the partition holds it
    file, line, record = con.execute(
        "SELECT file, line, record FROM read_parquet(?) LIMIT 1", [str(part)]
    ).fetchone()  # type: ignore[misc]
    # The first row is the first record of the first file, its line as in the file.
    source = (examples / file).read_text(encoding="utf-8").splitlines()[line - 1]
    assert json.loads(source)["id"] == json.loads(record)["id"]
    assert json.loads(record)["kind"] == "drift_log"


def test_the_same_evidence_gives_the_same_bytes(examples: Path, lake: Path) -> None:
    again = examples.parent / "lake-again"
    assert main(["evidence", "export", "--project", str(examples), str(again)]) == 0

    def digests(folder: Path) -> dict[str, str]:
        return {
            p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*.parquet")
        }

    assert digests(again) == digests(lake)


def test_a_folder_with_files_is_replaced_only_with_force(
    examples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["evidence", "export", "--project", str(examples), str(out)]) == 2
    assert "is not empty (use --force to replace it)" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
    assert main(["evidence", "export", "--project", str(examples), str(out), "--force"]) == 0
    assert not (out / "keep.txt").exists()
    assert (out / "kind=drift_log").is_dir()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_invalid_evidence_is_not_exported(
    examples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "bad"
    copy_project(examples, root)
    (root / "evidence" / "broken.jsonl").write_text('{"kind": "drift_log"}\n')
    out = tmp_path / "out"
    assert main(["evidence", "export", "--project", str(root), str(out)]) == 2
    assert "broken.jsonl:1" in capsys.readouterr().err
    assert not out.exists()


def _verdicts(data: str) -> dict[tuple[str, str], str]:
    return {
        (a["workflow"]["id"], c["id"]): c["status"]
        for a in json.loads(data)["assessments"]
        for c in a["controls"]
    }


@pytest.mark.parametrize("engine", ["rows", "duckdb"])
def test_a_gate_over_the_exported_tables_gives_the_same_verdicts(
    examples: Path, lake: Path, tmp_path: Path, engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "from-lake"
    shutil.copytree(examples, root, ignore=shutil.ignore_patterns(".assay", "evidence"))
    shutil.copytree(lake, root / "lake")
    config = (examples / "assay.yaml").read_text()
    (root / "assay.yaml").write_text(config.replace("evidence: [evidence]", "evidence: [lake]"))
    gate = ["gate", "--all", "--as-of", AS_OF, "--format", "json", "--engine", engine]
    capsys.readouterr()
    code = main([*gate, "--project", str(examples)])
    expected = _verdicts(capsys.readouterr().out)
    assert main([*gate, "--project", str(root)]) == code
    got = _verdicts(capsys.readouterr().out)
    assert got == expected
    assert len(got) > 20
