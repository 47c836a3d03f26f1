"""A gate of one workflow still fails closed on a problem anywhere in the project, whatever
the caches hold (the parse cache in .assay/, the in-process memo, the evidence store): a
broken file of another workflow, a workflow id defined twice, evidence naming an unknown
workflow or invalid evidence of another workflow all exit 2 with their location, on the
first run and on every run after."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from assay.cli.main import main
from assay.load import project as loader

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "hypercare-waivers"
AS_OF = "2026-06-01T00:00:00Z"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(SCENARIO, target)
    (target / "expected.yaml").unlink()
    workflow = (target / "workflows" / "scoring.yaml").read_text(encoding="utf-8")
    (target / "workflows" / "other.yaml").write_text(
        workflow.replace("id: scoring", "id: other"), encoding="utf-8"
    )
    return target


def _gate(
    root: Path, capsys: pytest.CaptureFixture[str], engine: str, *, fresh: bool
) -> tuple[int, str]:
    if fresh:  # as a new process: only the caches on disk
        loader._POLICIES.clear()
        loader._DOCUMENTS.clear()
    code = main(
        [
            "gate", "--project", str(root), "--workflow", "scoring", "--as-of", AS_OF,
            "--format", "json", "--engine", engine,
        ]
    )  # fmt: skip
    return code, capsys.readouterr().err


def _break_other_workflow(root: Path) -> str:
    path = root / "workflows" / "other.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "ownr: typo\n", encoding="utf-8")
    return "workflows/other.yaml:7:1"


def _duplicate_id(root: Path) -> str:
    path = root / "workflows" / "other.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("id: other", "id: scoring"), encoding="utf-8"
    )
    return "workflow scoring is defined twice"


def _unknown_workflow_evidence(root: Path) -> str:
    source = root / "evidence" / "incidents.jsonl"
    line = source.read_text(encoding="utf-8").splitlines()[0]
    (root / "evidence" / "stray.jsonl").write_text(
        line.replace('"workflow": "scoring"', '"workflow": "nobody"').replace(
            '"workflow":"scoring"', '"workflow":"nobody"'
        )
        + "\n",
        encoding="utf-8",
    )
    return "evidence/stray.jsonl:1"


def _invalid_evidence_of_another_workflow(root: Path) -> str:
    (root / "evidence" / "other.jsonl").write_text(
        '{"kind": "incident", "id": "X-1", "workflow": "other"}\n', encoding="utf-8"
    )
    return "evidence/other.jsonl:1"


@pytest.mark.parametrize("engine", ["rows", "duckdb"])
@pytest.mark.parametrize(
    "damage",
    [
        _break_other_workflow,
        _duplicate_id,
        _unknown_workflow_evidence,
        _invalid_evidence_of_another_workflow,
    ],
)
def test_a_problem_elsewhere_fails_the_one_workflow_gate_every_time(
    root: Path, capsys: pytest.CaptureFixture[str], engine: str, damage: Callable[[Path], str]
) -> None:
    (root / ".assay").mkdir()  # the parse cache is kept from the first run on
    for fresh in (True, True, False):  # caches filled with the clean project
        code, err = _gate(root, capsys, engine, fresh=fresh)
        assert code in (0, 1), err
    assert (root / ".assay" / "parsed-yaml.json").is_file()
    where = damage(root)
    for fresh in (True, False):  # the parse cache on disk, then the in-process memo too
        code, err = _gate(root, capsys, engine, fresh=fresh)
        assert code == 2
        assert where in err
