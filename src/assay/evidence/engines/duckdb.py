"""The embedded DuckDB engine: the default, nothing to install or start.

One database file under the project's cache folder holds:

* ``meta``: the fingerprint the database was built for (store layout, Assay and DuckDB
  versions, the evidence models' columns, the validation code); anything else is rebuilt;
* ``files``: the stat of every evidence file when it was last seen and the blob (content)
  it held, as git's index does;
* ``blobs``: one row per distinct file content (SHA-256), with its record count and the
  workflows its records are for;
* ``ev_<kind>``: the records of each kind, one typed column per model field (nested lists
  as LIST of STRUCT, dicts as MAP), plus the blob, the record's order, line and JSON pointer
  in its file and its canonical JSON (to rebuild the exact record for findings).

Rows are written through DuckDB's own JSON reader from a scratch file of the records as
the codec validated them, so the typed columns hold exactly the values the row evaluator
sees. Every change is one transaction: a killed process leaves the previous state.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import msgspec
import orjson

from ...models.evidence_kinds import EVIDENCE_KINDS
from .base import EngineBusy, EngineName, RecordRow, StoreCorrupt, table_name
from .columns import Column, ColumnType, kind_columns

_SCALAR_SQL = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
    "json": "JSON",
}


def sql_type(ctype: ColumnType) -> str:
    """The DuckDB type of a column type."""
    if ctype.name == "list":
        assert ctype.item is not None
        return f"{sql_type(ctype.item)}[]"
    if ctype.name == "map":
        assert ctype.item is not None
        return f"MAP(VARCHAR, {sql_type(ctype.item)})"
    if ctype.name == "struct":
        return (
            "STRUCT(" + ", ".join(f"{quote(c.name)} {sql_type(c.type)}" for c in ctype.fields) + ")"
        )
    return _SCALAR_SQL[ctype.name]


def _transform_shape(ctype: ColumnType) -> Any:
    """The structure argument of ``json_transform`` for a column type."""
    if ctype.name == "list":
        assert ctype.item is not None
        return [_transform_shape(ctype.item)]
    if ctype.name == "struct":
        return {c.name: _transform_shape(c.type) for c in ctype.fields}
    return sql_type(ctype)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class FileEntry:
    """What the store knew about an evidence file when it last saw it."""

    path: str
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    checked_ns: int
    """Wall-clock time of the stat: a file modified within the clock's granularity of it
    is "racily clean" and hashed again next time (as git does)."""
    blob: int


@dataclass(frozen=True, slots=True)
class BlobInfo:
    id: int
    sha256: str
    records: int
    workflows: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NewBlob:
    """A file content read and validated this run, to be stored."""

    id: int
    sha256: str
    records: Sequence[Any]
    """The validated records (:class:`assay.load.evidence.Record`), in file order."""


_ENCODE = msgspec.json.Encoder().encode


class DuckDBEngine:
    """The DuckDB engine over one database (a file in the cache, or in memory)."""

    name = EngineName.DUCKDB
    dialect = "duckdb"

    def __init__(self, connection: duckdb.DuckDBPyConnection, scratch: Path | None):
        self._con = connection
        self._scratch = scratch

    # -- opening ---------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | None, *, read_only: bool) -> DuckDBEngine:
        """Open (or create) the database at ``path``, or an in-memory one for None.

        Raises StoreCorrupt when the file is not a database this DuckDB can read."""
        try:
            if path is None:
                con = duckdb.connect(":memory:")
            else:
                con = duckdb.connect(str(path), read_only=read_only)
            # Times come back in UTC whatever the machine's zone; the row path rebuilds the
            # records from their canonical JSON, so the zone never reaches a finding.
            con.execute("SET TimeZone = 'UTC'")
        except duckdb.Error as err:
            if "lock" in str(err).lower():
                raise EngineBusy(str(err)) from None
            raise StoreCorrupt(f"cannot open the evidence cache: {err}") from None
        return cls(con, path.parent if path is not None else None)

    def close(self) -> None:
        self._con.close()

    # -- schema ----------------------------------------------------------------------
    def fingerprint(self) -> str | None:
        """The fingerprint the database was built for; None for an empty database."""
        try:
            tables = {row[0] for row in self._con.execute("SHOW TABLES").fetchall()}
            if "meta" not in tables:
                return None
            row = self._con.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        except duckdb.Error as err:
            raise StoreCorrupt(f"cannot read the evidence cache: {err}") from None
        return str(row[0]) if row else ""

    def create(self, fingerprint: str) -> None:
        """Replace whatever the database holds with empty tables for ``fingerprint``."""
        con = self._con
        try:
            con.execute("BEGIN TRANSACTION")
            for (table,) in con.execute("SHOW TABLES").fetchall():
                con.execute(f"DROP TABLE {quote(table)}")
            con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
            con.execute(
                "CREATE TABLE files (path VARCHAR PRIMARY KEY, size BIGINT NOT NULL, "
                "mtime_ns BIGINT NOT NULL, ctime_ns BIGINT NOT NULL, inode BIGINT NOT NULL, "
                "checked_ns BIGINT NOT NULL, blob INTEGER NOT NULL)"
            )
            con.execute(
                "CREATE TABLE blobs (id INTEGER PRIMARY KEY, sha256 VARCHAR NOT NULL UNIQUE, "
                "records INTEGER NOT NULL, workflows VARCHAR[] NOT NULL)"
            )
            for kind in EVIDENCE_KINDS:
                con.execute(self._table_ddl(kind))
            con.execute("INSERT INTO meta VALUES ('fingerprint', ?)", [fingerprint])
            con.execute("COMMIT")
        except duckdb.Error as err:
            raise StoreCorrupt(f"cannot create the evidence cache: {err}") from None

    @staticmethod
    def _table_ddl(kind: str) -> str:
        columns = [
            "blob INTEGER NOT NULL",
            "ord INTEGER NOT NULL",
            "line INTEGER",
            "pointer VARCHAR NOT NULL",
            "raw VARCHAR NOT NULL",
        ]
        for column in kind_columns(kind):
            null = "" if column.nullable else " NOT NULL"
            columns.append(f"{quote(column.name)} {sql_type(column.type)}{null}")
        return f"CREATE TABLE {table_name(kind)} ({', '.join(columns)})"

    # -- the file index --------------------------------------------------------------
    def file_entries(self) -> dict[str, FileEntry]:
        rows = self._read(
            "SELECT path, size, mtime_ns, ctime_ns, inode, checked_ns, blob FROM files"
        )
        return {row[0]: FileEntry(*row) for row in rows}

    def blob_infos(self) -> dict[str, BlobInfo]:
        rows = self._read("SELECT id, sha256, records, workflows FROM blobs")
        return {row[1]: BlobInfo(row[0], row[1], row[2], tuple(row[3])) for row in rows}

    def next_blob_id(self) -> int:
        (value,) = self._read("SELECT coalesce(max(id), 0) + 1 FROM blobs")[0]
        return int(value)

    def write(self, blobs: Sequence[NewBlob], files: Iterable[FileEntry]) -> None:
        """One transaction: store the new blobs and their rows, replace the file index by
        ``files``, and drop the blobs no file refers to any more."""
        con = self._con
        with tempfile.TemporaryDirectory(prefix="ingest-", dir=self._scratch) as scratch:
            staged = self._stage(blobs, Path(scratch))
            try:
                con.execute("BEGIN TRANSACTION")
                for blob in blobs:
                    workflows = sorted({r.data.workflow for r in blob.records})
                    con.execute(
                        "INSERT INTO blobs VALUES (?, ?, ?, ?)",
                        [blob.id, blob.sha256, len(blob.records), workflows],
                    )
                for kind, path in staged.items():
                    con.execute(self._insert_sql(kind, path))
                con.execute("DELETE FROM files")
                rows = [
                    (f.path, f.size, f.mtime_ns, f.ctime_ns, f.inode, f.checked_ns, f.blob)
                    for f in files
                ]
                if rows:
                    con.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                unused = "blob NOT IN (SELECT blob FROM files)"
                for kind in EVIDENCE_KINDS:
                    con.execute(f"DELETE FROM {table_name(kind)} WHERE {unused}")
                con.execute("DELETE FROM blobs WHERE id NOT IN (SELECT blob FROM files)")
                con.execute("COMMIT")
            except duckdb.Error as err:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass
                raise StoreCorrupt(f"cannot write the evidence cache: {err}") from None

    def _stage(self, blobs: Sequence[NewBlob], scratch: Path) -> dict[str, Path]:
        """One scratch JSON Lines file per kind: each line the row's position and the
        record as the codec encodes it (what decoding gives back, exactly)."""
        lines: dict[str, list[bytes]] = {}
        for blob in blobs:
            head = b'{"b":%d,"o":' % blob.id
            for order, record in enumerate(blob.records):
                line = b"null" if record.line is None else b"%d" % record.line
                lines.setdefault(record.data.kind, []).append(
                    head
                    + b'%d,"l":%s,"p":%s,"r":' % (order, line, orjson.dumps(record.pointer))
                    + _ENCODE(record.data)
                    + b"}"
                )
        staged: dict[str, Path] = {}
        for kind, items in lines.items():
            path = scratch / f"{kind}.jsonl"
            with open(path, "wb") as out:
                out.write(b"\n".join(items))
                out.write(b"\n")
            staged[kind] = path
        return staged

    @staticmethod
    def _insert_sql(kind: str, path: Path) -> str:
        columns = kind_columns(kind)
        shape = orjson.dumps({c.name: _transform_shape(c.type) for c in columns}).decode()
        fields = ", ".join(f"s.{quote(c.name)}" for c in columns)
        return (
            f"INSERT INTO {table_name(kind)} SELECT b, o, l, p, r::VARCHAR, {fields} FROM ("
            f"SELECT b, o, l, p, r, json_transform_strict(r, {_literal(shape)}) AS s "
            f"FROM read_json({_literal(os.fspath(path))}, format = 'newline_delimited', "
            "columns = {b: 'INTEGER', o: 'INTEGER', l: 'INTEGER', p: 'VARCHAR', r: 'JSON'}))"
        )

    # -- reading ---------------------------------------------------------------------
    def record_rows(
        self, kind: str, blobs: Sequence[int], workflows: Sequence[str] | None
    ) -> list[RecordRow]:
        if not blobs:
            return []
        sql = f"SELECT blob, ord, line, pointer, raw FROM {table_name(kind)} WHERE blob IN ?"
        params: list[Any] = [list(blobs)]
        if workflows is not None:
            sql += " AND workflow IN ?"
            params.append(list(workflows))
        rows = self._read(sql + " ORDER BY blob, ord", params)
        return [RecordRow(b, o, line, p, raw.encode()) for b, o, line, p, raw in rows]

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query; a mistake in the query itself (a ProgrammingError) is a bug and
        propagates as such, anything else means the data cannot be read."""
        try:
            return self._con.execute(sql, list(params)).fetchall()
        except duckdb.ProgrammingError:
            raise
        except duckdb.Error as err:
            raise StoreCorrupt(f"cannot read the evidence cache: {err}") from None

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        # The store's own queries are known good: any failure means a damaged database.
        try:
            return self._con.execute(sql, list(params)).fetchall()
        except duckdb.Error as err:
            raise StoreCorrupt(f"cannot read the evidence cache: {err}") from None

    def columns(self, kind: str) -> tuple[Column, ...]:
        return kind_columns(kind)
