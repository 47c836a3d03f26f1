"""The content-addressed evidence store: every evidence file read and validated once.

A gate asks the store for the project's evidence files. For each file the store decides,
as git's index does, whether it may trust what it stored last time:

1. the file's stat (size, mtime, ctime, inode) is the one recorded, and was not taken
   within the clock's granularity of the file's last change ("racily clean"): the stored
   SHA-256 stands, nothing is read;
2. otherwise the file is read and hashed; when a blob (file content) with that SHA-256 is
   stored, its rows stand and nothing is parsed;
3. otherwise the file is read by its format's reader and validated exactly as without a
   store (so every error keeps its file, line, column and JSON pointer); a valid file's
   records are ingested as a new blob. A file with errors is never stored: it is read
   again next time and reports the same errors.

``rehash=True`` (``--no-cache``, and always for an audit pack) skips step 1. Rows are
keyed by blob, not by path: a renamed or copied file is not parsed again.

Records are handed back as the same :class:`~assay.evidence.index.Record` objects the
loader makes (rebuilt from each row's canonical JSON), for the workflows asked for only:
one workflow of a large fleet reads that workflow's rows and nothing else.

Concurrency: readers share the cache lock, a writer holds it alone (see
:mod:`.cache`); every write is one DuckDB transaction. A cache that cannot be read, or was
written for another fingerprint, is deleted and rebuilt: damage costs time, never a
verdict.
"""

from __future__ import annotations

import hashlib
import operator
import os
import secrets
import shutil
import stat
import tempfile
import time
import weakref
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate, repeat
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, Union

import msgspec

from ..errors import AssayError, ErrorCode, InputError, Location
from ..models import codec
from ..models.time import LATEST
from ..parsing.files import read_regular, stream_regular
from ..parsing.yamlsafe import check_size
from .cache import CacheDir, CacheLock, LockTimeout, NewObject, ObjectFiles, code_fingerprint
from .engines.base import EngineBusy, StoreCorrupt, table_name
from .engines.columns import layout_fingerprint
from .engines.duckdb import BlobInfo, DuckDBEngine, FileEntry, NewBlob, StoredObject
from .index import (
    EvidenceIndex,
    Record,
    SourceFile,
    any_time_beyond,
    validate_json_document,
    validate_json_lines,
    validate_json_records,
    validate_records,
)
from .readers import RawRecord, ReaderLimits, reader_for, supported_suffixes
from .readers import json as json_reader

JSON_LINES = (".jsonl", ".ndjson")
IN_PARTS = (*JSON_LINES, ".json")
"""The evidence files validated and stored a part at a time."""
RACY_NS = 2_000_000_000
"""A file changed less than this before its stat was taken may change again within the
same timestamp: it is hashed again next time (coarse file-system clocks tick in seconds)."""
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """A valid evidence file as the store holds it."""

    path: str
    """Relative to the project root, as reports show it."""
    absolute: Path | str
    """As the loader gave it (a string from the loader: no path object per file)."""
    sha256: str
    records: int
    blob: int
    size: int = 0
    """Bytes, as the file was read or stat'ed."""
    stat: tuple[int, int, int, int, int] | None = None
    """(size, mtime, ctime, inode, device) as this run found the file, before reading it
    (a regular file's only): what a gate record keeps, without a second stat."""


@dataclass
class SyncReport:
    """What opening the store found and did."""

    files: list[EvidenceFile] = field(default_factory=list)
    """The valid evidence files, in the order given."""
    errors: list[AssayError] = field(default_factory=list)
    hashed: list[str] = field(default_factory=list)
    """Files whose bytes were read and hashed this time (their stat had changed)."""
    parsed: list[str] = field(default_factory=list)
    """Files read by their reader and validated this time (new content)."""
    rebuilt: bool = False
    """The cache was missing, damaged or of another fingerprint, and was built anew."""
    volatile: dict[str, list[Record]] = field(default_factory=dict)
    """Valid files whose records the store cannot hold exactly (non-finite numbers): they
    are read every time and kept in memory."""
    partial: dict[str, list[Record]] = field(default_factory=dict)
    """The valid records of files with errors (read this time, never stored): the run fails,
    but their ids still take part in the duplicate check, as without a store."""
    cached: bool = True
    """False when the store ran in memory (no writable cache folder, or it was busy)."""


class Reads(Protocol):
    """How the store reads evidence files, by their path relative to the project root,
    bounded: the project's file source (which refuses paths leading outside the project and
    words every problem with the file it is about)."""

    def read(self, rel: str, max_bytes: int | None = None) -> bytes: ...

    def stream(self, rel: str, max_bytes: int | None = None) -> Iterator[bytes]: ...


def _limit(suffix: str, limits: ReaderLimits) -> int:
    """The largest file of this type the loader reads."""
    return (
        limits.max_evidence_bytes
        if suffix in (*JSON_LINES, ".json", ".parquet")
        else limits.max_yaml_bytes
    )


def disk_reader(root: Path) -> Reads:
    """Bounded reads of regular files below ``root`` (tests and tools; the loader passes
    its project's source, which also keeps every path inside the project): never more
    than ``max_bytes``, never a device, a pipe or a symbolic link to one."""
    return _DiskReads(root)


class _DiskReads:
    def __init__(self, root: Path):
        self._root = root

    def read(self, rel: str, max_bytes: int | None = None) -> bytes:
        return read_regular(Path(os.path.realpath(self._root / rel)), rel, max_bytes)

    def stream(self, rel: str, max_bytes: int | None = None) -> Iterator[bytes]:
        return stream_regular(Path(os.path.realpath(self._root / rel)), rel, max_bytes)


def validate_file(
    data: bytes, source: SourceFile, suffix: str, workflows: set[str], limits: ReaderLimits
) -> tuple[list[Record], list[AssayError]]:
    """Read and validate one evidence file exactly as the loader does without a store."""
    if suffix in JSON_LINES:
        # High-volume evidence: the decode-and-keep hot path.
        check_size(data, source.path, limits.max_evidence_bytes)
        return validate_json_lines(data, source, workflows)
    if suffix == ".json":
        check_size(data, source.path, limits.max_evidence_bytes)
        return validate_json_document(data, source, workflows)
    reader = reader_for(suffix)
    assert reader is not None
    return validate_records(reader(data, source.path, limits), source, workflows)


class EvidenceStore:
    """The stored evidence of one project, open for reading. While it is open it holds the
    cache lock shared, so no writer changes the rows under it."""

    def __init__(
        self,
        engine: DuckDBEngine,
        files: Sequence[EvidenceFile],
        lock: CacheLock | None,
        objects: ObjectFiles,
        rebuild: Callable[[], EvidenceStore] | None = None,
        infos: dict[str, BlobInfo] | None = None,
    ):
        self.engine = engine
        self.files = list(files)
        self.objects = objects
        self._lock = lock
        self._scratch: Callable[[], Any] | None = None
        self._rebuild = rebuild
        self.volatile: dict[str, list[Record]] = {}
        self.recovered = False
        """The cache turned out damaged while being read and was rebuilt."""
        self._load_meta(infos)

    def _load_meta(self, infos: dict[str, BlobInfo] | None = None) -> None:
        # Read once while opening: later reads of records touch only the object files (no
        # query), and the per-workflow file lists are known without one. ``infos``: the
        # blobs as just read from this engine while syncing (under the same lock).
        blobs = self.engine.blob_infos() if infos is None else infos
        self.infos = {info.id: info for info in blobs.values()}
        self._all_objects: dict[int, list[tuple[str, str, int, str]]] | None = None
        self._some_objects: dict[int, list[tuple[str, str, int, str]]] = {}
        self._by_workflow: dict[str, list[EvidenceFile]] | None = None

    @property
    def _objects(self) -> dict[int, list[tuple[str, str, int, str]]]:
        """Per blob, its objects (kind, digest, records, index digest): every blob's, read
        the first time all are asked for (an export, a fleet)."""
        if self._all_objects is None:
            self._all_objects = self.engine.objects()
        return self._all_objects

    def objects_of(self, blobs: Iterable[int]) -> dict[int, list[tuple[str, str, int, str]]]:
        """The objects of ``blobs`` at least: a gate of one workflow reads the object rows
        of that workflow's files, not the fleet's. Asked again for others (a second
        workflow: a fleet), every blob's are read at once."""
        if self._all_objects is not None:
            return self._all_objects
        known = self._some_objects
        missing = sorted({b for b in blobs if b not in known})
        if missing and known:
            return self._objects
        if missing:
            for b in missing:
                known[b] = []
            rows = self.engine.query(
                "SELECT blob, kind, digest, records, index_digest FROM objects "
                f"WHERE blob IN ({', '.join(map(str, missing))}) ORDER BY blob, kind"
            )
            for blob, kind, digest, records, index in rows:
                known[blob].append((kind, digest, records, index))
        return known

    def kinds(self) -> list[str]:
        """The kinds the stored files hold records of."""
        if self._all_objects is not None:
            return sorted({o[0] for objects in self._all_objects.values() for o in objects})
        return sorted(row[0] for row in self.engine.query("SELECT DISTINCT kind FROM objects"))

    def _files_for(self, workflows: set[str] | None) -> list[EvidenceFile]:
        """The files holding records of ``workflows`` (all files for None), in file order."""
        if workflows is None:
            return self.files
        if self._by_workflow is None:
            by: dict[str, list[EvidenceFile]] = {}
            for f in self.files:
                owners: Iterable[str]
                if f.blob == 0:
                    owners = {r.data.workflow for r in self.volatile.get(f.path, ())}
                else:
                    info = self.infos.get(f.blob)
                    if info is None:
                        raise StoreCorrupt(f"blob {f.blob} of {f.path} is missing")
                    owners = info.workflows
                for owner in owners:
                    by.setdefault(owner, []).append(f)
            self._by_workflow = by
        if len(workflows) == 1:
            return self._by_workflow.get(next(iter(workflows)), [])
        order = {id(f): i for i, f in enumerate(self.files)}
        chosen = {id(f): f for w in workflows for f in self._by_workflow.get(w, [])}
        return sorted(chosen.values(), key=lambda f: order[id(f)])

    def _recover(self) -> None:
        """Damage found while reading (a block fails its checksum): rebuild the cache from
        the files and carry on with the new one. Happens at most once per store."""
        if self._rebuild is None or self.recovered:
            raise StoreCorrupt("the evidence cache is damaged")
        rebuild = self._rebuild
        self.close()
        fresh = rebuild()
        self.engine, self.files, self._lock = fresh.engine, fresh.files, fresh._lock
        self.objects = fresh.objects
        self.volatile = fresh.volatile
        self.infos = fresh.infos
        self._all_objects, self._some_objects = fresh._all_objects, fresh._some_objects
        self._by_workflow = None
        fresh._lock = None  # now ours
        self.recovered = True

    def close(self) -> None:
        self.engine.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        if self._scratch is not None:
            self._scratch()  # removes the scratch folder (once)
            self._scratch = None

    def __enter__(self) -> EvidenceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def batches(
        self, workflows: Iterable[str] | None = None, kinds: Iterable[str] | None = None
    ) -> list[list[Record]]:
        """The records of ``workflows`` (all when None) of ``kinds`` (all when None), one
        batch per file and kind, in file order, each record as the loader would have made
        it."""
        try:
            return self._batches(workflows, kinds)
        except StoreCorrupt:
            self._recover()
            return self._batches(workflows, kinds)

    def _batches(
        self, workflows: Iterable[str] | None, kinds: Iterable[str] | None
    ) -> list[list[Record]]:
        wanted = set(workflows) if workflows is not None else None
        of_kinds = set(kinds) if kinds is not None else None
        infos = self.infos
        files = self._files_for(wanted)
        objects = self.objects_of(f.blob for f in files if f.blob)
        decoded: dict[int, list[list[Any]]] = {}
        out: list[list[Record]] = []
        for f in files:
            if f.blob == 0:
                held = self.volatile.get(f.path, [])
                out.append(
                    [
                        r
                        for r in held
                        if (wanted is None or r.data.workflow in wanted)
                        and (of_kinds is None or r.data.kind in of_kinds)
                    ]
                )
                continue
            info = infos.get(f.blob)
            if info is None:
                raise StoreCorrupt(f"blob {f.blob} of {f.path} is missing")
            if wanted is not None and wanted.isdisjoint(info.workflows):
                continue
            if f.blob not in decoded:
                decoded[f.blob] = [
                    self._rows(info.sha256, kind, digest)
                    for kind, digest, _, _ in objects.get(f.blob, ())
                    if of_kinds is None or kind in of_kinds
                ]
            source = SourceFile(f.path, f.sha256)
            for rows in decoded[f.blob]:
                out.append(
                    [
                        Record(row.r, source, row.l, row.p)
                        for row in rows
                        if wanted is None or row.r.workflow in wanted
                    ]
                )
        return out

    def lines(self, wanted: Iterable[tuple[int, str, int]]) -> dict[tuple[int, str, int], Any]:
        """The stored rows (blob, kind, order) asked for, each decoded from its own line of
        the object file (found through the object's row index, checked by its CRC-32)."""
        try:
            return self._lines(wanted)
        except StoreCorrupt:
            self._recover()
            return self._lines(wanted)

    def _lines(self, wanted: Iterable[tuple[int, str, int]]) -> dict[tuple[int, str, int], Any]:
        by_object: dict[tuple[int, str], list[int]] = {}
        for blob, kind, order in wanted:
            by_object.setdefault((blob, kind), []).append(order)
        out: dict[tuple[int, str, int], Any] = {}
        for (blob, kind), orders in by_object.items():
            info = self.infos.get(blob)
            objects = self.objects_of((blob,)).get(blob, ())
            index = next((o[3] for o in objects if o[0] == kind), None)
            if info is None or index is None:
                raise StoreCorrupt(f"blob {blob} ({kind}) is missing")
            found = self.objects.read_rows(info.sha256, kind, index, orders)
            if found is None:
                raise StoreCorrupt(f"the object of {info.sha256[:12]} ({kind}) is damaged")
            for order, line in found.items():
                try:
                    row = _ROW_DECODER.decode(line)
                except msgspec.DecodeError:
                    raise StoreCorrupt(f"a row of {info.sha256[:12]} does not decode") from None
                if row.o != order:
                    raise StoreCorrupt(f"a row of {info.sha256[:12]} is not where it should be")
                out[(blob, kind, order)] = row
        return out

    def duplicates(self, workflows: set[str]) -> list[AssayError]:
        """The duplicate records of ``workflows`` the stored files hold, worded as the
        evidence index words them."""
        try:
            rows = self.engine.duplicates()
        except StoreCorrupt:
            self._recover()
            rows = self.engine.duplicates()
        return [
            InputError(
                f"duplicate {kind} id {id_!r} for workflow {workflow!r} "
                f"(first at {f'{first_path}:{first_line}' if first_line else first_path})",
                location=Location(path, line, None, pointer or None),
                code=ErrorCode.DUPLICATE,
            )
            for kind, workflow, id_, path, line, pointer, first_path, first_line in rows
            if workflow in workflows
        ]

    def _rows(self, sha256: str, kind: str, digest: str) -> list[Any]:
        data = self.objects.read(sha256, kind, digest)
        if data is None:
            raise StoreCorrupt(f"the object of {sha256[:12]} ({kind}) is missing or damaged")
        try:
            return _ROW_DECODER.decode_lines(data)
        except codec.DecodeError:
            raise StoreCorrupt(f"the object of {sha256[:12]} ({kind}) does not decode") from None


# One line of an object file: the record's order, line and JSON pointer in its evidence
# file (short keys: there are millions of lines), and the record.
Row: Any = msgspec.defstruct(
    "Row",
    [("o", int), ("l", int | None), ("p", str), ("r", Union[tuple(codec.STRUCTS.values())])],  # noqa: UP007
    frozen=True,
    gc=False,
)


# What an object file holds: a Row, with the object's number in its pack first (what the
# engine joins on to know a row's blob; the read side's Row ignores it).
PackedRow: Any = msgspec.defstruct(
    "PackedRow",
    [
        ("s", int),
        ("o", int),
        ("l", int | None),
        ("p", str),
        ("r", Union[tuple(codec.STRUCTS.values())]),  # noqa: UP007
    ],
    frozen=True,
    gc=False,
)

_ENCODE_LINES = msgspec.json.Encoder().encode_lines
_ROW_DECODER = msgspec.json.Decoder(Row)
_LINE = operator.attrgetter("line")
_POINTER = operator.attrgetter("pointer")
_DATA = operator.attrgetter("data")
_KIND = operator.attrgetter("kind")
_WORKFLOW = operator.attrgetter("workflow")
_CREATED = operator.attrgetter("created_at")


def write_objects(
    objects: ObjectFiles, sha256: str, records: Sequence[Record]
) -> tuple[StoredObject, ...]:
    """Encode a valid file's records into one object per kind, appended to this ingest's
    packs."""
    writer = ObjectWriter(objects)
    writer.add(records)
    return writer.finish()


class ObjectWriter:
    """One evidence file's objects, one per kind, written as its records come: a large
    JSON Lines file is validated and written a part at a time, so its records are never
    all in memory. Every kind's rows of a part are encoded in one call and indexed with
    C-level maps: a fleet has a million rows."""

    def __init__(self, objects: ObjectFiles):
        self._objects = objects
        self._open: dict[str, tuple[NewObject, array[int]]] = {}
        """Per kind: its object, and its row index so far (see ObjectFiles.write_index)."""
        self.records = 0
        self.workflows: set[str] = set()
        self.newest: datetime | None = None

    def add(self, records: Sequence[Record]) -> None:
        """Append the next valid records of the file, in its order."""
        if not records:
            return
        datas = list(map(_DATA, records))
        kinds = list(map(_KIND, datas))
        distinct = set(kinds)
        by_kind: dict[str, list[int]] = {}
        if len(distinct) > 1:
            for order, kind in enumerate(kinds, self.records):
                by_kind.setdefault(kind, []).append(order)
        first = self.records
        for kind in sorted(distinct):
            orders = by_kind.get(kind) or list(range(first, first + len(records)))
            chosen = records if kind not in by_kind else [records[i - first] for i in orders]
            held = self._open.get(kind)
            if held is None:
                held = self._open[kind] = (self._objects.begin(kind), array("q"))
            obj, entries = held
            rows = list(
                map(
                    PackedRow,
                    repeat(obj.number),
                    orders,
                    map(_LINE, chosen),
                    map(_POINTER, chosen),
                    map(_DATA, chosen),
                )
            )
            data = _ENCODE_LINES(rows)
            lines = data.split(b"\n")
            lines.pop()  # after the last newline
            part = array("q", bytes(24 * len(lines)))
            part[0::3] = array("q", orders)
            sizes = map((1).__add__, map(len, lines[:-1]))
            part[1::3] = array("q", accumulate(sizes, initial=obj.length))
            part[2::3] = array("q", map(zlib.crc32, lines))
            entries.extend(part)
            self._objects.append(obj, data)
        self.records += len(records)
        self.workflows.update(map(_WORKFLOW, datas))
        newest = max(map(_CREATED, datas))
        if self.newest is None or newest > self.newest:
            self.newest = newest

    def finish(self) -> tuple[StoredObject, ...]:
        """The file's objects, whole, with their row indexes written."""
        out = []
        for kind in sorted(self._open):
            obj, entries = self._open[kind]
            digest = self._objects.end(obj)
            index = self._objects.write_index(entries, digest)
            path, _ = self._objects.locate(digest)
            out.append(StoredObject(kind, path, digest, len(entries) // 3, index))
        self._open.clear()
        return tuple(out)


def open_store(
    root: Path,
    paths: Sequence[Path | str],
    workflows: set[str],
    limits: ReaderLimits,
    *,
    cache: CacheDir | None,
    rehash: bool = False,
    reads: Reads | None = None,
) -> tuple[EvidenceStore, SyncReport]:
    """Bring the store up to date with the evidence files ``paths`` and open it; files are
    read through ``reads`` (default: plainly, below ``root``).

    ``cache`` None runs in memory (nothing kept); an unwritable or busy cache folder does
    the same. Validation errors are in the report, never raised; the store holds only
    valid files."""
    items = _items(root, paths)
    reader = reads or disk_reader(root)
    if cache is not None and not cache.prepare():
        cache = None
    if cache is not None:
        try:
            store, report = _sync_cached(items, workflows, limits, cache, rehash, reader)
        except (LockTimeout, EngineBusy):
            pass  # someone else holds the cache: this run does without it
        else:
            folder = cache

            def rebuild() -> EvidenceStore:
                lock = folder.lock()
                try:
                    lock.acquire(exclusive=True)
                    folder.wipe()
                finally:
                    lock.close()
                return open_store(
                    root, paths, workflows, limits, cache=folder, rehash=True, reads=reader
                )[0]

            store._rebuild = rebuild
            return store, report
    scratch = Path(tempfile.mkdtemp(prefix="assay-evidence-"))
    objects = ObjectFiles(scratch)
    engine = DuckDBEngine.open(None, read_only=False, scratch=scratch)
    engine.create("memory")
    report = SyncReport(cached=False)
    entries, blobs = _plan(items, workflows, limits, {}, {}, True, report, objects, {}, reader)
    engine.write(blobs, entries)
    store, report = _opened(engine, report, None, objects)
    # Removed on close, or when the store is collected unclosed (a project a library user
    # never closed): quietly, it holds nothing but derived data.
    store._scratch = weakref.finalize(store, shutil.rmtree, scratch, True)
    return store, report


def _opened(
    engine: DuckDBEngine,
    report: SyncReport,
    lock: CacheLock | None,
    objects: ObjectFiles,
    infos: dict[str, BlobInfo] | None = None,
) -> tuple[EvidenceStore, SyncReport]:
    store = EvidenceStore(engine, report.files, lock, objects, infos=infos)
    store.volatile = report.volatile
    return store, report


def _fingerprint(cache: CacheDir) -> str:
    import duckdb

    from .._version import __version__

    parts = (code_fingerprint(), layout_fingerprint(), duckdb.__version__, __version__)
    # No marker (it could not be made): an identity nothing else has, so nothing is trusted.
    identity = cache.identity() or f"unmarked:{os.getpid()}:{time.time_ns()}"
    return hashlib.sha256(":".join((*parts, identity)).encode()).hexdigest()


def _sync_cached(
    items: Sequence[tuple[Path | str, str]],
    workflows: set[str],
    limits: ReaderLimits,
    cache: CacheDir,
    rehash: bool,
    reader: Reads,
) -> tuple[EvidenceStore, SyncReport]:
    fingerprint = _fingerprint(cache)
    rebuilt = False
    memo: dict[str, _Encoded] = {}
    objects = cache.objects
    done = SyncReport()  # what the write passes did, carried into the final report
    written: tuple[list[FileEntry], SyncReport, str] | None = None
    """What this run wrote: the index, its report, and the generation it marked."""
    lock = cache.lock()
    failure = "its files kept changing"
    try:
        for attempt in range(MAX_ATTEMPTS):
            last = attempt == MAX_ATTEMPTS - 1
            # A reader first: when nothing changed there is no write and no exclusive lock.
            lock.acquire(exclusive=False)
            engine = _open_existing(cache, fingerprint, read_only=True)
            planned: _Planned | None = None
            if engine is not None:
                report = SyncReport(rebuilt=rebuilt)
                try:
                    # Read with the fingerprint; nothing can write while this reader has
                    # the database open.
                    generation = engine.opened_generation
                    if written is not None and generation == written[2]:
                        # This run's write is the last one: its plan stands, no second look.
                        final = written[1]
                        final.hashed, final.parsed, final.rebuilt = (
                            done.hashed, done.parsed, rebuilt,
                        )  # fmt: skip
                        return _opened(engine, final, lock, objects)
                    stored, infos = engine.file_entries(), engine.blob_infos()
                    entries, blobs = _plan(
                        items, workflows, limits, stored, dict(infos),
                        rehash, report, objects, memo, reader,
                    )  # fmt: skip
                    done.hashed = _merged(done.hashed, report.hashed)
                    done.parsed = _merged(done.parsed, report.parsed)
                    if not blobs and not _index_changed(stored, entries):
                        report.hashed, report.parsed = done.hashed, done.parsed
                        return _opened(engine, report, lock, objects, infos)
                    planned = _Planned(stored, infos, entries, blobs, report, generation)
                except StoreCorrupt:
                    planned = None
                engine.close()
            lock.release()
            # Something to write (or a cache to build): hold the lock alone.
            lock.acquire(exclusive=True)
            engine = _open_existing(cache, fingerprint, read_only=False)
            if engine is None:
                cache.wipe()
                engine = DuckDBEngine.open(cache.database, read_only=False)
                engine.create(fingerprint)
                rebuilt = True
            try:
                if planned is not None and planned.unchanged(engine.generation(), memo):
                    # No writer came in between (the database is of the generation the
                    # read pass saw): its plan is this one (the files were looked at a
                    # moment ago; a change since is seen next run). Nothing read again.
                    entries, blobs, report = planned.entries, planned.blobs, planned.report
                else:
                    current, infos = engine.file_entries(), engine.blob_infos()
                    if planned is not None and planned.stands(current, infos, memo):
                        entries, blobs, report = planned.entries, planned.blobs, planned.report
                    else:
                        report = SyncReport()
                        entries, blobs = _plan(
                            items, workflows, limits, current, infos,
                            rehash, report, objects, memo, reader,
                        )  # fmt: skip
                token = secrets.token_hex(16)
                live = engine.write(blobs, entries, token)
                objects.prune(live | set(_pending(memo)))
                written = (entries, report, token)
                done.hashed = _merged(done.hashed, report.hashed)
                done.parsed = _merged(done.parsed, report.parsed)
            except StoreCorrupt as err:
                engine.close()
                cache.wipe()
                lock.release()
                memo.clear()
                rebuilt = True
                failure = str(err)
                continue
            if last:
                # The files keep changing under us: read what was just written, still
                # holding the lock alone, rather than chase them for ever.
                report.hashed, report.parsed, report.rebuilt = done.hashed, done.parsed, rebuilt
                return _opened(engine, report, lock, objects)
            engine.close()
            lock.release()
            # Read it back under the shared lock (another writer may come in between).
            rehash = False
        raise StoreCorrupt(f"the evidence cache could not be built ({failure})")
    except BaseException:
        lock.close()
        raise


@dataclass(frozen=True)
class _Planned:
    """The plan of a read pass that found something to write: the index and blobs it
    saw, and what it decided."""

    stored: dict[str, FileEntry]
    infos: dict[str, BlobInfo]
    entries: list[FileEntry]
    blobs: list[NewBlob]
    report: SyncReport
    generation: str | None
    """The database's generation when the read pass looked (None: a cache of no mark)."""

    def unchanged(self, generation: str | None, memo: dict[str, _Encoded]) -> bool:
        """Whether the database is still of the generation the read pass saw (no writer
        came in between: every write marks a new one) and every object the plan encoded
        is still there."""
        return (
            generation is not None
            and generation == self.generation
            and all(o.path.is_file() for e in memo.values() for o in e.objects)
        )

    def stands(
        self, stored: dict[str, FileEntry], infos: dict[str, BlobInfo], memo: dict[str, _Encoded]
    ) -> bool:
        """Whether the database under the exclusive lock is the one this plan was made
        against, and every object the plan encoded is still there (no writer came in
        between to index or prune anything): then planning again would decide the same."""
        return (
            stored == self.stored
            and infos == self.infos
            and all(o.path.is_file() for e in memo.values() for o in e.objects)
        )


@dataclass(frozen=True)
class _Encoded:
    """A content validated and encoded this run."""

    records: int
    workflows: tuple[str, ...]
    objects: tuple[StoredObject, ...]
    newest_us: int | None


PART_BYTES = 8 << 20
"""A JSON Lines file is validated and stored in parts of about this size: its records
(several times its size in memory) are never all held at once."""

STREAM_BYTES = 4 * PART_BYTES
"""A JSON Lines file larger than this is not even read whole: it is hashed, then read
again a part at a time (and hashed again, to be sure it is the content hashed)."""


def _hashed(reader: Reads, rel: str, limit: int, streamed: bool) -> tuple[bytes | None, str, int]:
    """The file's bytes (None when ``streamed``: only hashed), SHA-256 and size."""
    if not streamed:
        return _read_whole(reader, rel, limit)
    digest = hashlib.sha256()
    size = 0
    for chunk in reader.stream(rel, limit):
        digest.update(chunk)
        size += len(chunk)
    return None, digest.hexdigest(), size


def _read_whole(reader: Reads, rel: str, limit: int) -> tuple[bytes, str, int]:
    data = reader.read(rel, limit)
    return data, hashlib.sha256(data).hexdigest(), len(data)


def encode_json_lines(
    parts: Iterable[bytes], source: SourceFile, workflows: set[str], objects: ObjectFiles
) -> _Encoded | None:
    """Validate a JSON Lines file given as ``parts`` of whole lines and write its objects, a
    part at a time, exactly as :func:`validate_file` and :func:`write_objects` would do
    with the whole file (see :func:`_encode_parts`)."""

    def validated() -> Iterator[tuple[list[Record], list[AssayError]]]:
        line = 1
        for part in parts:
            yield validate_json_lines(part, source, workflows, line)
            line += part.count(b"\n")

    return _encode_parts(validated(), objects, round_trip=False)


def encode_json_document(
    data: bytes, source: SourceFile, workflows: set[str], objects: ObjectFiles
) -> _Encoded | None:
    """:func:`encode_json_lines` for a `.json` document: its records are validated and
    written in batches of about :data:`PART_BYTES` of raw JSON (msgspec parses the whole
    document first, into raw records that refer to its bytes)."""

    def validated() -> Iterator[tuple[list[Record], list[AssayError]]]:
        batch: list[RawRecord] = []
        size = 0
        for raw in json_reader.iter_chunks(data, source.path):
            batch.append(raw)
            size += len(raw.data)
            if size >= PART_BYTES:
                yield validate_json_records(batch, source, workflows)
                batch, size = [], 0
        if batch:
            yield validate_json_records(batch, source, workflows)

    return _encode_parts(validated(), objects, round_trip=True)


def _encode_parts(
    validated: Iterable[tuple[list[Record], list[AssayError]]],
    objects: ObjectFiles,
    *,
    round_trip: bool,
) -> _Encoded | None:
    """Write the ``validated`` parts of one file (its records and errors, part by part) as
    they come. None, with nothing of the file left in the packs, when some part has errors,
    a value that does not read back from its canonical JSON (``round_trip``) or a time past
    the calendar, or cannot be read: the caller then reads the whole file the usual way
    (its records are held: an error is worded with every other error of the file, and such
    values keep the file in memory)."""
    mark = objects.mark()
    writer = ObjectWriter(objects)
    try:
        for records, errors in validated:
            if (
                errors
                or (round_trip and not _round_trips(records))
                or any_time_beyond(records, LATEST)
            ):
                objects.rewind(mark)
                return None
            writer.add(records)
    except AssayError:
        objects.rewind(mark)
        return None
    newest = None if writer.newest is None else _us(writer.newest)
    return _Encoded(writer.records, tuple(sorted(writer.workflows)), writer.finish(), newest)


def _encode_stream(
    reader: Reads,
    rel: str,
    limit: int,
    source: SourceFile,
    workflows: set[str],
    objects: ObjectFiles,
) -> _Encoded | None:
    """:func:`encode_json_lines` over the file read again a piece at a time; InputError
    when what it read is not the content hashed before (``source.sha256``): the file
    changed in between, and the gate cannot tell which content it assessed."""
    digest = hashlib.sha256()
    chunks = reader.stream(rel, limit)

    def hashed() -> Iterator[bytes]:
        for chunk in chunks:
            digest.update(chunk)
            yield chunk

    mark = objects.mark()
    try:
        encoded = encode_json_lines(_line_parts(hashed()), source, workflows, objects)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # a file left part read is closed now, not when collected
    if encoded is not None and digest.hexdigest() != source.sha256:
        objects.rewind(mark)
        raise InputError(
            "the file changed while it was read; run again once it is written",
            location=Location(rel),
            code=ErrorCode.IO,
        )
    return encoded


def _line_parts(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The bytes of ``chunks`` (pieces of any size) in parts of whole lines, each the
    first to reach :data:`PART_BYTES` (the last one: what is left). A line longer than a
    part is held until its end; each byte is looked at once, however long the line."""
    held: list[bytes] = []  # the current part so far (no line of it ended yet)
    size = 0
    for chunk in chunks:
        start = 0
        while start < len(chunk):
            # The part ends at the first newline that makes it PART_BYTES long.
            cut = chunk.find(b"\n", start + max(PART_BYTES - size - 1, 0))
            if cut < 0:
                held.append(chunk[start:] if start else chunk)
                size += len(chunk) - start
                break
            held.append(chunk[start : cut + 1])
            yield _joined(held)
            held, size = [], 0
            start = cut + 1
    if held:
        yield _joined(held)


def _joined(pieces: list[bytes]) -> bytes:
    # One piece is given as it is: a file smaller than a part is never copied.
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _pending(memo: dict[str, _Encoded]) -> Iterable[str]:
    """The packs of the objects written this run (kept by a prune even before the database
    refers to them)."""
    for encoded in memo.values():
        for obj in encoded.objects:
            yield obj.path.name
            yield obj.index_digest.split(":", 1)[0]


def _round_trips(records: Sequence[Record]) -> bool:
    """Whether the records decode back from their canonical JSON unchanged."""
    if not records:
        return True
    encoded = b"\n".join(_ENCODE(r.data) for r in records)
    try:
        again = codec.decode_json_lines(encoded)
    except codec.DecodeError:
        return False
    return all(a == r.data for a, r in zip(again, records, strict=True))


_ENCODE = msgspec.json.Encoder().encode


def _merged(first: list[str], then: list[str]) -> list[str]:
    return list(dict.fromkeys(first + then))


def _index_changed(stored: dict[str, FileEntry], entries: list[FileEntry]) -> bool:
    """Whether the new file index says more than the stored one: a file added, gone, of
    other content or stat, or a racily clean stat that can now be trusted."""
    if len(stored) != len(entries):
        return True
    for new in entries:
        old = stored.get(new.path)
        if old is None or old.blob != new.blob or _entry_key(old) != _entry_key(new):
            return True
        if not _racy_free(old) and _racy_free(new):
            return True
    return False


def _open_existing(cache: CacheDir, fingerprint: str, *, read_only: bool) -> DuckDBEngine | None:
    """The cache's database when it exists, opens and was built for ``fingerprint``."""
    if not cache.database.exists():
        return None
    try:
        engine = DuckDBEngine.open(cache.database, read_only=read_only)
    except StoreCorrupt:
        return None
    try:
        if engine.fingerprint() == fingerprint:
            return engine
    except StoreCorrupt:
        pass
    engine.close()
    return None


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _full_key(st: os.stat_result) -> tuple[int, int, int, int, int] | None:
    """A regular file's stat as a gate record keeps it (see :mod:`assay.cli.replay`)."""
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _entry_key(entry: FileEntry) -> tuple[int, int, int, int]:
    return (entry.size, entry.mtime_ns, entry.ctime_ns, entry.inode)


def _racy_free(entry: FileEntry) -> bool:
    """The stat was taken well after the file's last change (else it is "racily clean":
    the file may have changed again within the same timestamp)."""
    return entry.mtime_ns + RACY_NS < entry.checked_ns


def _trusted(entry: FileEntry, st: os.stat_result) -> bool:
    """The stat is the one recorded, and was taken well after the file's last change."""
    return _entry_key(entry) == _stat_key(st) and _racy_free(entry)


def _suffix(rel: str) -> str:
    """The file's suffix as :attr:`pathlib.PurePath.suffix` gives it, without a path
    object per file (a fleet has thousands)."""
    name = rel.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def _items(root: Path, paths: Sequence[Path | str]) -> list[tuple[Path | str, str]]:
    """Each path with its name relative to the project root, as reports show it."""
    prefix = os.fspath(root).rstrip(os.sep) + os.sep
    out = []
    for path in paths:
        text = os.fspath(path)
        if text.startswith(prefix) and os.sep == "/" and "/../" not in text and "/./" not in text:
            out.append((path, text[len(prefix) :]))  # the common case, without relpath's cost
        else:
            out.append((path, _rel(root, path)))
    return out


def _rel(root: Path, path: Path | str) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def _plan(
    items: Sequence[tuple[Path | str, str]],
    workflows: set[str],
    limits: ReaderLimits,
    entries: dict[str, FileEntry],
    known: dict[str, BlobInfo],
    rehash: bool,
    report: SyncReport,
    objects: ObjectFiles,
    memo: dict[str, _Encoded],
    reader: Reads,
) -> tuple[list[FileEntry], list[NewBlob]]:
    """Decide for every file whether its stored blob stands; read, hash and validate the
    others. Fills ``report``; returns the new file index and the blobs to store.

    A file with errors is indexed with blob 0 (none): it is read again every time, and
    reports its errors every time. A valid new content is encoded into this pass's packs
    at once (its records are not kept); ``memo`` remembers those objects by SHA-256, so a
    second pass of this run does not parse the file again."""
    try:
        return _plan_files(
            items, workflows, limits, entries, known, rehash, report, objects, memo, reader
        )
    finally:
        objects.close()  # the packs are whole before the engine reads them


def _plan_files(
    items: Sequence[tuple[Path | str, str]],
    workflows: set[str],
    limits: ReaderLimits,
    entries: dict[str, FileEntry],
    known: dict[str, BlobInfo],
    rehash: bool,
    report: SyncReport,
    objects: ObjectFiles,
    memo: dict[str, _Encoded],
    reader: Reads,
) -> tuple[list[FileEntry], list[NewBlob]]:
    new_entries: list[FileEntry] = []
    new_blobs: list[NewBlob] = []
    by_sha = dict(known)
    by_id = {info.id: info for info in known.values()}
    next_id = max(by_id, default=0) + 1
    readable: dict[str, bool] = {}
    for path, rel in items:
        given = _suffix(rel)
        suffix = given.lower()
        ok = readable.get(suffix)
        if ok is None:
            ok = readable[suffix] = reader_for(suffix) is not None
        if not ok:
            report.errors.append(
                InputError(
                    f"unsupported evidence file type {given or '(none)'!r} "
                    f"(expected {', '.join(supported_suffixes())})",
                    location=Location(rel),
                    code=ErrorCode.FORMAT,
                )
            )
            continue
        checked = time.time_ns()
        try:
            st = os.stat(path)
        except OSError as err:
            report.errors.append(
                InputError(
                    f"cannot read file: {err.strerror}", location=Location(rel), code=ErrorCode.IO
                )
            )
            continue
        entry = entries.get(rel)
        info = by_id.get(entry.blob) if entry is not None else None
        data: bytes | None = None
        sha: str | None = None
        size: int | None = None  # bytes read, when the file was read
        limit = _limit(suffix, limits)
        streamed = suffix in JSON_LINES and st.st_size > STREAM_BYTES
        if (
            info is None
            or rehash
            or entry is None
            or not _trusted(entry, st)
            or st.st_size > limit  # a lower limit than when it was stored: read, refused
        ):
            try:
                data, sha, size = _hashed(reader, rel, limit, streamed)
            except AssayError as err:
                report.errors.append(err)
                continue
            report.hashed.append(rel)
            info = by_sha.get(sha)
        if info is not None and not workflows.issuperset(info.workflows):
            info = None  # evidence for a workflow the project no longer has: word it again
        if info is None:
            if sha is None:
                try:
                    data, sha, size = _hashed(reader, rel, limit, streamed)
                except AssayError as err:
                    report.errors.append(err)
                    continue
            encoded = memo.get(sha)
            if encoded is not None and not all(o.path.is_file() for o in encoded.objects):
                encoded = None  # pruned by another writer meanwhile: encode it again
            if encoded is None and suffix in IN_PARTS and by_sha.get(sha) is None:
                source = SourceFile(rel, sha)
                try:
                    if data is None:
                        encoded = _encode_stream(reader, rel, limit, source, workflows, objects)
                    elif suffix == ".json":
                        encoded = encode_json_document(data, source, workflows, objects)
                    else:
                        parts = _line_parts([data])
                        encoded = encode_json_lines(parts, source, workflows, objects)
                except AssayError as err:  # it changed while read
                    report.errors.append(err)
                    continue
                if encoded is not None:
                    memo[sha] = encoded
                    report.parsed.append(rel)
            if encoded is None:
                if data is None:  # read a part at a time, it has errors: read it whole
                    try:
                        data, sha, size = _read_whole(reader, rel, limit)
                    except AssayError as err:
                        report.errors.append(err)
                        continue
                source = SourceFile(rel, sha)
                try:
                    records, errors = validate_file(data, source, suffix, workflows, limits)
                except AssayError as err:
                    errors, records = [err], []
                report.parsed.append(rel)
                if errors:
                    report.errors.extend(errors)
                    if records:
                        report.partial[rel] = records
                    new_entries.append(FileEntry(rel, *_stat_key(st), checked, 0))
                    continue
                if (suffix not in JSON_LINES and not _round_trips(records)) or any_time_beyond(
                    records, LATEST
                ):
                    # NaN or infinity (YAML allows them, JSON does not): no canonical JSON
                    # keeps them; or a time past the calendar the loader accepts (it refuses
                    # the project): this file's records are held in memory, never stored.
                    report.volatile[rel] = records
                    report.files.append(
                        EvidenceFile(rel, path, sha, len(records), 0, len(data), _full_key(st))
                    )
                    new_entries.append(FileEntry(rel, *_stat_key(st), checked, 0))
                    continue
                info = by_sha.get(sha)
                owners = tuple(sorted({r.data.workflow for r in records}))
                stored = () if info is not None else write_objects(objects, sha, records)
                newest = max((r.data.created_at for r in records), default=None)
                encoded = memo[sha] = _Encoded(
                    len(records), owners, stored, None if newest is None else _us(newest)
                )
                del records
            info = by_sha.get(sha)
            if info is None:
                info = BlobInfo(next_id, sha, encoded.records, encoded.workflows, encoded.newest_us)
                next_id += 1
                by_sha[sha] = by_id[info.id] = info
                new_blobs.append(
                    NewBlob(
                        info.id,
                        sha,
                        encoded.records,
                        encoded.workflows,
                        encoded.objects,
                        encoded.newest_us,
                    )
                )
        if size is None:
            size = st.st_size
        report.files.append(
            EvidenceFile(rel, path, info.sha256, info.records, info.id, size, _full_key(st))
        )
        if entry is not None and entry.blob == info.id and _trusted(entry, st):
            # Unchanged and known clean: the row stands as it is, so a write rewrites the
            # index rows of the files that changed only.
            new_entries.append(entry)
        else:
            new_entries.append(FileEntry(rel, *_stat_key(st), checked, info.id))
    return new_entries, new_blobs


class StoredEvidence:
    """A project's evidence read through the store (an :class:`~.view.EvidenceView`).

    A workflow's records are rebuilt from the object files the first time a check asks
    for them, indexed as the loader indexes them, and kept for the next few workflows; a
    gate of one workflow never reads another's rows. Holds the store (and with it the
    cache's shared lock) open until :meth:`close`.
    """

    KEEP = 64
    """(workflow, kind) pairs whose records stay in memory (a fleet is assessed a workflow
    at a time, and a check asks for one kind)."""

    KEEP_RECORDS = 50_000
    """At most this many of their records (~1 KB each) stay, the pair asked for last
    always: a fleet's large kinds must not pile up in memory, pair after pair."""

    REBUILT = 50_000
    """Records rebuilt for queries' findings that stay in memory (~1 KB each)."""

    def __init__(self, store: EvidenceStore, report: SyncReport):
        self.store = store
        self.report = report
        self._indexes: dict[tuple[str, str], tuple[EvidenceIndex, int]] = {}
        self._kept = 0  # records the indexes hold
        self._files: dict[str, set[str]] | None = None
        self._counts: dict[tuple[str, str], int] | None = None
        self._count_one: tuple[str, dict[str, int]] | None = None
        self._later: tuple[datetime, dict[str, dict[str, int]], frozenset[str] | None] | None = None
        self._rebuilt: dict[tuple[int, str, int, str], Record] = {}
        self._rebuilt_from = store.recovered

    @property
    def files(self) -> list[EvidenceFile]:
        return self.store.files

    def _index(self, workflow: str, kind: str) -> EvidenceIndex:
        key = (workflow, kind)
        kept = self._indexes.pop(key, None)
        if kept is None:
            index = EvidenceIndex(self.store.batches([workflow], [kind]))
            size = len(index.records(workflow, kind))
            self._kept += size
            while self._indexes and (
                len(self._indexes) >= self.KEEP or self._kept > self.KEEP_RECORDS
            ):
                self._kept -= self._indexes.pop(next(iter(self._indexes)))[1]
            kept = (index, size)
        self._indexes[key] = kept  # most recently used last
        return kept[0]

    def records(self, workflow: str, kind: str) -> Sequence[Record]:
        return self._index(workflow, kind).records(workflow, kind)

    def by_key(self, workflow: str, kind: str, field: str) -> dict[Any, list[Record]]:
        return self._index(workflow, kind).by_key(workflow, kind, field)

    def files_of(self, workflow: str) -> set[str]:
        if self._files is None:
            owners: dict[str, set[str]] = {}
            for f in self.store.files:
                if f.blob:
                    workflows: Iterable[str] = self.store.infos[f.blob].workflows
                else:
                    workflows = {r.data.workflow for r in self.store.volatile.get(f.path, ())}
                for owner in workflows:
                    owners.setdefault(owner, set()).add(f.path)
            self._files = owners
        return set(self._files.get(workflow, ()))

    def __len__(self) -> int:
        return sum(f.records for f in self.store.files)

    def loose(self) -> EvidenceIndex:
        """The records the store read this time and holds in memory only (files with
        non-finite numbers or times past the calendar, and the valid part of files with
        errors), indexed."""
        batches = [b for b in [*self.report.volatile.values(), *self.report.partial.values()] if b]
        batches.sort(key=lambda batch: PurePosixPath(batch[0].source.path))
        return EvidenceIndex(batches)

    def created_after(self, limit: datetime) -> list[Record]:
        """Records created after ``limit`` (oldest first, then by file and line), as
        :meth:`EvidenceIndex.created_after` gives them: the stored ones found by a query
        (and only those rebuilt), the loose ones in memory."""
        cut = _us(limit)
        parts = [
            f"SELECT {_text(kind)} AS kind, r.blob, r.ord, f.path, r.line, "
            f"epoch_us(r.created_at) AS c FROM {table_name(kind)} r "
            f"JOIN files f ON f.blob = r.blob WHERE epoch_us(r.created_at) > {cut}"
            for kind in (self._kinds() if self._any_created_after(cut, None) else ())
        ]
        late = self.loose().created_after(limit)
        if parts:
            rows = self.engine.query(" UNION ALL ".join(parts))
            rebuilt = self.rebuild(
                (blob, kind, order, path) for kind, blob, order, path, *_ in rows
            )
            late += [rebuilt[(blob, kind, order)] for kind, blob, order, *_ in rows]
        late.sort(key=lambda r: (r.data.created_at, r.source.path, r.line or 0))
        return late

    def created_after_by_file(self, workflow: str, as_of: datetime) -> dict[str, int]:
        """Per file, how many records of ``workflow`` were created after ``as_of``. The
        first workflow asked for at an as-of time is counted alone (a gate of one workflow
        scans none of the others' rows); a second one at the same time counts every
        workflow in one query (a fleet gate)."""
        later = self._later
        if later is not None and later[0] == as_of:
            if later[2] is None or workflow in later[2]:
                return dict(later[1].get(workflow, {}))
            scope: frozenset[str] | None = None
        else:
            scope = frozenset((workflow,))
        self._later = (as_of, self._count_later(as_of, scope), scope)
        return dict(self._later[1].get(workflow, {}))

    def _count_later(
        self, as_of: datetime, scope: frozenset[str] | None
    ) -> dict[str, dict[str, int]]:
        """Per workflow of ``scope`` (every workflow for None) and file, the records
        created after ``as_of``."""
        counts: dict[str, dict[str, int]] = {}
        cut = _us(as_of)
        only = (
            ""
            if scope is None
            else " AND r.workflow IN (" + ", ".join(map(_text, sorted(scope))) + ")"
        )
        parts = [
            f"SELECT r.workflow, f.path, count(*) FROM {table_name(kind)} r "
            f"JOIN files f ON f.blob = r.blob WHERE epoch_us(r.created_at) > {cut}{only} "
            "GROUP BY r.workflow, f.path"
            for kind in (self._kinds() if self._any_created_after(cut, scope) else ())
        ]
        for owner, path, n in self.engine.query(" UNION ALL ".join(parts)) if parts else ():
            per = counts.setdefault(owner, {})
            per[path] = per.get(path, 0) + int(n)
        for records in self.store.volatile.values():
            for r in records:
                if r.data.created_at > as_of and (scope is None or r.data.workflow in scope):
                    per = counts.setdefault(r.data.workflow, {})
                    per[r.source.path] = per.get(r.source.path, 0) + 1
        return counts

    def _any_created_after(self, cut: int, scope: frozenset[str] | None) -> bool:
        """Whether a stored blob (with records of ``scope``'s workflows, or of any) may hold
        a record created after ``cut`` (epoch microseconds): when none does, a gate has
        nothing to ask the engine (a scan of every kind's rows, tens of milliseconds)."""
        return any(
            (info.newest_us is None or info.newest_us > cut)
            and info.records
            and (scope is None or not scope.isdisjoint(info.workflows))
            for info in self.store.infos.values()
        )

    def _kinds(self) -> list[str]:
        """The kinds the stored files hold records of."""
        return self.store.kinds()

    def duplicates(self, workflows: set[str]) -> list[AssayError]:
        """Every record whose (workflow, kind, id) an earlier record already has. Workflows
        with records the store does not hold (non-finite numbers, or the valid part of a
        file with errors) are compared in memory, exactly as without a store."""
        held = [*self.report.volatile.values(), *self.report.partial.values()]
        loose = {r.data.workflow for records in held for r in records}
        errors = self.store.duplicates(workflows - loose)
        if loose:
            batches = self.store.batches(loose)
            batches += [
                [r for r in records if r.data.workflow in loose]
                for records in self.report.partial.values()
            ]
            batches = [b for b in batches if b]
            batches.sort(key=lambda batch: PurePosixPath(batch[0].source.path))
            errors += EvidenceIndex(batches).duplicates
        return errors

    def count(self, workflows: Iterable[str], kind: str) -> int:
        """About how many records of ``kind`` the workflows have (a file's records count
        for each workflow it holds records of): what a query would scan. The first
        workflow asked for alone is counted from its own files; anything more from every
        file at once."""
        listed = list(workflows)
        asked = set(listed)
        if self._counts is None and len(asked) == 1:
            (workflow,) = asked
            if self._count_one is None:
                files = [f for f in self.store._files_for(asked) if f.blob]
                objects = self.store.objects_of(f.blob for f in files)
                per: dict[str, int] = {}
                for f in files:
                    for k, _, records, _ in objects.get(f.blob, ()):
                        per[k] = per.get(k, 0) + records
                self._count_one = (workflow, per)
            if self._count_one[0] == workflow:
                return self._count_one[1].get(kind, 0)
        if self._counts is None:
            counts: dict[tuple[str, str], int] = {}
            objects = self.store._objects
            for f in self.store.files:
                if not f.blob:
                    continue
                owners = self.store.infos[f.blob].workflows
                for k, _, records, _ in objects.get(f.blob, ()):
                    for owner in owners:
                        counts[(owner, k)] = counts.get((owner, k), 0) + records
            self._counts = counts
        return sum(self._counts.get((w, kind), 0) for w in listed)

    @property
    def queryable(self) -> bool:
        """Whether checks may run as queries: every valid record is in the engine's tables
        (records with non-finite numbers are held in memory only)."""
        return not self.store.volatile

    @property
    def engine(self) -> DuckDBEngine:
        return self.store.engine

    def rebuild(
        self, rows: Iterable[tuple[int, str, int, str]]
    ) -> dict[tuple[int, str, int], Record]:
        """The records of the rows (blob, kind, order, path) a query found, as the loader
        makes them, keyed by (blob, kind, order): only these lines are read.

        The records of recent calls are kept (up to :data:`REBUILT`): the checks of a
        batch name the same records (the first of a workflow's files), and a record
        rebuilt once also keeps its evidence pointer."""
        if self.store.recovered != self._rebuilt_from:
            self._rebuilt.clear()  # another database: blob numbers may mean other files
            self._rebuilt_from = self.store.recovered
        kept = self._rebuilt
        wanted = list(dict.fromkeys(rows))
        missing = [w for w in wanted if w not in kept]
        if len(kept) + len(missing) > self.REBUILT:
            kept.clear()
            missing = wanted
        if missing:
            decoded = self.store.lines((blob, kind, order) for blob, kind, order, _ in missing)
            if self.store.recovered != self._rebuilt_from:
                # Recovered while reading: what was kept is of the database before.
                kept.clear()
                self._rebuilt_from = self.store.recovered
                missing = wanted
                decoded = self.store.lines((blob, kind, order) for blob, kind, order, _ in wanted)
            for blob, kind, order, path in missing:
                row = decoded[(blob, kind, order)]
                source = SourceFile(path, self.store.infos[blob].sha256)
                kept[(blob, kind, order, path)] = Record(row.r, source, row.l, row.p)
        return {
            (blob, kind, order): kept[(blob, kind, order, path)]
            for blob, kind, order, path in wanted
        }

    def close(self) -> None:
        self._indexes.clear()
        self._kept = 0
        self._rebuilt.clear()
        self.store.close()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(when: datetime) -> int:
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
