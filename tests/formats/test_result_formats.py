"""The formatter families of the authoring commands (lint, diff, waivers, policy tests,
explain, graph) have the gate formats' shape: a StrEnum feeding the CLI's ``--format``
choice, a registry handling every choice, and golden files of real engine output.

Each golden is produced twice, by the library (result model -> formatter) and by the CLI
(``main(argv)``), and both must equal the file: the CLI is a thin shell that picks the
formatter from the registry. The projects are real: examples/ and the format-escaping
scenario (titles and reasons with ``<``, ``|``, ``%`` and line breaks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import click
import pytest

from assay.authoring.diff import diff_assessments
from assay.authoring.explain import explain_control
from assay.authoring.lint import lint_project
from assay.authoring.policytest import run_policy_tests
from assay.authoring.waivers import waiver_report
from assay.cli.main import GRAPH_RENDERERS, cli, main
from assay.cli.paths import repository_prefix
from assay.errors import UsageError
from assay.evaluate import assess
from assay.formats import Format
from assay.formats.base import choose
from assay.formats.diff import DIFF_FORMATTERS, DiffFormat
from assay.formats.explain import EXPLAIN_FORMATTERS, ExplainFormat
from assay.formats.graph import GRAPH_FORMATTERS, GraphFormat
from assay.formats.json import format_json
from assay.formats.lint import LINT_FORMATTERS, LintFormat, lint_sarif
from assay.formats.policytest import POLICYTEST_FORMATTERS, PolicyTestFormat
from assay.formats.waivers import WAIVERS_FORMATTERS, WaiversFormat
from assay.graph import control_graph, graph_view
from assay.load.project import load_project
from assay.models.assessment import Assessment
from assay.models.time import parse_instant

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCENARIO = ROOT / "tests" / "scenarios" / "format-escaping"
EXAMPLES_AS_OF = "2026-11-20T12:00:00Z"
SCENARIO_AS_OF = "2026-11-20T12:00:00Z"
BEFORE = "2026-11-11T12:00:00Z"  # the diff's baseline: canaries fine, no drift run yet
Golden = Callable[[str, str], None]


@dataclass(frozen=True)
class Family:
    """A formatter family: its enum, its registry and the CLI command it feeds."""

    formats: type[StrEnum]
    registry: Mapping[Any, Callable[..., str]]
    command: tuple[str, ...]


FAMILIES = {
    "lint": Family(LintFormat, LINT_FORMATTERS, ("policy", "lint")),
    "diff": Family(DiffFormat, DIFF_FORMATTERS, ("diff",)),
    "waivers": Family(WaiversFormat, WAIVERS_FORMATTERS, ("waivers",)),
    "policytest": Family(PolicyTestFormat, POLICYTEST_FORMATTERS, ("policy", "test")),
    "explain": Family(ExplainFormat, EXPLAIN_FORMATTERS, ("explain",)),
    "graph": Family(GraphFormat, GRAPH_RENDERERS, ("graph",)),
}
EXTENSIONS: dict[StrEnum, str] = {
    LintFormat.TEXT: "txt",
    LintFormat.SARIF: "sarif",
    DiffFormat.TEXT: "txt",
    DiffFormat.MARKDOWN: "md",
    WaiversFormat.TEXT: "txt",
    WaiversFormat.JSON: "json",
    PolicyTestFormat.TEXT: "txt",
    PolicyTestFormat.JUNIT: "xml",
    ExplainFormat.TEXT: "txt",
    ExplainFormat.JSON: "json",
    GraphFormat.TREE: "tree.txt",
    GraphFormat.DOT: "dot",
}


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def _format_option(command: click.Command) -> click.Option:
    (option,) = [p for p in command.params if isinstance(p, click.Option) and p.name == "fmt"]
    return option


# --- the shape ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_choice_has_a_formatter(name: str) -> None:
    family = FAMILIES[name]
    assert set(family.registry) == set(family.formats)
    for fmt in family.formats:
        assert callable(family.registry[fmt])


def test_graph_text_formatters_are_pure_and_svg_comes_from_the_pack() -> None:
    # formats/ reads only the models, so the pack's SVG is registered beside them by the CLI.
    assert set(GRAPH_FORMATTERS) == set(GraphFormat) - {GraphFormat.SVG}
    assert all(GRAPH_RENDERERS[f] is GRAPH_FORMATTERS[f] for f in GRAPH_FORMATTERS)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_the_cli_choices_are_the_enum(name: str) -> None:
    family = FAMILIES[name]
    option = _format_option(_command(family.command))
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == [f.value for f in family.formats]
    assert option.default == next(iter(family.formats)).value


def _every_command(
    command: click.Command = cli, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    if isinstance(command, click.Group):
        return [
            found
            for name, sub in sorted(command.commands.items())
            for found in _every_command(sub, (*path, name))
        ]
    return [(path, command)]


COMMANDS = _every_command()


def test_the_walk_finds_every_command() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"gate", "explain", "graph", "policy lint", "policy test", "catalog export"} <= names
    assert {"pack", "verify", "keys init", "diff", "waivers", "evidence validate"} <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_option_says_what_it_does(path: tuple[str, ...], command: click.Command) -> None:
    options = [p for p in command.params if isinstance(p, click.Option)]
    assert [o.name for o in options if not (o.help or "").strip()] == []
    assert (command.help or "").strip(), f"{' '.join(path)} has no help"


def test_an_unknown_name_is_a_usage_error_naming_the_choices() -> None:
    assert choose(DiffFormat, "markdown", "diff") is DiffFormat.MARKDOWN
    with pytest.raises(UsageError) as info:
        choose(DiffFormat, "html", "diff")
    assert info.value.exit_code == 2
    assert info.value.message == "unknown diff format 'html'; expected one of: text, markdown"
    with pytest.raises(UsageError, match="unknown output format 'xml'"):
        choose(Format, "xml", "output")


def test_an_unknown_format_on_the_command_line_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--project", str(SCENARIO), "--format", "png"]) == 2
    assert "'png' is not one of 'tree', 'dot', 'svg'" in capsys.readouterr().err


# --- golden files: library and CLI ----------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> str:
    capsys.readouterr()
    assert main([str(a) for a in argv]) == code
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


@pytest.mark.parametrize("fmt", list(LintFormat))
def test_lint_golden(fmt: LintFormat, capsys: pytest.CaptureFixture[str], golden: Golden) -> None:
    findings = lint_project(EXAMPLES)
    out = LINT_FORMATTERS[fmt](findings)
    golden(f"lint.{EXTENSIONS[fmt]}", out)
    if fmt is LintFormat.SARIF:
        # the CLI names files relative to the repository the project sits in
        prefix = repository_prefix(EXAMPLES)
        assert prefix == "examples"
        out = lint_sarif(findings, path_prefix=prefix)
        assert '"uri": "examples/bundled/catalog.yaml"' in out
    assert _cli(capsys, "policy", "lint", "--project", str(EXAMPLES), "--format", fmt) == out


@pytest.mark.parametrize("fmt", list(DiffFormat))
def test_diff_golden(
    fmt: DiffFormat,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    golden: Golden,
    noncompliant: Assessment,
    compliant: Assessment,
) -> None:
    project = load_project(SCENARIO)
    old = [assess(project, "fraud-scoring", parse_instant(BEFORE), "2.3.0")]
    new = [noncompliant, compliant]
    out = DIFF_FORMATTERS[fmt](diff_assessments(old, new))
    golden(f"diff.{EXTENSIONS[fmt]}", out)
    (tmp_path / "old.json").write_text(format_json(old), encoding="utf-8")
    (tmp_path / "new.json").write_text(format_json(new), encoding="utf-8")
    args = [str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--format", fmt]
    assert _cli(capsys, "diff", *args) == out


@pytest.mark.parametrize("fmt", list(WaiversFormat))
def test_waivers_golden(
    fmt: WaiversFormat, capsys: pytest.CaptureFixture[str], golden: Golden
) -> None:
    out = WAIVERS_FORMATTERS[fmt](
        waiver_report(load_project(SCENARIO), parse_instant(SCENARIO_AS_OF))
    )
    golden(f"waivers.{EXTENSIONS[fmt]}", out)
    args = ["--project", str(SCENARIO), "--as-of", SCENARIO_AS_OF, "--format", fmt]
    assert _cli(capsys, "waivers", *args) == out


@pytest.mark.parametrize("fmt", list(PolicyTestFormat))
def test_policytest_golden(
    fmt: PolicyTestFormat,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    golden: Golden,
) -> None:
    monkeypatch.chdir(SCENARIO)  # reports name case files relative to the working folder
    suite = run_policy_tests("policies", "policy-tests")
    assert (suite.passed, suite.failed) == (2, 2)  # two cases fail on purpose
    out = POLICYTEST_FORMATTERS[fmt](suite)
    golden(f"policytest.{EXTENSIONS[fmt]}", out)
    args = ["policies", "--tests", "policy-tests", "--format", fmt]
    assert _cli(capsys, "policy", "test", *args, code=1) == out


@pytest.mark.parametrize("fmt", list(ExplainFormat))
def test_explain_golden(
    fmt: ExplainFormat, capsys: pytest.CaptureFixture[str], golden: Golden
) -> None:
    project = load_project(EXAMPLES)
    assessment = assess(project, "claims-triage", parse_instant(EXAMPLES_AS_OF))
    out = EXPLAIN_FORMATTERS[fmt](explain_control(project, "PROD-CANARY-01", assessment))
    golden(f"explain.{EXTENSIONS[fmt]}", out)
    args = ["--project", str(EXAMPLES), "--as-of", EXAMPLES_AS_OF, "-w", "claims-triage"]
    assert _cli(capsys, "explain", "PROD-CANARY-01", *args, "--format", fmt) == out


@pytest.mark.parametrize("fmt", list(ExplainFormat))
def test_explain_catalog_golden(
    fmt: ExplainFormat, capsys: pytest.CaptureFixture[str], golden: Golden
) -> None:
    # Without a workflow: each parameter's value at every class that requires the control.
    out = EXPLAIN_FORMATTERS[fmt](explain_control(load_project(EXAMPLES), "PROD-CANARY-01"))
    golden(f"explain-catalog.{EXTENSIONS[fmt]}", out)
    args = ["--project", str(EXAMPLES), "--format", fmt]
    assert _cli(capsys, "explain", "PROD-CANARY-01", *args) == out


@pytest.mark.parametrize("fmt", [GraphFormat.TREE, GraphFormat.DOT])
def test_graph_golden(fmt: GraphFormat, capsys: pytest.CaptureFixture[str], golden: Golden) -> None:
    project = load_project(EXAMPLES)
    assessment = assess(project, "claims-triage", parse_instant(EXAMPLES_AS_OF))
    statuses = {c.id: c.status for c in assessment.controls}
    graph = control_graph(project.controls[c] for c in statuses)
    out = GRAPH_FORMATTERS[fmt](graph_view(graph, statuses, "claims-triage"))
    golden(f"graph.{EXTENSIONS[fmt]}", out)
    args = ["--project", str(EXAMPLES), "--as-of", EXAMPLES_AS_OF, "-w", "claims-triage"]
    assert _cli(capsys, "graph", *args, "--format", fmt) == out


@pytest.mark.parametrize("fmt", [GraphFormat.TREE, GraphFormat.DOT])
def test_graph_catalog_golden(
    fmt: GraphFormat, capsys: pytest.CaptureFixture[str], golden: Golden
) -> None:
    project = load_project(EXAMPLES)
    out = GRAPH_FORMATTERS[fmt](graph_view(control_graph(project.controls.values())))
    golden(f"graph-catalog.{EXTENSIONS[fmt]}", out)
    assert _cli(capsys, "graph", "--project", str(EXAMPLES), "--format", fmt) == out


def test_graph_svg_draws_the_same_view(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--project", str(EXAMPLES), "--as-of", EXAMPLES_AS_OF, "-w", "claims-triage"]
    svg = _cli(capsys, "graph", *args, "--format", "svg")
    assert svg.startswith('<svg class="control-graph"')  # laid out by Graphviz dot
    tree = (Path(__file__).parent / "golden" / "graph.tree.txt").read_text(encoding="utf-8")
    for line in tree.splitlines():
        node, _, status = line.lstrip("│├└─ ").partition(" [")
        dot_id = node.replace("-", "&#45;")  # Graphviz escapes hyphens in ids
        assert f'<g id="node&#45;{dot_id}" class="node status&#45;{status.rstrip("]")}">' in svg
