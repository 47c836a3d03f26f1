"""`assay evidence ...`: get evidence in (import, new), seal it, verify it, validate it,
export it.

Thin shells over :mod:`assay.authoring.intake`, :mod:`assay.authoring.records` and
:mod:`assay.authoring.evidence_report`; the library does the work and raises located
errors. The libraries are imported when a command runs, so that `assay --version` and the
gate do not pay for the importers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from ..models.time import parse_instant
from .options import project_option


def parse_assignments(items: Sequence[str]) -> dict[str, Any]:
    """``--set FIELD=VALUE`` pairs. A value is text, converted to the field's type when the
    record is validated (numbers, true/false, times); ``null`` is no value, and a value
    starting with ``[`` or ``{`` is JSON (a list or an object)."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--set {item!r}: expected FIELD=VALUE")
        if name in out:
            raise UsageError(f"--set {name} is given twice")
        value: Any = text
        if text == "null":
            value = None
        elif text.lstrip().startswith(("[", "{")):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as err:
                raise UsageError(f"--set {name}: invalid JSON: {err.msg}") from None
        out[name] = value
    return out


set_option = click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Set a field the export (or template) does not fill; repeatable. Text, converted to "
    "the field's type (numbers, true/false, ISO 8601 times); `null` for none; JSON for a "
    "list or object.",
)


@click.group("evidence")
def evidence_group() -> None:
    """Work on evidence: import, scaffold, seal, verify and validate it."""


@evidence_group.command("import")
# The source is checked by the library (its error lists the sources), so that the
# importers are imported only when a command imports.
@click.argument("source", metavar="SOURCE")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="FILE..."
)
@project_option
@click.option(
    "--workflow", "-w", required=True, metavar="ID", help="Workflow the records are evidence for."
)
@set_option
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Mapping file saying how to make records (SOURCE `mapping` only).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write to (default: <evidence folder>/<workflow>/<source>).",
)
@click.option(
    "--recorded-by",
    metavar="NAME",
    help="The records' recorded_by (default: `assay import <source>`).",
)
@click.option(
    "--now",
    metavar="TIME",
    help="Time of the import (ISO 8601 with a timezone; default: now), used only where the "
    "export has no time (an incident still unacknowledged, a schedule's created_at).",
)
def import_command(
    source: str,
    files: tuple[Path, ...],
    project_dir: Path,
    workflow: str,
    assignments: tuple[str, ...],
    mapping: Path | None,
    out_dir: Path | None,
    recorded_by: str | None,
    now: str | None,
) -> int:
    """Convert exports of SOURCE into evidence records of a workflow.

    SOURCE is one of: mlflow (a SQLite tracking store), evidently (a report or snapshot
    JSON), pagerduty (REST API v2 JSON), github (deployments and statuses JSON),
    argo-rollouts (Rollout and AnalysisRun YAML), prometheus (alerting rules, Alertmanager
    configuration) or mapping (CSV/JSON/JSONL with --mapping). Nothing is written when
    any record is invalid; importing the same export again adds nothing.
    """
    from ..authoring.intake import import_evidence

    result = import_evidence(
        source,
        files,
        workflow=workflow,
        project=project_dir,
        out_dir=out_dir,
        recorded_by=recorded_by,
        fields=parse_assignments(assignments),
        mapping=mapping,
        now=parse_instant(now, "--now") if now else None,
    )
    counts = ", ".join(f"{result.count(s)} {s}" for s in ("added", "updated", "unchanged"))
    click.echo(f"{source}: {len(result.records)} records for {workflow} ({counts})")
    for path in result.written:
        click.echo(f"  wrote {path}")
    if not result.written:
        click.echo("  nothing changed")
    for reason in result.skipped:
        click.echo(f"  skipped: {reason}")
    return 0


@evidence_group.command("new")
@click.argument("kind", metavar="KIND")
@project_option
@click.option(
    "--workflow", "-w", required=True, metavar="ID", help="Workflow the record is evidence for."
)
@set_option
@click.option(
    "--now",
    metavar="TIME",
    help="When the record is made (ISO 8601 with a timezone; default: now): its created_at, "
    "and the time its time field is set to.",
)
def new_command(
    kind: str, project_dir: Path, workflow: str, assignments: tuple[str, ...], now: str | None
) -> int:
    """Write a new KIND record from its template, to edit: id, workflow, timestamps and
    sha256 filled in, validated before it is written, in a file of its own where the
    project keeps that kind (never over an existing file).

    The template's times move together, so that its time field is now and its intervals
    stay; `--set id=...` chooses the id (default: KIND-<time>).
    """
    from ..authoring.records import new_record

    made = new_record(
        kind,
        workflow=workflow,
        project=project_dir,
        fields=parse_assignments(assignments),
        now=parse_instant(now, "--now") if now else None,
    )
    click.echo(f"wrote {made.shown} ({kind} {made.record['id']!r} for {workflow})")
    click.echo("  fill in the template's example values, then `assay evidence validate`")
    return 0


@evidence_group.command("seal")
@project_option
@click.option("--by", metavar="NAME", help="Who seals (default: the user name).")
def seal_command(project_dir: Path, by: str | None) -> int:
    """Seal the evidence: append the SHA-256 of every new, changed or removed evidence file
    to the hash-chained ledger of each evidence folder (.assay-ledger.jsonl).

    Refuses when the ledger does not verify or a record's sha256 does not match its
    content. Keep the printed head hash somewhere else (a commit message) and pass it to
    `assay evidence verify --head` to catch entries dropped from the end.
    """
    from ..authoring.intake import seal_evidence

    for sealed in seal_evidence(project_dir, by=by):
        shown = sealed.ledger.parent
        folder = _shown(shown, project_dir)
        if sealed.entries:
            ops = {op: sum(1 for e in sealed.entries if e.op == op) for op in ("add", "change")}
            ops["remove"] = sum(1 for e in sealed.entries if e.op == "remove")
            detail = ", ".join(f"{n} {op}" for op, n in ops.items() if n)
            click.echo(f"{folder}: sealed {len(sealed.entries)} files ({detail})")
        else:
            click.echo(f"{folder}: nothing new to seal")
        click.echo(f"  head {sealed.head}")
    return 0


@evidence_group.command("verify")
@project_option
@click.option(
    "--head",
    "heads",
    multiple=True,
    metavar="[FOLDER=]HASH",
    help="The head hash a seal printed; the ledger must end there (catches dropped entries). "
    "FOLDER= names the evidence folder when there are several; repeatable.",
)
@click.option(
    "--now",
    metavar="TIME",
    help="Time of verification (ISO 8601 with a timezone; default: now): entries dated "
    "after it are reported.",
)
def verify_command(project_dir: Path, heads: tuple[str, ...], now: str | None) -> int:
    """Check the evidence against its ledger: exit 3 naming every file edited, deleted or
    added since it was sealed, every back-dated or altered entry and a broken chain."""
    from ..authoring.intake import evidence_folders, project_config, verify_evidence

    wanted: dict[str, str] = {}
    for item in heads:
        folder, sep, digest = item.rpartition("=")
        if not sep:
            root, config = project_config(project_dir)
            folders = evidence_folders(root, config)
            if len(folders) != 1:
                raise UsageError("several evidence folders: give --head FOLDER=HASH")
            folder = folders[0][1]
        wanted[folder] = digest
    moment = parse_instant(now, "--now") if now else None
    for result in verify_evidence(project_dir, now=moment, heads=wanted):
        folder = _shown(result.ledger.parent, project_dir)
        click.echo(
            f"{folder}: verified {result.files} files ({result.records} records) against "
            f"{result.entries} ledger entries"
        )
        click.echo(f"  head {result.head}")
    return 0


@evidence_group.command("validate")
@project_option
def validate_command(project_dir: Path) -> int:
    """Validate every evidence record against its kind's schema.

    Every invalid record is reported at the offending field (file:line:column and its JSON
    pointer), on standard error; then, on standard output, the valid records per workflow
    and kind: how many, in how many files, the oldest and newest by the kind's time field.
    Exit 0 when all are valid, 2 otherwise.
    """
    from ..authoring.evidence_report import evidence_report, format_report

    report = evidence_report(project_dir)
    for problem in report.problems:
        for line in problem.lines():
            click.echo(line, err=True)
    click.echo(format_report(report), nl=False)
    return 2 if report.problems else 0


@evidence_group.command("export")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR")
@project_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet"]),
    default="parquet",
    show_default=True,
    help="What to write.",
)
@click.option("--force", is_flag=True, help="Replace DIR when it is not empty.")
def export_command(out_dir: Path, project_dir: Path, fmt: str, force: bool) -> int:
    """Write the project's validated evidence to DIR, for a data lake.

    Parquet, one file per kind and workflow (DIR/kind=KIND/workflow=ID/part-0.parquet), each
    row with where its record is (file, line, pointer), a column per field and the record's
    canonical JSON. Every evidence file is validated first: any problem stops the export
    (exit 2) and nothing is written. DIR is written beside itself and renamed into place.
    """
    from ..evidence.export import export_parquet
    from ..load.project import load_project

    with load_project(project_dir, engine="duckdb") as project:
        report = export_parquet(project.evidence, out_dir, force=force)  # type: ignore[arg-type]
    kinds = len({kind for kind, _ in report.rows})
    click.echo(
        f"exported {report.total} records ({kinds} kinds, {len(report.rows)} partitions) "
        f"to {_shown(report.folder, project_dir)}"
    )
    return 0


def _shown(path: Path, project_dir: Path) -> str:
    try:
        return path.resolve().relative_to(project_dir.resolve()).as_posix() or "."
    except ValueError:
        return path.as_posix()
