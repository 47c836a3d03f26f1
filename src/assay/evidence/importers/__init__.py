"""Importers: exports of the tools teams already run, converted into evidence records.

One module per tool behind the :class:`Importer` protocol; ``IMPORTERS`` maps every
:class:`Source` to its importer, and :func:`import_evidence` runs one and writes what it
made (see :mod:`assay.evidence.importers.write`). No importer needs the tool's own package:
each reads the export format (or the tool's store) directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay.errors import ErrorCode, InputError, Location, UsageError
from assay.models.evidence import ID_PATTERN

from .argo import import_argo_rollouts
from .base import MAX_EXPORT_BYTES, Conversion, Draft, ExportFile, Importer, ImportOptions, Source
from .evidently import import_evidently
from .github import import_github
from .mapping import import_mapping
from .mlflow import import_mlflow
from .pagerduty import import_pagerduty
from .prometheus import import_prometheus
from .write import ImportedRecord, ImportResult, complete, write_records

IMPORTERS: dict[Source, Importer] = {
    Source.MLFLOW: import_mlflow,
    Source.EVIDENTLY: import_evidently,
    Source.PAGERDUTY: import_pagerduty,
    Source.GITHUB: import_github,
    Source.ARGO_ROLLOUTS: import_argo_rollouts,
    Source.PROMETHEUS: import_prometheus,
    Source.MAPPING: import_mapping,
}


def get_importer(name: str | Source) -> Importer:
    """The importer for a source name (as given to the CLI); UsageError when unknown."""
    try:
        source = Source(name)
    except ValueError:
        valid = ", ".join(s.value for s in Source)
        raise UsageError(f"unknown evidence source {name!r}; expected one of: {valid}") from None
    return IMPORTERS[source]


def read_export(path: str | Path, display: str | None = None) -> ExportFile:
    """Read one export file, bounded; errors name the file."""
    target = Path(path)
    shown = display if display is not None else str(path)
    try:
        size = target.stat().st_size
        if size > MAX_EXPORT_BYTES:
            raise InputError(
                f"file is {size} bytes, larger than the limit of {MAX_EXPORT_BYTES} bytes",
                location=Location(shown),
                code=ErrorCode.SIZE,
            )
        return ExportFile(shown, target.read_bytes())
    except FileNotFoundError:
        raise UsageError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{shown}: expected a file, found a folder") from None
    except OSError as err:
        raise UsageError(f"{shown}: cannot read: {err.strerror}") from None


def convert(
    source: str | Source,
    files: Sequence[ExportFile],
    *,
    workflow: str,
    now: datetime | None = None,
    fields: Mapping[str, Any] | None = None,
    mapping: ExportFile | None = None,
) -> Conversion:
    """Run one importer on export files already read (no I/O)."""
    importer = get_importer(source)
    if not files:
        raise UsageError("give at least one export file")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    if Source(source) is not Source.MAPPING and mapping is not None:
        raise UsageError("a mapping file is only used by the `mapping` source")
    options = ImportOptions(
        workflow=workflow, now=moment, fields=dict(fields or {}), mapping=mapping
    )
    return importer(files, options)


def import_evidence(
    source: str | Source,
    files: Sequence[str | Path],
    *,
    workflow: str,
    evidence_dir: str | Path,
    project_dir: str | Path = ".",
    out_dir: str | Path | None = None,
    recorded_by: str | None = None,
    fields: Mapping[str, Any] | None = None,
    mapping: str | Path | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Convert the export ``files`` of ``source`` into evidence records of ``workflow``.

    Records go to ``out_dir`` (default: ``<evidence_dir>/<workflow>/<source>``), one JSON Lines
    file per kind; ``evidence_dir`` is the project's evidence folder (the first of its config's
    ``evidence``), relative paths and messages are relative to ``project_dir``. A re-import of the same export
    adds nothing. Nothing is written when any record is invalid: the InputErrors name the
    export file and item, the record and the field. ``fields`` sets values the export lacks
    (``--set``) on every record whose kind has the field; ``now`` is used only for records
    whose export carries no time (default: the current time).
    """
    get_importer(source)  # an unknown source is a usage error before any file is read
    src = Source(source)
    if re.fullmatch(ID_PATTERN, workflow) is None or ".." in workflow.split("/"):
        raise UsageError(f"--workflow: {workflow!r} is not a workflow id")
    root = Path(project_dir)
    exports = [read_export(f, _shown(Path(f), root)) for f in files]
    map_file = read_export(mapping, _shown(Path(mapping), root)) if mapping is not None else None
    conversion = convert(src, exports, workflow=workflow, now=now, fields=fields, mapping=map_file)
    who = recorded_by or f"assay import {src.value}"
    records = complete(conversion.drafts, workflow=workflow, recorded_by=who, fields=fields or {})
    target, display = _out_dir(root, Path(evidence_dir), out_dir, workflow, src)
    outcome, written = write_records(records, target, display)
    return ImportResult(tuple(outcome), tuple(written), tuple(conversion.skipped))


def _shown(path: Path, root: Path) -> str:
    """A path as messages show it: relative to the project when inside it, else its name."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name if path.is_absolute() else path.as_posix()


def _out_dir(
    root: Path, evidence_dir: Path, out_dir: str | Path | None, workflow: str, source: Source
) -> tuple[Path, str]:
    target = Path(out_dir) if out_dir is not None else evidence_dir / workflow / source.value
    if not target.is_absolute():
        target = root / target
    return target, _shown(target, root)


__all__ = [
    "IMPORTERS",
    "Conversion",
    "Draft",
    "ExportFile",
    "ImportOptions",
    "ImportResult",
    "ImportedRecord",
    "Importer",
    "Source",
    "convert",
    "get_importer",
    "import_evidence",
    "read_export",
]
