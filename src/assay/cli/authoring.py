"""CLI commands for policy authors and reviewers: ``catalog export``, ``diff``, ``waivers``.

Thin, like the rest of the CLI: parse options, call the library, write the text, return
the exit code. Errors are raised as :class:`assay.errors.AssayError` subclasses and the
main CLI prints them (one line each) and exits with their code. None of these commands
is a verdict, so each returns 0 on success; bad input is 2.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from ..authoring.catalog import CatalogFormat, export_catalog
from ..authoring.diff import diff_assessments, load_assessments
from ..authoring.waivers import DEFAULT_HORIZON, waiver_report
from ..errors import UsageError
from ..evaluate import utc_now
from ..fileio import write_atomic
from ..formats.diff import DIFF_FORMATTERS, DiffFormat
from ..formats.waivers import WAIVERS_FORMATTERS, WaiversFormat
from ..load.project import load_project
from ..models.duration import Duration
from ..models.time import parse_instant
from .options import as_of_option, project_option


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text)


@click.group("catalog")
def catalog_group() -> None:
    """Work with the control catalog as a whole."""


@catalog_group.command("export")
@project_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in CatalogFormat]),
    default=CatalogFormat.OSCAL.value,
    show_default=True,
    help="oscal: an OSCAL 1.1.3 catalog; markdown: the catalog reference (docs/catalog.md).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@click.option(
    "--last-modified",
    "last_modified",
    metavar="TIME",
    help="metadata.last-modified (ISO 8601 with a timezone); default 1970-01-01T00:00:00Z so "
    "that identical policies give identical files.",
)
def catalog_export(
    project_dir: Path, fmt: str, output: Path | None, last_modified: str | None
) -> int:
    """Export the control catalog (OSCAL 1.1.3, or the Markdown reference)."""
    moment = parse_instant(last_modified, "--last-modified") if last_modified else None
    project = load_project(project_dir, require_workflows=False)  # the catalog needs none
    _emit(export_catalog(project, CatalogFormat(fmt), last_modified=moment), output)
    return 0


@click.command("diff")
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in DiffFormat]),
    default=DiffFormat.TEXT.value,
    show_default=True,
    help="text for a terminal, markdown for a pull-request comment.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def diff_command(old: Path, new: Path, fmt: str, output: Path | None) -> int:
    """Compare two assessments (assay gate --format json): newly failing, newly passing,
    changed, added and removed controls. Exit 0 whatever changed; 2 for a bad file."""
    before = load_assessments(old)
    after = load_assessments(new)
    _emit(DIFF_FORMATTERS[DiffFormat(fmt)](diff_assessments(before, after)), output)
    return 0


def parse_horizon(text: str) -> timedelta:
    """A calendar duration such as 30d, 2w or 12h (business days have no fixed length)."""
    try:
        return Duration.parse(text).as_timedelta()
    except ValueError as err:
        raise UsageError(f"--horizon: {err}") from None


@click.command("waivers")
@project_option
@as_of_option
@click.option(
    "--horizon",
    default="30d",
    show_default=True,
    metavar="DURATION",
    help="Active waivers expiring within this span are listed as expiring soon.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in WaiversFormat]),
    default=WaiversFormat.TEXT.value,
    show_default=True,
    help="text for a person, json for tools.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def waivers_command(
    project_dir: Path, as_of: str | None, horizon: str, fmt: str, output: Path | None
) -> int:
    """List the fleet's waivers: invalid, expired, expiring soon, not yet valid, active."""
    span = parse_horizon(horizon) if horizon else DEFAULT_HORIZON
    when = parse_instant(as_of) if as_of else utc_now()
    project = load_project(project_dir)
    _emit(WAIVERS_FORMATTERS[WaiversFormat(fmt)](waiver_report(project, when, span)), output)
    return 0
