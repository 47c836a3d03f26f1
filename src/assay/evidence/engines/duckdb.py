"""The embedded DuckDB engine: the default, nothing to install or start.

One database file under the project's cache folder holds:

* ``meta``: the fingerprint the database was built for (store layout, Assay and DuckDB
  versions, the evidence models' columns, the validation code); anything else is rebuilt;
  and its generation, a random token every write replaces: the same token means no
  writer came in between;
* ``files``: the stat of every evidence file when it was last seen and the blob (content)
  it held, as git's index does;
* ``blobs``: one row per distinct file content (SHA-256), with its record count, the
  workflows its records are for and when its newest record was created;
* ``objects``: the object files of each blob (one per kind), with their checksum;
* ``duplicates``: every record whose (workflow, kind, id) an earlier record of the project
  already has, with where that one is: worked out when the files change (for the ids of the
  records whose files changed: one new file costs its own records), so that a warm run
  reads the answer instead of comparing a million ids;
* ``ev_<kind>``: the records of each kind, one typed column per model field (nested lists
  as LIST of STRUCT, dicts as MAP), plus the blob, the record's order, line and JSON pointer
  in its file.

Rows are ingested by DuckDB's own (parallel) JSON reader from the object files, which
hold the records as the codec validated and encoded them, so the typed columns hold the
values the row evaluator sees. Every change is one transaction: a killed process leaves
the previous state.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ...models.evidence_kinds import EVIDENCE_KINDS
from .base import EngineBusy, EngineName, StoreCorrupt, table_name
from .columns import Column, ColumnType, kind_columns

MEMORY_LIMIT = "256MB"
"""DuckDB's buffer pool: it spills to disk beyond it (see :meth:`DuckDBEngine.open`)."""
WRITE_MEMORY_LIMITS = (MEMORY_LIMIT, "1GB", "4GB")
"""The bounds an ingest tries in turn when one runs out of memory."""


class _OutOfMemory(Exception):
    """An ingest that did not fit the buffer pool (rolled back)."""


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


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _number(locator: str) -> int:
    """An object's number in its pack (see :class:`assay.evidence.cache.ObjectFiles`)."""
    return int(locator.split(":", 2)[1])


def _token() -> str:
    return secrets.token_hex(16)


def _nested(sql_type: str) -> bool:
    """A LIST, MAP or STRUCT type (``VARCHAR[]``, ``MAP(VARCHAR, BIGINT)``…)."""
    return "[" in sql_type or "(" in sql_type


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, allow_nan=False, ensure_ascii=False)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _literal_list(texts: Sequence[str]) -> str:
    return "(" + ", ".join(map(_literal, texts)) + ")"


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
    newest_us: int | None = None
    """The latest ``created_at`` of its records (epoch microseconds); None without records.
    A gate asks which records were created after a time: blobs created before it hold none."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One kind's rows of a blob, as an object file (see :class:`assay.evidence.cache.ObjectFiles`)."""

    kind: str
    path: Path
    digest: str
    records: int
    index_digest: str
    """The checksum of the object's row index (where each row's line is)."""


@dataclass(frozen=True, slots=True)
class NewBlob:
    """A file content read and validated this run, to be stored."""

    id: int
    sha256: str
    records: int
    workflows: tuple[str, ...]
    objects: tuple[StoredObject, ...]
    newest_us: int | None = None
    """As :attr:`BlobInfo.newest_us`."""


class DuckDBEngine:
    """The DuckDB engine over one database (a file in the cache, or in memory)."""

    name = EngineName.DUCKDB
    dialect = "duckdb"
    bound_parameters = True

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self._con = connection
        self.opened_generation: str | None = None
        """The generation :meth:`fingerprint` read."""

    # -- opening ---------------------------------------------------------------------
    @classmethod
    def open(
        cls, path: Path | None, *, read_only: bool, scratch: Path | None = None
    ) -> DuckDBEngine:
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
            # DuckDB draws a progress bar on stdout for long statements: never in a report.
            con.execute("SET enable_progress_bar = false")
            # A bounded buffer pool keeps the gate's memory small; DuckDB spills to disk
            # beyond it (the cache folder, or the scratch folder of an in-memory store).
            con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            if scratch is not None:
                con.execute("SET temp_directory = ?", [os.fspath(scratch)])
        except duckdb.Error as err:
            if "lock" in str(err).lower():
                raise EngineBusy(str(err)) from None
            raise StoreCorrupt(f"cannot open the evidence cache: {err}") from None
        return cls(con)

    def close(self) -> None:
        self._con.close()

    # -- schema ----------------------------------------------------------------------
    def fingerprint(self) -> str | None:
        """The fingerprint the database was built for; None for an empty database."""
        try:
            tables = {row[0] for row in self._con.execute("SHOW TABLES").fetchall()}
            if "meta" not in tables:
                return None
            meta = dict(self._con.execute("SELECT key, value FROM meta").fetchall())
        except duckdb.Error as err:
            raise StoreCorrupt(f"cannot read the evidence cache: {err}") from None
        # Read with it, so that a read pass learns the generation without another query.
        self.opened_generation = meta.get("generation")
        return str(meta.get("fingerprint", ""))

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
                "records INTEGER NOT NULL, workflows VARCHAR[] NOT NULL, newest_us BIGINT)"
            )
            con.execute(
                "CREATE TABLE objects (blob INTEGER NOT NULL, kind VARCHAR NOT NULL, "
                "digest VARCHAR NOT NULL, records INTEGER NOT NULL, index_digest VARCHAR NOT NULL, "
                "PRIMARY KEY (blob, kind))"
            )
            con.execute(
                "CREATE TABLE duplicates (kind VARCHAR NOT NULL, workflow VARCHAR NOT NULL, "
                "id VARCHAR NOT NULL, path VARCHAR NOT NULL, line INTEGER, "
                "pointer VARCHAR NOT NULL, first_path VARCHAR NOT NULL, first_line INTEGER)"
            )
            for kind in EVIDENCE_KINDS:
                con.execute(self._table_ddl(kind))
            con.execute("INSERT INTO meta VALUES ('fingerprint', ?)", [fingerprint])
            con.execute("INSERT INTO meta VALUES ('generation', ?)", [_token()])
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
        ]
        for column in kind_columns(kind):
            null = "" if column.nullable else " NOT NULL"
            columns.append(f"{quote(column.name)} {sql_type(column.type)}{null}")
        return f"CREATE TABLE {table_name(kind)} ({', '.join(columns)})"

    def generation(self) -> str | None:
        """The token of the last write (None before the first)."""
        rows = self._read("SELECT value FROM meta WHERE key = 'generation'")
        return str(rows[0][0]) if rows else None

    # -- the file index --------------------------------------------------------------
    def file_entries(self) -> dict[str, FileEntry]:
        rows = self._read(
            "SELECT path, size, mtime_ns, ctime_ns, inode, checked_ns, blob FROM files"
        )
        return {row[0]: FileEntry(*row) for row in rows}

    def blob_infos(self) -> dict[str, BlobInfo]:
        rows = self._read("SELECT id, sha256, records, workflows, newest_us FROM blobs")
        return {row[1]: BlobInfo(row[0], row[1], row[2], tuple(row[3]), row[4]) for row in rows}

    def next_blob_id(self) -> int:
        (value,) = self._read("SELECT coalesce(max(id), 0) + 1 FROM blobs")[0]
        return int(value)

    def objects(self) -> dict[int, list[tuple[str, str, int, str]]]:
        """Per blob id, its objects: (kind, digest, records, index digest)."""
        out: dict[int, list[tuple[str, str, int, str]]] = {}
        for blob, kind, digest, records, index in self._read(
            "SELECT blob, kind, digest, records, index_digest FROM objects ORDER BY blob, kind"
        ):
            out.setdefault(blob, []).append((kind, digest, records, index))
        return out

    def write(
        self, blobs: Sequence[NewBlob], files: Iterable[FileEntry], generation: str | None = None
    ) -> set[str]:
        """One transaction: store the new blobs and their typed rows (read from their object
        files), replace the file index by ``files``, drop the blobs no file refers to any
        more, and mark the database with the token ``generation`` (a new one if None).
        Returns the name of every pack file still referenced.

        The buffer pool keeps its small bound for everything else; a first ingest too large
        for it (ten million records of one kind) is rolled back and run again with a larger
        one, which is put back afterwards."""
        files = list(files)
        for limit in WRITE_MEMORY_LIMITS:
            try:
                self._con.execute(f"SET memory_limit = '{limit}'")
                return self._write(blobs, files, generation or _token())
            except _OutOfMemory as err:
                failure = err.args[0]
            finally:
                with contextlib.suppress(duckdb.Error):
                    self._con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        raise StoreCorrupt(f"cannot write the evidence cache: {failure}")

    def _write(self, blobs: Sequence[NewBlob], files: list[FileEntry], generation: str) -> set[str]:
        con = self._con
        try:
            con.execute("BEGIN TRANSACTION")
            stored = con.execute(
                "SELECT path, size, mtime_ns, ctime_ns, inode, checked_ns, blob FROM files"
            ).fetchall()
            before = {row[0]: row[-1] for row in stored}
            by_kind: dict[str, list[tuple[int, StoredObject]]] = {}
            for blob in blobs:
                for obj in blob.objects:
                    by_kind.setdefault(obj.kind, []).append((blob.id, obj))
            self._insert(
                "blobs",
                [(b.id, b.sha256, b.records, list(b.workflows), b.newest_us) for b in blobs],
            )
            self._insert(
                "objects",
                [
                    (b.id, o.kind, o.digest, o.records, o.index_digest)
                    for b in blobs
                    for o in b.objects
                ],
            )
            for kind, items in by_kind.items():
                self._ingest(kind, items)
            # The blobs whose records' duplicates may have changed: every blob that a path
            # gained or lost (a rename changes which record comes first, too).
            entries = [
                (f.path, f.size, f.mtime_ns, f.ctime_ns, f.inode, f.checked_ns, f.blob)
                for f in files
            ]
            after = {entry[0]: entry[-1] for entry in entries}
            moved = sorted(
                {
                    blob
                    for path in before.keys() | after.keys()
                    if before.get(path) != after.get(path)
                    for blob in (before.get(path), after.get(path))
                    if blob
                }
            )
            # Their keys, taken before a dropped blob's rows go: only these keys' duplicates
            # are worked out again, so one new file costs its own records, not the fleet's.
            keys = self._keys_of(moved, every=not stored) if moved else []
            # Only the index rows that changed are rewritten (a fleet has thousands).
            old_rows, new_rows = set(stored), set(entries)
            changed = sorted({row[0] for row in old_rows ^ new_rows})
            if changed:
                con.execute("DELETE FROM files WHERE path IN ?", [changed])
                self._insert("files", sorted(new_rows - old_rows))
            # Only the blobs no file refers to any more go: a scan of the large tables
            # only when there is something to drop.
            referenced = set(after.values())
            dropped = [
                blob for (blob,) in con.execute("SELECT id FROM blobs").fetchall()
                if blob not in referenced
            ]  # fmt: skip
            if dropped:
                kinds = [k for (k,) in con.execute(
                    "SELECT DISTINCT kind FROM objects WHERE blob IN ?", [dropped]
                ).fetchall()]  # fmt: skip
                for kind in kinds:
                    con.execute(f"DELETE FROM {table_name(kind)} WHERE blob IN ?", [dropped])
                con.execute("DELETE FROM objects WHERE blob IN ?", [dropped])
                con.execute("DELETE FROM blobs WHERE id IN ?", [dropped])
            for table, kind, workflows in keys:
                self._refresh_duplicates(table, kind, workflows)
                if table is not None:
                    con.execute(f"DROP TABLE {table}")
            # The packs still referred to: an object's and its index's (see ObjectFiles).
            live = con.execute(
                "SELECT DISTINCT split_part(digest, ':', 1) FROM objects UNION "
                "SELECT DISTINCT split_part(index_digest, ':', 1) FROM objects"
            ).fetchall()
            con.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", [generation])
            con.execute("COMMIT")
        except duckdb.Error as err:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            if isinstance(err, duckdb.OutOfMemoryException):
                raise _OutOfMemory(str(err).splitlines()[0]) from None
            raise StoreCorrupt(f"cannot write the evidence cache: {err}") from None
        return {name for (name,) in live}

    def _keys_of(self, blobs: list[int], *, every: bool) -> list[tuple[str | None, str, list[str]]]:
        """Per kind that ``blobs`` hold: a temporary table of the (workflow, id) keys of
        their records, the kind, and the workflows of those keys. ``every``: the blobs are
        all there is (a first build): None for the table, every key of the kind."""
        con = self._con
        if every:
            return [(None, kind, []) for (kind,) in con.execute(
                "SELECT DISTINCT kind FROM objects ORDER BY kind"
            ).fetchall()]  # fmt: skip
        kinds = [k for (k,) in con.execute(
            "SELECT DISTINCT kind FROM objects WHERE blob IN ? ORDER BY kind", [blobs]
        ).fetchall()]  # fmt: skip
        out: list[tuple[str | None, str, list[str]]] = []
        for n, kind in enumerate(kinds):
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE dup_keys_{n} AS SELECT DISTINCT workflow, id "
                f"FROM {table_name(kind)} WHERE blob IN ?",
                [blobs],
            )
            workflows = [w for (w,) in con.execute(
                f"SELECT DISTINCT workflow FROM dup_keys_{n} ORDER BY workflow"
            ).fetchall()]  # fmt: skip
            out.append((f"dup_keys_{n}", kind, workflows))
        return out

    def _refresh_duplicates(self, keys: str | None, kind: str, workflows: list[str]) -> None:
        """Work out again the duplicates of ``kind`` for the keys in the table ``keys``
        (those of the records whose files changed; None: every record of the kind).
        Records are compared in the order the loader indexes them: files in path order (by
        path components, as the folder walk sorts them), then each file's own order; each
        duplicate names the record before it with the same id. A key's duplicates depend
        only on the records with that key, so the others stand."""
        con = self._con
        table = table_name(kind)
        columns = f"SELECT r.workflow, r.id, r.blob, r.line, r.pointer, r.ord FROM {table} r"
        if keys is None:
            con.execute("DELETE FROM duplicates WHERE kind = ?", [kind])
            keyed = columns
        else:
            if not workflows:
                return
            con.execute(
                f"DELETE FROM duplicates d WHERE d.kind = ? AND EXISTS "
                f"(SELECT 1 FROM {keys} k WHERE k.workflow = d.workflow AND k.id = d.id)",
                [kind],
            )
            # The records of those keys (the workflow filter lets a scan skip row groups).
            keyed = (
                f"{columns} SEMI JOIN {keys} k ON k.workflow = r.workflow AND k.id = r.id "
                f"WHERE r.workflow IN {_literal_list(workflows)}"
            )
        # First whether any of them has an id twice at all (a grouped scan, no join):
        # usually not, and a new file then costs no ordering of records. A blob holds
        # each record once however many files have its content: when some file is a copy
        # of another, every record of their blob is there twice, so the scan cannot tell.
        shared = con.execute(
            "SELECT 1 FROM files WHERE blob <> 0 GROUP BY blob HAVING count(*) > 1 LIMIT 1"
        ).fetchall()
        twice = (
            shared
            or con.execute(
                f"SELECT 1 FROM ({keyed}) GROUP BY workflow, id HAVING count(*) > 1 LIMIT 1"
            ).fetchall()
        )
        if not twice:
            return
        con.execute(
            f"""
            INSERT INTO duplicates
            WITH keyed AS (
                SELECT r.workflow, r.id, f.path, r.line, r.pointer, r.ord
                FROM ({keyed}) r JOIN files f ON f.blob = r.blob
            ),
            twice AS (
                SELECT workflow, id FROM keyed GROUP BY workflow, id HAVING count(*) > 1
            ),
            ordered AS (
                SELECT k.*,
                    lag(k.path) OVER w AS first_path, lag(k.line) OVER w AS first_line
                FROM keyed k SEMI JOIN twice t ON t.workflow = k.workflow AND t.id = k.id
                WINDOW w AS (
                    PARTITION BY k.workflow, k.id
                    ORDER BY string_split(k.path, '/'), k.ord
                )
            )
            SELECT $kind, workflow, id, path, line, pointer, first_path, first_line
            FROM ordered WHERE first_path IS NOT NULL
            """,
            {"kind": kind},
        )

    def duplicates(self) -> list[tuple[str, str, str, str, int | None, str, str, int | None]]:
        """(kind, workflow, id, path, line, pointer, first path, first line) of every
        duplicate record."""
        rows = self._read(
            "SELECT kind, workflow, id, path, line, pointer, first_path, first_line FROM duplicates"
        )
        return [tuple(row) for row in rows]

    def _insert(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert many rows in one statement: a list parameter per column, unnested
        (``executemany`` runs one statement per row: 3,600 files took seconds)."""
        if not rows:
            return
        columns = [list(values) for values in zip(*rows, strict=True)]
        unnests = ", ".join("unnest(?)" for _ in columns)
        self._con.execute(f"INSERT INTO {table} SELECT {unnests}", columns)

    def _ingest(self, kind: str, items: Sequence[tuple[int, StoredObject]]) -> None:
        """Typed rows of ``kind`` from the packs, all in one statement: DuckDB's JSON reader
        parses them in parallel straight into the columns. A row's blob is known by its
        pack and its object's number there (a pack may hold objects of blobs stored
        before, or by another writer: only those asked for are joined)."""
        con = self._con
        con.execute(
            "CREATE OR REPLACE TEMP TABLE ingest_map (file VARCHAR, s INTEGER, blob INTEGER)"
        )
        located = [(os.fspath(o.path), _number(o.digest), b) for b, o in items]
        self._insert("ingest_map", located)
        columns = kind_columns(kind)
        shape = sql_type(ColumnType("struct", fields=columns))
        fields = ", ".join(f"j.r.{quote(c.name)}" for c in columns)
        con.execute(
            f"INSERT INTO {table_name(kind)} SELECT m.blob, j.o, j.l, j.p, {fields} "
            "FROM read_json(?, format = 'newline_delimited', filename = true, columns = "
            f"{{s: 'INTEGER', o: 'INTEGER', l: 'INTEGER', p: 'VARCHAR', r: {_literal(shape)}}}) j "
            "JOIN ingest_map m ON m.file = j.filename AND m.s = j.s",
            [sorted({file for file, _, _ in located})],
        )

    # -- reading ---------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query; a mistake in the query itself (a ProgrammingError) is a bug and
        propagates as such, anything else means the data cannot be read."""
        try:
            return self._con.execute(sql, list(params)).fetchall()
        except duckdb.ProgrammingError:
            raise
        except duckdb.Error as err:
            raise StoreCorrupt(f"cannot read the evidence cache: {err}") from None

    def temp_table(
        self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """(Re)create the temporary table ``name`` of ``columns`` (name, SQL type) holding
        ``rows``: values a query joins that Python worked out (e.g. business-day deadlines)."""
        defs = ", ".join(f"{quote(c)} {t}" for c, t in columns)
        try:
            self._con.execute(f"CREATE OR REPLACE TEMP TABLE {quote(name)} ({defs})")
            if rows:
                lists = [list(values) for values in zip(*rows, strict=True)]
                casts = []
                for index, (_, sql_type) in enumerate(columns):
                    if _nested(sql_type):
                        # Python lists and dicts bound as they are get a type DuckDB
                        # guesses (dicts become one STRUCT of every key): bound as JSON
                        # text, they are cast to exactly the column's type.
                        lists[index] = [_json(v) for v in lists[index]]
                        casts.append(f"CAST(CAST(unnest(?) AS JSON) AS {sql_type})")
                    else:
                        casts.append(f"CAST(unnest(?) AS {sql_type})")
                self._con.execute(f"INSERT INTO {quote(name)} SELECT {', '.join(casts)}", lists)
        except duckdb.ProgrammingError:
            raise
        except duckdb.Error as err:
            raise StoreCorrupt(f"cannot prepare a query: {err}") from None

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        # The store's own queries are known good: any failure means a damaged database.
        try:
            return self._con.execute(sql, list(params)).fetchall()
        except duckdb.Error as err:
            raise StoreCorrupt(f"cannot read the evidence cache: {err}") from None

    def columns(self, kind: str) -> tuple[Column, ...]:
        return kind_columns(kind)
