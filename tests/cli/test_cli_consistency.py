"""The commands are spelled alike: `--project` wherever a project is read, commands about
the policies need no workflows, and workflow and control ids complete in the shell."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import pytest
from click.shell_completion import ShellComplete

from assay.cli.main import cli, main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCENARIO = ROOT / "tests" / "scenarios" / "format-escaping"
GOLDEN = ROOT / "tests" / "formats" / "golden"

READ_NO_PROJECT = {
    "verify": "reads a pack or an attestation, which carries its inputs",
    "diff": "compares two assessment files",
    "keys init": "writes a key pair",
}


def _commands(command: click.Command = cli, path: tuple[str, ...] = ()) -> dict[str, click.Command]:
    if isinstance(command, click.Group):
        found: dict[str, click.Command] = {}
        for name, sub in command.commands.items():
            found.update(_commands(sub, (*path, name)))
        return found
    return {" ".join(path): command}


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_that_reads_a_project_takes_project(name: str) -> None:
    command = _commands()[name]
    options = {p.name: p for p in command.params if isinstance(p, click.Option)}
    if name in READ_NO_PROJECT:
        assert "project_dir" not in options
        return
    project = options.get("project_dir")
    assert project is not None, f"{name}: no --project"
    assert project.opts == ["--project"]
    if name != "init":  # init creates the project: --project or DIR, the working folder by default
        assert project.default == "."
    # the project is never a positional argument (POLICIES of `policy test` is a folder of
    # policies, kept from before --project)
    assert not [p for p in command.params if isinstance(p, click.Argument) and "project" in p.name]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_policy_test_reads_the_projects_policies(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(SCENARIO)  # reports name case files relative to the working folder
    code, expected, err = _run(capsys, "policy", "test", "--tests", "policy-tests")
    assert (code, err) == (1, "")  # two cases fail on purpose
    assert "PASS policy-tests/" in expected and ", 2 failed" in expected
    assert (
        _run(capsys, "policy", "test", "--project", ".", "--tests", "policy-tests")[1] == expected
    )
    assert (
        _run(capsys, "policy", "test", "--policies", "policies", "--tests", "policy-tests")[1]
        == expected
    )
    # the older positional form still works, but not together with --policies
    assert _run(capsys, "policy", "test", "policies", "--tests", "policy-tests")[1] == expected
    code, out, err = _run(capsys, "policy", "test", "policies", "--policies", "policies")
    assert (code, out) == (2, "") and "give the policies folder once" in err


def test_policy_test_of_a_project_on_the_bundled_policies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # examples/assay.yaml says `policies: [bundled]`: the shipped cases run
    code, out, err = _run(capsys, "policy", "test", "--project", str(EXAMPLES))
    assert (code, err) == (0, "")
    assert "bundled/policies/tests/" in out and ", 0 failed" in out


def test_policy_test_with_several_policies_folders_asks_which(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "assay.yaml").write_text("policies: [a, b]\n", encoding="utf-8")
    code, out, err = _run(capsys, "policy", "test", "--project", str(tmp_path))
    assert (code, out) == (2, "")
    assert "policies entries (a, b)" in err and "--policies" in err


@pytest.fixture
def policies_only(tmp_path: Path) -> Path:
    """A project of policies alone: the examples' assay.yaml (policies: [bundled]; it
    names workflows, waivers and evidence folders), but none of those folders."""
    shutil.copy(EXAMPLES / "assay.yaml", tmp_path / "assay.yaml")
    return tmp_path


def test_lint_needs_no_workflows(policies_only: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = (GOLDEN / "lint.txt").read_text(encoding="utf-8")
    assert _run(capsys, "policy", "lint", "--project", str(policies_only)) == (0, expected, "")


def test_lint_still_checks_waivers_when_there_are_workflows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "p", ignore=shutil.ignore_patterns("evidence"))
    (tmp_path / "p" / "evidence").mkdir()
    waiver = tmp_path / "p" / "waivers" / "support-assistant.yaml"
    text = waiver.read_text(encoding="utf-8")
    assert "  requested_by: ahmed.khan\n  approved_by: lena.vogel\n" in text
    waiver.write_text(text.replace("approved_by: lena.vogel", "approved_by: ahmed.khan", 1))
    code, out, _ = _run(capsys, "policy", "lint", "--project", str(tmp_path / "p"))
    assert code == 2 and "error[WAIVER]" in out


@pytest.mark.parametrize("fmt", ["oscal", "markdown"])
def test_catalog_export_needs_no_workflows(
    fmt: str, policies_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, expected, _ = _run(
        capsys, "catalog", "export", "--project", str(EXAMPLES), "--format", fmt
    )
    assert code == 0 and expected
    assert _run(capsys, "catalog", "export", "--project", str(policies_only), "--format", fmt) == (
        0,
        expected,
        "",
    )


def test_commands_that_assess_still_need_workflows(
    policies_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "gate", "--project", str(policies_only), "--all")
    assert code == 2 and "workflows folder does not exist" in err


def _complete(args: list[str], incomplete: str) -> list[str]:
    completer = ShellComplete(cli, {}, "assay", "_ASSAY_COMPLETE")
    return [item.value for item in completer.get_completions(args, incomplete)]


def test_workflow_and_control_ids_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    project = ["--project", str(EXAMPLES)]
    workflows = ["claims-triage", "credit-limit", "support-assistant"]
    assert _complete(["gate", *project, "--workflow"], "") == workflows
    assert _complete(["gate", *project, "-w"], "c") == workflows[:2]
    assert _complete(["graph", *project, "-w"], "sup") == ["support-assistant"]
    assert _complete(["pack", *project, "--workflow"], "cr") == ["credit-limit"]
    assert _complete(["explain", *project, "-w"], "claims") == ["claims-triage"]
    controls = _complete(["explain", *project], "PROD-")
    assert len(controls) == 20 and "PROD-CANARY-01" in controls
    assert _complete(["explain", *project], "PROD-CAN") == ["PROD-CANARY-01"]
    # without --project: the working folder
    monkeypatch.chdir(EXAMPLES)
    assert _complete(["gate", "-w"], "") == workflows


def test_completion_of_a_broken_project_is_empty_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "assay.yaml").write_text("policies: [\n", encoding="utf-8")
    assert _complete(["gate", "--project", str(tmp_path), "-w"], "") == []
    assert _complete(["explain", "--project", str(tmp_path / "missing")], "") == []
