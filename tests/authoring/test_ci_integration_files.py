"""action.yml and .pre-commit-hooks.yaml: valid YAML that runs real `assay` commands."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from authoring_kit import BASIC, ROOT
from projectkit import copy_project

from assay.cli import cli
from assay.formats import Format

ACTION = ROOT / "action.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
_FORMAT_VALUES = {f.value for f in Format}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _resolve(tokens: list[str]) -> tuple[click.Command, list[str]]:
    """The click command a `assay ...` token list names, and the options it uses."""
    assert tokens[0] == "assay", tokens
    command: click.Command = cli
    rest = tokens[1:]
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        sub = command.commands.get(name)
        assert sub is not None, f"`assay ... {name}`: no such command in assay.cli"
        command = sub
    assert not isinstance(command, click.Group), f"{tokens}: names a group, not a command"
    options = [t.split("=", 1)[0] for t in rest if t.startswith("-")]
    return command, options


def _option_names(command: click.Command) -> set[str]:
    return {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}


def _assay_lines(script: str) -> list[list[str]]:
    return [
        shlex.split(line.strip())
        for line in script.splitlines()
        if line.strip().startswith("assay ")
    ]


# --------------------------------------------------------------------------- the Action


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    data: dict[str, Any] = _load(ACTION)
    return data


def _gate_step(action: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in action["runs"]["steps"] if s.get("id") == "gate")


def test_action_shape(action: dict[str, Any]) -> None:
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert {"project", "workflow", "as-of", "python-version", "upload-sarif"} <= set(inputs)
    steps = action["runs"]["steps"]
    for step in steps:
        assert ("uses" in step) != ("run" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", step["name"]  # required in composite actions
    used = [s["uses"] for s in steps if "uses" in s]
    assert any(u.startswith("actions/setup-python@") for u in used)
    upload = next(s for s in steps if s.get("uses") == "github/codeql-action/upload-sarif@v3")
    assert "always()" in upload["if"] and "inputs.upload-sarif" in upload["if"]
    assert upload["with"]["sarif_file"] == "assay.sarif"
    install = next(s for s in steps if s.get("name") == "Install Assay")
    assert "pip install" in install["run"] and '"$GITHUB_ACTION_PATH"' in install["run"]
    assert "$GITHUB_STEP_SUMMARY" in _gate_step(action)["run"]
    last = steps[-1]
    assert "steps.gate.outputs.exit-code" in last["env"]["ASSAY_EXIT"]
    assert last["run"].startswith("exit ")


def test_action_refers_only_to_declared_inputs(action: dict[str, Any]) -> None:
    text = ACTION.read_text(encoding="utf-8")
    used = set(re.findall(r"inputs\.([a-z0-9-]+)", text))
    assert used and used <= set(action["inputs"]), used - set(action["inputs"])
    # inputs never pasted into a script (injection): only into env, with, if
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]


def test_action_commands_exist(action: dict[str, Any]) -> None:
    script = _gate_step(action)["run"]
    lines = _assay_lines(script)
    assert len(lines) == 1
    command, options = _resolve(lines[0])
    assert command.name == "gate"
    # options given directly and the ones the script adds through its arrays
    everything = set(options) | set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", script))
    assert {"--format", "--project", "--all", "--workflow", "--as-of", "--release"} <= everything
    assert everything <= _option_names(command), everything - _option_names(command)
    formats = [t.split("=", 1)[1] for t in lines[0] if t.startswith("--format=")]
    formats += [lines[0][i + 1] for i, t in enumerate(lines[0]) if t == "--format"]
    assert {f.split("=", 1)[0] for f in formats} == {"github", "sarif", "markdown"}
    assert {f.split("=", 1)[0] for f in formats} <= _FORMAT_VALUES


def test_action_gate_step_runs(action: dict[str, Any], tmp_path: Path) -> None:
    """Run the gate step's script as the runner would, against a scenario project."""
    out, summary = tmp_path / "github_output", tmp_path / "step_summary"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summary),
        "ASSAY_PROJECT": str(copy_project(BASIC, tmp_path / "basic")),
        "ASSAY_WORKFLOW": "fraud",
        "ASSAY_AS_OF": "2026-09-20T00:00:00Z",
        "ASSAY_RELEASE": "1.2.3",
    }
    run = subprocess.run(
        ["bash", "-c", _gate_step(action)["run"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert out.read_text(encoding="utf-8") == "exit-code=1\n"  # non-compliant, passed on
    assert "::error" in run.stdout  # GitHub annotations on the log
    assert "TEST-REVIEW-01" in summary.read_text(encoding="utf-8")
    sarif = json.loads((tmp_path / "assay.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    # the final step fails closed when the gate never ran
    final = action["runs"]["steps"][-1]["run"]
    no_gate = {k: v for k, v in env.items() if k != "ASSAY_EXIT"}
    assert subprocess.run(["bash", "-c", final], env=no_gate, check=False).returncode == 2
    one = subprocess.run(["bash", "-c", final], env={**no_gate, "ASSAY_EXIT": "1"}, check=False)
    assert one.returncode == 1


# --------------------------------------------------------------------------- pre-commit


@pytest.fixture(scope="module")
def hooks() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = _load(HOOKS)
    return data


def test_hooks_shape(hooks: list[dict[str, Any]]) -> None:
    assert [h["id"] for h in hooks] == ["assay-policy-lint", "assay-evidence-validate"]
    for hook in hooks:
        assert {"id", "name", "entry", "language", "files"} <= set(hook)
        assert hook["pass_filenames"] is False
        assert hook["language"] == "python"


def test_hook_entries_are_real_commands(hooks: list[dict[str, Any]]) -> None:
    expected = {"assay-policy-lint": "lint", "assay-evidence-validate": "validate"}
    for hook in hooks:
        command, options = _resolve(shlex.split(hook["entry"]))
        assert command.name == expected[hook["id"]]
        assert set(options) <= _option_names(command)
        assert "--project" in _option_names(command)  # what the docs tell users to pass


@pytest.mark.parametrize(
    ("hook", "path", "runs"),
    [
        ("assay-policy-lint", "policies/catalog.yaml", True),
        ("assay-policy-lint", "compliance/policies/classes/high.yml", True),
        ("assay-policy-lint", "waivers/2026.yaml", True),
        ("assay-policy-lint", "workflows/fraud.yaml", True),
        ("assay-policy-lint", "assay.yaml", True),
        ("assay-policy-lint", "src/app/policies.py", False),
        ("assay-policy-lint", "evidence/deploys.yaml", False),
        ("assay-evidence-validate", "evidence/deploys.jsonl", True),
        ("assay-evidence-validate", "ml/evidence/pm/2026-05-01.md", True),
        ("assay-evidence-validate", "evidence/notes.txt", False),
        ("assay-evidence-validate", "policies/catalog.yaml", False),
    ],
)
def test_hook_file_patterns(hooks: list[dict[str, Any]], hook: str, path: str, runs: bool) -> None:
    pattern = next(h["files"] for h in hooks if h["id"] == hook)
    assert bool(re.search(pattern, path)) is runs  # pre-commit uses re.search


def test_hook_entries_succeed_on_a_valid_project(hooks: list[dict[str, Any]]) -> None:
    from assay.cli import main

    for hook in hooks:
        assert main([*shlex.split(hook["entry"])[1:], "--project", str(BASIC)]) == 0
