"""Options shared by the `assay` commands, so that every command spells them alike."""

from __future__ import annotations

from pathlib import Path

import click

project_option = click.option(
    "--project",
    "project_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Project folder (holds assay.yaml).",
)
as_of_option = click.option(
    "--as-of",
    "as_of",
    metavar="TIME",
    help="Evaluate as of this ISO 8601 time with a timezone, e.g. 2026-11-20T12:00:00Z; a "
    "date alone (2026-11-20) is its midnight UTC (default: now).",
)
