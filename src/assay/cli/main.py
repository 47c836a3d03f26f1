"""The `assay` command line: a thin shell over the library.

Each command parses its options, calls the library, picks a formatter, writes output and
returns an exit code: 0 compliant, 1 non-compliant, 2 usage or input error, 3 a pack
failed verification. Every AssayError is printed as one line per problem, never a
traceback; an unexpected exception also exits 2 (the gate fails closed).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import click

from .._version import __version__
from ..authoring.explain import explain_control
from ..errors import AssayError, UsageError
from ..evaluate import assess, assess_many, utc_now
from ..fileio import write_atomic
from ..formats import Format, get_formatter
from ..formats.explain import EXPLAIN_FORMATTERS, ExplainFormat
from ..formats.github import format_github
from ..formats.graph import GRAPH_FORMATTERS, GraphFormat, GraphFormatter
from ..formats.lint import LINT_FORMATTERS, LintFormat, lint_sarif
from ..formats.sarif import format_sarif
from ..formats.text import DEFAULT_WIDTH, format_text
from ..graph import control_graph, graph_view
from ..load.project import Project, load_project
from ..models.assessment import Assessment, fleet_exit_code
from ..models.graph import GraphView
from ..models.time import parse_instant
from .completion import complete_control, complete_workflow
from .options import as_of_option, project_option
from .paths import repository_prefix
from .signing import AttestationOptions, SignerOptions, attestation_options, signer_options
from .terminal import text_width, use_color

FORMAT_NAMES = [f.value for f in Format]


def _as_of(value: str | None) -> datetime:
    return parse_instant(value) if value else utc_now()


def _load(project_dir: Path) -> Project:
    project = load_project(project_dir)
    # The CLI lives for one run: everything loaded stays alive until exit, so take it out of
    # the cyclic collector's reach (a million records otherwise get rescanned again and again).
    gc.freeze()
    return project


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="assay")
def cli() -> None:
    """Assay: policy-as-code compliance for AI workflows in production."""


def _parse_formats(formats: Sequence[str], output: Path | None) -> list[tuple[str, Path | None]]:
    targets: list[tuple[str, Path | None]] = []
    to_stdout = 0
    for item in formats or ("text",):
        name, sep, path = item.partition("=")
        get_formatter(name)  # UsageError for an unknown name
        if sep and not path:
            raise UsageError(f"--format {item!r}: expected FORMAT=FILE")
        if sep:
            targets.append((name, Path(path)))
        else:
            to_stdout += 1
            targets.append((name, output))
    if to_stdout > 1:
        raise UsageError(
            "only one --format may go to standard output or --output; "
            "give the others as FORMAT=FILE"
        )
    if output is not None and to_stdout == 0:
        raise UsageError(
            "--output needs a --format without =FILE (e.g. --format sarif --output out.sarif)"
        )
    return targets


@cli.command()
@project_option
@click.option(
    "--workflow",
    "-w",
    "workflows",
    multiple=True,
    metavar="ID",
    help="Workflow to gate (repeatable).",
    shell_complete=complete_workflow,
)
@click.option("--all", "all_workflows", is_flag=True, help="Gate every workflow of the project.")
@as_of_option
@click.option("--release", metavar="VERSION", help="The release under gate (CEL: `release`).")
@click.option(
    "--format",
    "-f",
    "formats",
    multiple=True,
    metavar="FORMAT[=FILE]",
    help=f"Output format, optionally with a file; repeatable. One of: {', '.join(FORMAT_NAMES)}.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the (single) format without =FILE to this file instead of stdout.",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Text: only the controls that fail, of the workflows that are not compliant.",
)
@click.option(
    "--color/--no-color",
    "color",
    default=None,
    help="Text: colour it or not (default: colour on a terminal, none when NO_COLOR is set).",
)
@click.option(
    "--width",
    type=click.IntRange(min=1),
    metavar="COLUMNS",
    help=f"Text: wrap to this width (default: the terminal's, {DEFAULT_WIDTH} elsewhere).",
)
@attestation_options
@signer_options
def gate(
    project_dir: Path,
    workflows: tuple[str, ...],
    all_workflows: bool,
    as_of: str | None,
    release: str | None,
    formats: tuple[str, ...],
    output: Path | None,
    quiet: bool,
    color: bool | None,
    width: int | None,
    attestation: AttestationOptions,
    signing: SignerOptions,
) -> int:
    """Pass or fail a release: exit 0 compliant, 1 non-compliant, 2 input error."""
    if signing.given and attestation.path is None:
        raise UsageError("a signing key is for --attestation FILE; the gate itself signs nothing")
    targets = _parse_formats(formats, output)
    when = _as_of(as_of)
    if bool(workflows) == all_workflows:
        raise UsageError("give --workflow ID (repeatable) or --all")
    project = _load(project_dir)
    ids = list(project.workflows) if all_workflows else list(workflows)
    assessments = assess_many(project, ids, when, release)
    prefix = repository_prefix(project_dir)
    for name, path in targets:
        stream = sys.stdout if path is None else None
        painted = False
        if name == Format.TEXT:
            painted = use_color(color, stream)
            text = format_text(
                assessments, color=painted, width=text_width(width, stream), quiet=quiet
            )
        elif name == Format.GITHUB:
            text = format_github(assessments, path_prefix=prefix)
        elif name == Format.SARIF:
            text = format_sarif(assessments, path_prefix=prefix)
        else:
            text = get_formatter(name)(assessments)
        if path is None:
            # click would strip the colour of text it does not write to a terminal.
            click.echo(text, nl=False, color=painted or None)
        else:
            write_atomic(path, text)
    if attestation.path is not None:
        from ..pack.attest import AttestationInput

        with signing.load() as signer:
            attestation.write([AttestationInput(a, project) for a in assessments], signer)
    return fleet_exit_code(assessments)


@cli.command()
@click.argument("control_id", metavar="CONTROL", shell_complete=complete_control)
@project_option
@click.option(
    "--workflow",
    "-w",
    metavar="ID",
    help="Explain for this workflow (runs the assessment).",
    shell_complete=complete_workflow,
)
@as_of_option
@click.option("--release", metavar="VERSION", help="The release assessed with --workflow.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in ExplainFormat]),
    default=ExplainFormat.TEXT.value,
    show_default=True,
    help="text for a person, json for tools.",
)
def explain(
    control_id: str,
    project_dir: Path,
    workflow: str | None,
    as_of: str | None,
    release: str | None,
    fmt: str,
) -> int:
    """What CONTROL requires, its parameters, dependencies and last verdict."""
    project = _load(project_dir)
    if control_id not in project.controls:
        raise UsageError(f"unknown control {control_id!r} (known: {', '.join(project.controls)})")
    assessment: Assessment | None = None
    if workflow is not None:
        assessment = assess(project, workflow, _as_of(as_of), release)
    explanation = explain_control(project, control_id, assessment)
    click.echo(EXPLAIN_FORMATTERS[ExplainFormat(fmt)](explanation), nl=False)
    return 0


def graph_svg(view: GraphView) -> str:
    """The SVG drawing of the pack, for ``assay graph --format svg`` (imported lazily: the
    gate path does not need it)."""
    from ..pack.svg import control_graph_svg

    nodes = [(n.id, n.status or "none") for n in view.nodes]
    return control_graph_svg(nodes, view.edges)


GRAPH_RENDERERS: dict[GraphFormat, GraphFormatter] = {
    **GRAPH_FORMATTERS,
    GraphFormat.SVG: graph_svg,
}
"""Every ``--format`` of `assay graph`: the text formatters and the pack's SVG."""


@cli.command("graph")
@project_option
@click.option(
    "--workflow",
    "-w",
    metavar="ID",
    help="Only the controls this workflow needs, with statuses.",
    shell_complete=complete_workflow,
)
@as_of_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in GraphFormat]),
    default=GraphFormat.TREE.value,
    show_default=True,
    help="tree for a terminal, dot for Graphviz, svg for a browser.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def graph_command(
    project_dir: Path, workflow: str | None, as_of: str | None, fmt: str, output: Path | None
) -> int:
    """The control dependency graph as a text tree, Graphviz DOT or SVG."""
    project = _load(project_dir)
    statuses: dict[str, str] | None = None
    controls = list(project.controls.values())
    if workflow is not None:
        assessment = assess(project, workflow, _as_of(as_of))
        statuses = {c.id: c.status for c in assessment.controls}
        controls = [project.controls[c] for c in statuses]
    view = graph_view(control_graph(controls), statuses, workflow)
    text = GRAPH_RENDERERS[GraphFormat(fmt)](view)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text)
    return 0


@cli.group()
def policy() -> None:
    """Work on policies: lint them, test them."""


@policy.command("lint")
@project_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in LintFormat]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def policy_lint(project_dir: Path, fmt: str, strict: bool) -> int:
    """Check policies for errors and for what a reviewer would flag."""
    from ..authoring.lint import lint_project

    findings = lint_project(project_dir)
    if LintFormat(fmt) is LintFormat.SARIF:
        text = lint_sarif(findings, path_prefix=repository_prefix(project_dir))
    else:
        text = LINT_FORMATTERS[LintFormat(fmt)](findings)
    click.echo(text, nl=False)
    errors = [f for f in findings if f.level == "error" or (strict and f.level == "warning")]
    return 2 if errors else 0


def _register_commands() -> None:
    """Commands that live in their own modules (they import heavier dependencies)."""
    from .evidence import evidence_group
    from .init import init_command
    from .pack import keys_group, pack_command, verify_command

    cli.add_command(evidence_group, "evidence")
    cli.add_command(init_command, "init")
    cli.add_command(pack_command, "pack")
    cli.add_command(verify_command, "verify")
    cli.add_command(keys_group, "keys")
    try:
        from .policy import policy_test_command

        policy.add_command(policy_test_command, "test")
    except ImportError:
        pass
    try:
        from .authoring import catalog_group, diff_command, waivers_command

        cli.add_command(catalog_group, "catalog")
        cli.add_command(diff_command, "diff")
        cli.add_command(waivers_command, "waivers")
    except ImportError:
        pass


_register_commands()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (never raises for user errors)."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="assay", standalone_mode=False
        )
    except AssayError as err:
        for line in err.lines():
            click.echo(line, err=True)
        return err.exit_code
    except click.exceptions.Exit as err:
        return int(err.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        return 2
    except click.ClickException as err:
        err.show()
        return 2
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 2
    except Exception as err:  # noqa: BLE001 - fail closed, never a raw traceback
        if os.environ.get("ASSAY_DEBUG"):
            raise
        # Reaching this is a bug (tests/hostile asserts that no hostile input does): say
        # so briefly, without echoing more than a line of whatever the exception carries.
        detail = str(err).splitlines()[0][:200] if str(err) else ""
        click.echo(
            f"internal error: {type(err).__name__}: {detail} (set ASSAY_DEBUG=1 for a traceback)",
            err=True,
        )
        return 2
    return int(result) if isinstance(result, int) else 0


def entry_point() -> None:  # pragma: no cover - console script
    sys.exit(main())
