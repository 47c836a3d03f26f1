"""`assay evidence export --format parquet DIR`: the validated evidence, for a lake.

One Parquet file per evidence kind and workflow, Hive-style
(``DIR/kind=<kind>/workflow=<workflow>/part-0.parquet``), written by DuckDB from the
evidence store's tables: the provenance of each row (``file``, ``line``, ``pointer``: where
the record is in the project's evidence), one typed column per field of the kind (nested
lists as LIST of STRUCT, as in the store), and ``record``, the record's canonical JSON as
the store validated it, so the table reads back into exactly the same records (Parquet
files under ``evidence:`` are read that way).

Rows are in file and record order; DuckDB writes with one thread, so the same evidence
gives the same bytes. The folder is written beside ``DIR`` and renamed into place: a
reader sees the old export or the new one, never half of one.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ErrorCode, InputError, Location, UsageError
from .engines.base import table_name
from .engines.columns import kind_columns
from .engines.duckdb import quote
from .store import StoredEvidence

PROVENANCE = ("file", "line", "pointer")
PART = "part-0.parquet"


@dataclass
class ExportReport:
    folder: Path
    rows: dict[tuple[str, str], int] = field(default_factory=dict)
    """Rows written per (kind, workflow)."""

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _partition_value(value: str) -> str:
    """A workflow id as a Hive partition value (ids are slugs; anything else is refused
    rather than escaped, so the path and the value always agree)."""
    if not value or not all(c.isalnum() or c in "-_." for c in value) or value.startswith("."):
        raise UsageError(f"workflow id {value!r} cannot name a partition folder")
    return value


def export_parquet(evidence: StoredEvidence, folder: Path, *, force: bool = False) -> ExportReport:
    """Write the stored evidence under ``folder`` (see the module). An existing non-empty
    ``folder`` is replaced only with ``force``."""
    folder = folder.resolve()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise UsageError(f"{folder} is not empty (use --force to replace it)")
    loose = sorted({*evidence.report.volatile, *evidence.store.volatile})
    if loose:
        # Records the store cannot hold exactly (NaN, infinity): an export without them
        # would be silently incomplete.
        raise InputError(
            "this file's records hold values Parquet export cannot keep exactly "
            "(NaN or infinity); the evidence was not exported",
            location=Location(loose[0]),
            code=ErrorCode.SCHEMA,
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.export-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        report = _write(evidence, staging)
        _swap(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    report.folder = folder
    return report


def _write(evidence: StoredEvidence, staging: Path) -> ExportReport:
    store = evidence.store
    engine = store.engine
    report = ExportReport(staging)
    objects: dict[str, list[tuple[str, int, int]]] = {}
    for blob, items in store._objects.items():
        for kind, digest, *_ in items:
            path, number = store.objects.locate(digest)
            objects.setdefault(kind, []).append((os.fspath(path), number, blob))
    engine.query("SET threads = 1")  # one writer: the same rows, the same bytes
    try:
        for kind in sorted(objects):
            engine.temp_table(
                "export_objects",
                [("file", "VARCHAR"), ("s", "INTEGER"), ("blob", "INTEGER")],
                sorted(objects[kind]),
            )
            table = table_name(kind)
            packs = sorted({path for path, _, _ in objects[kind]})
            files = "[" + ", ".join(_text(path) for path in packs) + "]"
            fields = ", ".join(
                f"r.{quote(c.name)}" for c in kind_columns(kind) if c.name != "workflow"
            )
            source = (
                "SELECT f.path AS file, r.line, r.pointer, r.ord AS _ord, "
                f"{fields}, CAST(j.r AS VARCHAR) AS record, r.workflow AS workflow "
                f"FROM {table} r JOIN files f ON f.blob = r.blob "
                f"JOIN (SELECT m.blob, j.o, j.r FROM read_json({files}, format = 'newline_delimited', "
                "filename = true, columns = {s: 'INTEGER', o: 'INTEGER', r: 'JSON'}) j "
                "JOIN export_objects m ON m.file = j.filename AND m.s = j.s) j "
                "ON j.blob = r.blob AND j.o = r.ord"
            )
            counts = engine.query(
                f"SELECT workflow, count(*) FROM ({source}) GROUP BY workflow ORDER BY workflow"
            )
            for workflow, count in counts:
                part = staging / f"kind={kind}" / f"workflow={_partition_value(workflow)}"
                part.mkdir(parents=True)
                columns = ", ".join(
                    [
                        *PROVENANCE,
                        *(quote(c.name) for c in kind_columns(kind) if c.name != "workflow"),
                        "record",
                    ]
                )
                engine.query(
                    f"COPY (SELECT {columns} FROM ({source}) WHERE workflow = {_text(workflow)} "
                    "ORDER BY string_split(file, '/'), _ord) "
                    f"TO {_text(os.fspath(part / PART))} (FORMAT parquet, COMPRESSION zstd)"
                )
                report.rows[(kind, workflow)] = int(count)
    finally:
        engine.query("RESET threads")
    return report


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _swap(staging: Path, folder: Path) -> None:
    """Put ``staging`` where ``folder`` is: a rename, after moving an old export aside."""
    if not folder.exists():
        os.replace(staging, folder)
        return
    old = folder.parent / f".{folder.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    os.replace(folder, old)
    try:
        os.replace(staging, folder)
    except BaseException:
        os.replace(old, folder)
        raise
    shutil.rmtree(old, ignore_errors=True)
