"""`assay init [DIR]`: a new project in one command (a thin shell over
:mod:`assay.authoring.scaffold`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from ..errors import UsageError


@click.command("init")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project folder to create (the same as DIR; default: the current folder).",
)
def init_command(directory: Path | None, project_dir: Path | None) -> int:
    """Start a project in DIR (default: the current folder): assay.yaml on the bundled
    catalog and classes, an example workflow, waivers/, evidence/ and a .gitignore.
    Never overwrites; prints the next three commands."""
    from ..authoring.scaffold import init_project

    if directory is not None and project_dir is not None and directory != project_dir:
        raise UsageError("give the project folder once: DIR or --project")
    target = directory or project_dir or Path(".")
    result = init_project(target, launched=datetime.now(UTC).date().isoformat())
    click.echo(f"Created an Assay project in {target}:")
    for rel in result.written:
        click.echo(f"  {rel}")
    click.echo("Next:")
    for command in result.next_commands:
        click.echo(f"  {command}")
    return 0
