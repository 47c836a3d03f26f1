"""`assay init [DIR]`: a new project in one command, never overwriting."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.cli import main
from assay.load import load_project
from assay.models.config import bundled_path


def _init(target: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["init", str(target)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_init_writes_a_project_on_the_bundled_policies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "new"
    code, out, err = _init(target, capsys)
    assert code == 0, err
    assert out.splitlines() == [
        f"Created an Assay project in {target}:",
        "  assay.yaml",
        "  workflows/example.yaml",
        "  waivers/.gitkeep",
        "  evidence/.gitkeep",
        "  .gitignore",
        "Next:",
        f"  assay evidence new incident --workflow example --project {target}",
        f"  assay evidence import mlflow mlflow.db --workflow example --project {target}",
        f"  assay gate --workflow example --project {target}",
    ]
    config = (target / "assay.yaml").read_text()
    assert "policies: [bundled]" in config
    ignore = (target / ".gitignore").read_text().splitlines()
    assert {".assay/", "keys/", "*.p12", "*-audit-pack.pdf"} <= set(ignore)
    # Every YAML file names a schema that resolves, inside the installed package.
    for rel, schema in (
        ("assay.yaml", "config.schema.json"),
        ("workflows/example.yaml", "workflow.schema.json"),
    ):
        first = (target / rel).read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=")
        where = first.split("=", 1)[1]
        path = Path(where) if where.startswith("/") else (target / rel).parent / where
        assert path.resolve() == bundled_path("schemas", schema).resolve()


def test_the_new_project_loads_once_it_has_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "new"
    assert _init(target, capsys)[0] == 0
    assert main(["evidence", "new", "incident", "-w", "example", "--project", str(target)]) == 0
    project = load_project(target)
    assert list(project.workflows) == ["example"]
    assert project.workflows["example"].risk_class == "high"
    assert {"minimal", "limited", "high", "critical"} <= set(project.classes)
    assert len(project.evidence) == 1


def test_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "new"
    assert _init(target, capsys)[0] == 0
    (target / "assay.yaml").write_text("policies: [mine]\n")
    before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    code, out, err = _init(target, capsys)
    assert code == 2
    assert "already has assay.yaml, workflows/example.yaml: `assay init` never overwrites" in err
    assert {p: p.read_bytes() for p in target.rglob("*") if p.is_file()} == before


def test_init_refuses_a_project_configured_in_pyproject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.assay]\nevidence = ['records']\n")
    code, _, err = _init(tmp_path, capsys)
    assert code == 2
    assert "pyproject.toml [tool.assay]" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]


def test_init_keeps_an_existing_gitignore_and_adds_what_it_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\nkeys/")
    code, out, _ = _init(tmp_path, capsys)
    assert code == 0
    assert "  .gitignore (lines added)" in out
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["node_modules/", "keys/"]
    assert lines.count("keys/") == 1 and ".assay/" in lines


def test_init_in_the_current_folder_prints_commands_without_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    out = capsys.readouterr().out
    assert "  assay gate --workflow example" in out.splitlines()
    assert (tmp_path / "assay.yaml").is_file()


def test_dir_and_project_must_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "a"), "--project", str(tmp_path / "b")]) == 2
    assert "give the project folder once" in capsys.readouterr().err
