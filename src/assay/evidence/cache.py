"""The project's cache folder (``.assay/``): where the evidence store keeps its database.

The folder is safe to delete at any time: everything in it is derived from the evidence
files and is rebuilt when missing, damaged, or written by another version. It ignores
itself for git (a ``.gitignore`` of ``*``, as pytest's cache does) and carries a
``CACHEDIR.TAG`` so that backup tools skip it.

Concurrent gates on one project coordinate through an advisory lock on ``lock``: any
number of readers share it, a writer (ingesting changed files) holds it alone. A gate that
cannot get the lock in time runs without the cache rather than waiting for ever.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import os
import secrets
import shutil
import time
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CACHE_DIR_NAME = ".assay"
STORE_LAYOUT = 5
"""Bumped whenever the store's tables change shape in a way the columns do not show."""

LOCK_TIMEOUT_S = 120.0
IDENTITY_NAME = "identity"
"""The marker file whose identity is the folder's (see :meth:`CacheDir.identity`)."""
_GAP = 4096
"""Rows of one object at most this many bytes apart are read together (the bytes between
are read and dropped: cheaper than another read)."""
_RUN = 1 << 20
"""... up to this many bytes in one read (a run never costs the memory of a whole object)."""
_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by Assay.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)


class LockTimeout(Exception):
    """Another process held the cache lock for longer than the timeout."""


class CacheDir:
    """The cache folder of one project."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def for_project(cls, root: Path) -> CacheDir:
        return cls(root / CACHE_DIR_NAME)

    @property
    def database(self) -> Path:
        return self.path / "evidence.duckdb"

    def prepare(self) -> bool:
        """Create the folder and its markers; False when it cannot be written (a read-only
        checkout): the store then runs in memory."""
        try:
            self.path.mkdir(mode=0o700, exist_ok=True)
            for name, text in (
                (".gitignore", "# Created by Assay: a cache, safe to delete.\n*\n"),
                ("CACHEDIR.TAG", _TAG),
            ):
                marker = self.path / name
                if not marker.exists():
                    marker.write_text(text, encoding="utf-8")
            with contextlib.suppress(FileExistsError):
                os.close(
                    os.open(self.path / IDENTITY_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                )
            return os.access(self.path, os.W_OK)
        except OSError:
            return False

    def identity(self) -> str | None:
        """Which cache folder this is: the device, inode and change time of its marker file
        (None before :meth:`prepare` made it). The system sets a file's change time when
        the file is created, and nobody can set it back: a cache folder copied, restored or
        committed into another checkout, however identical its bytes, has another identity,
        so what it holds is rebuilt, never trusted."""
        try:
            st = os.stat(self.path / IDENTITY_NAME)
        except OSError:
            return None
        return f"{st.st_dev}:{st.st_ino}:{st.st_ctime_ns}"

    @property
    def objects(self) -> ObjectFiles:
        return ObjectFiles(self.path / "objects")

    def wipe(self) -> None:
        """Remove the database (and its write-ahead log) and the objects."""
        for path in (self.database, self.database.with_name(self.database.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self.objects.prune(set())

    def lock(self) -> CacheLock:
        return CacheLock(self.path / "lock")


_HELD: dict[str, set[int]] = {}
"""Per lock file, the ids of this process's CacheLock objects that hold it: a project
loaded earlier in this process and not closed yet keeps its shared lock, and waiting for
it to go would wait for ever."""


class CacheLock:
    """The advisory lock of a cache folder: shared by readers, held alone by a writer."""

    def __init__(self, path: Path):
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._key = os.path.realpath(path)
        self.held: str | None = None

    def acquire(self, *, exclusive: bool, timeout: float = LOCK_TIMEOUT_S) -> None:
        """Take the lock (converting one already held); raise LockTimeout after ``timeout``,
        at once when another lock object of this process holds it and ``exclusive``."""
        import fcntl

        holders = _HELD.setdefault(self._key, set())
        if exclusive and holders - {id(self)}:
            raise LockTimeout("the evidence cache is held by this process")
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(self._fd, mode | fcntl.LOCK_NB)
                self.held = "exclusive" if exclusive else "shared"
                holders.add(id(self))
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout("the evidence cache is busy") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def release(self) -> None:
        import fcntl

        if self.held is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self.held = None
            _HELD.get(self._key, set()).discard(id(self))

    def close(self) -> None:
        """Release the lock and close its file (idempotent)."""
        if self._fd >= 0:
            self.release()
            os.close(self._fd)
            self._fd = -1


@dataclass(slots=True)
class NewObject:
    """An object being written (see :meth:`ObjectFiles.begin`)."""

    kind: str
    pack: str
    number: int
    """The object's number in its pack: what each of its rows starts with."""
    start: int
    """Its first byte in the pack."""
    length: int = 0
    crc: int = 0


class ObjectFiles:
    """The canonical JSON Lines of each stored blob and kind (one row a line: the object's
    number in its pack, the row's order, line and pointer in the evidence file, and the
    record as the codec encodes it). The engine ingests its typed tables from them, and
    records are rebuilt from them exactly.

    Objects are packed, as git packs loose objects: one ingest appends the objects of every
    blob it stores to one pack file per kind (``pack/<token>.<kind>.jsonl``), and their row
    indexes to one index pack (``pack/<token>.idx``). Creating a file costs far more than
    writing to one on some file systems (a third of a millisecond each here, thousands of
    them for a fleet); a pack is a handful of files whatever the number of blobs.

    An object is found by its *locator* (what the database keeps as its digest): the pack,
    the object's number in it, its byte range and its checksum, checked on every read, so a
    damaged object is found, never used. A pack is deleted once no stored object is in it.

    The checksum guards against damage, not against someone who can write the cache (they
    could as well write the evidence): CRC-32 with the length, several times faster than
    SHA-256 over the half-gigabyte of a large fleet's objects."""

    PACKS = "pack"

    def __init__(self, folder: Path):
        self.folder = folder
        self._indexes: dict[str, array[int]] = {}
        self._token: str | None = None
        self._open: dict[str, tuple[BinaryIO, list[int]]] = {}
        """Per pack file being written: the file and [bytes written, objects written]."""

    # -- writing ---------------------------------------------------------------------
    def _pack(self, suffix: str) -> tuple[str, BinaryIO, list[int]]:
        if self._token is None:
            self._token = f"{time.time_ns():x}-{os.getpid()}-{secrets.token_hex(4)}"
        name = f"{self._token}.{suffix}"
        held = self._open.get(name)
        if held is None:
            (self.folder / self.PACKS).mkdir(parents=True, exist_ok=True)
            # A new name every ingest ("x": never another writer's file); nothing refers to
            # a pack until the database does, after this writer flushed it.
            held = self._open[name] = (open(self.folder / self.PACKS / name, "xb"), [0, 0])
        return name, *held

    def begin(self, kind: str) -> NewObject:
        """Start the next object of ``kind`` in this ingest's pack: its rows are given by
        :meth:`append` (numbered ``number``), in as many parts as the caller likes, and it
        is whole at :meth:`end`. One object of a kind is written at a time."""
        name, _, state = self._pack(f"{kind}.jsonl")
        number = state[1]
        state[1] += 1
        return NewObject(kind, name, number, state[0])

    def append(self, obj: NewObject, data: bytes) -> None:
        """Append ``data`` (whole rows) to the object ``obj``."""
        _, out, state = self._pack(f"{obj.kind}.jsonl")
        out.write(data)
        state[0] += len(data)
        obj.length += len(data)
        obj.crc = zlib.crc32(data, obj.crc)

    def end(self, obj: NewObject) -> str:
        """Finish the object ``obj``; returns its locator."""
        _, out, _ = self._pack(f"{obj.kind}.jsonl")
        out.flush()  # the engine reads the pack as soon as the database refers to it
        return f"{obj.pack}:{obj.number}:{obj.start}:{_checksum_of(obj.crc, obj.length)}"

    def write(self, kind: str, data: bytes) -> str:
        """Append one object of ``kind`` to this ingest's pack; returns its locator."""
        obj = self.begin(kind)
        self.append(obj, data)
        return self.end(obj)

    def mark(self) -> dict[str, tuple[int, int]]:
        """Where this ingest's packs end now, for :meth:`rewind`."""
        return {name: (state[0], state[1]) for name, (_, state) in self._open.items()}

    def rewind(self, mark: dict[str, tuple[int, int]]) -> None:
        """Drop what was written to this ingest's packs since ``mark`` (objects begun and
        never used: nothing refers to them yet). A pack begun since is deleted: a file with
        errors is read again every run, and must not leave an empty pack each time."""
        for name, (out, state) in list(self._open.items()):
            if name not in mark:
                out.close()
                (self.folder / self.PACKS / name).unlink(missing_ok=True)
                del self._open[name]
                continue
            size, count = mark[name]
            out.flush()
            out.truncate(size)
            out.seek(size)
            state[0], state[1] = size, count

    def write_index(self, entries: array[int], obj: str) -> str:
        """Store where each row of the object ``obj`` (a locator) is: (its order in the
        evidence file, its offset in the object, the CRC-32 of its line), flat, by order;
        returns the index's locator, which names the object too. A check reads the few rows
        a finding shows without reading the object."""
        data = entries.tobytes()
        name, out, state = self._pack("idx")
        start = state[0]
        out.write(data)
        out.flush()
        state[0] += len(data)
        return f"{name}:0:{start}:{_checksum(data)}@{obj}"

    def close(self) -> None:
        """Finish this ingest's packs (the next write starts new ones)."""
        for out, _ in self._open.values():
            out.close()
        self._open.clear()
        self._token = None

    # -- reading ---------------------------------------------------------------------
    def locate(self, locator: str) -> tuple[Path, int]:
        """The pack file of an object and the object's number in it."""
        name, number, *_ = locator.split(":", 2)
        return self.folder / self.PACKS / name, int(number)

    def pack_name(self, locator: str) -> str:
        return locator.split(":", 1)[0]

    def _range(self, locator: str) -> bytes | None:
        """The bytes a locator names, or None when missing or not what was written."""
        try:
            name, _, start, digest = locator.split(":", 3)
            _, _, length = digest.rpartition(":")
            with open(self.folder / self.PACKS / name, "rb") as pack:
                pack.seek(int(start))
                data = pack.read(int(length))
        except (OSError, ValueError):
            return None
        return data if _checksum(data) == digest else None

    def read_rows(
        self, sha256: str, kind: str, index_digest: str, orders: Sequence[int]
    ) -> dict[int, bytes] | None:
        """The lines of the rows with the given orders (each checked by its CRC-32), or None
        when the object or its index is missing or not what was written."""
        index, _, digest = index_digest.partition("@")
        flat = self._indexes.get(index)
        if flat is None:
            data = self._range(index)
            if data is None or len(data) % 24:
                return None
            flat = array("q")
            flat.frombytes(data)
            if len(self._indexes) >= 4096:
                self._indexes.clear()
            self._indexes[index] = flat  # packs are never rewritten: never stale
        try:
            name, _, base, rest = digest.split(":", 3)
            size = int(rest.rpartition(":")[2])
            offset = int(base)
        except ValueError:
            return None
        keys = flat[0::3]
        spans: list[tuple[int, int, int, int]] = []  # (order, start, end, CRC-32) per row
        for order in sorted(set(orders)):
            at = bisect.bisect_left(keys, order)
            if at == len(keys) or keys[at] != order:
                return None
            end = flat[3 * at + 4] if at + 1 < len(keys) else size
            spans.append((order, flat[3 * at + 1], end, flat[3 * at + 2]))
        out: dict[int, bytes] = {}
        try:
            fd = os.open(self.folder / self.PACKS / name, os.O_RDONLY)
        except OSError:
            return None
        try:
            # Rows next to each other (or nearly) in the object are read in one go: a
            # finding's newest records and a workflow's rows of one file are usually a run.
            first = 0
            while first < len(spans):
                last = first
                while (
                    last + 1 < len(spans)
                    and spans[last + 1][1] - spans[last][2] <= _GAP
                    and spans[last + 1][2] - spans[first][1] <= _RUN
                ):
                    last += 1
                begin, stop = spans[first][1], spans[last][2]
                data = os.pread(fd, stop - begin, offset + begin)
                if len(data) != stop - begin:
                    return None
                for order, start, end, crc in spans[first : last + 1]:
                    line = data[start - begin : end - begin - 1]
                    if zlib.crc32(line) != crc:
                        return None
                    out[order] = line
                first = last + 1
        except OSError:
            return None
        finally:
            os.close(fd)
        return out

    def read(self, sha256: str, kind: str, digest: str) -> bytes | None:
        """The object's bytes, or None when it is missing or not what was written."""
        return self._range(digest)

    def prune(self, keep: set[str]) -> None:
        """Delete every pack whose name is not in ``keep`` (and anything else in the
        folder: objects of an older layout, stray files)."""
        # os.scandir, not Path.glob: this runs on every write (a new evidence file).
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return
        for entry in entries:
            if entry.name == self.PACKS and entry.is_dir(follow_symlinks=False):
                try:
                    packs = list(os.scandir(entry.path))
                except OSError:
                    continue
                for pack in packs:
                    if pack.name not in keep:
                        with contextlib.suppress(OSError):
                            os.unlink(pack.path)
            elif entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _checksum(data: bytes) -> str:
    return _checksum_of(zlib.crc32(data), len(data))


def _checksum_of(crc: int, length: int) -> str:
    return f"crc32:{crc:08x}:{length}"


def code_fingerprint() -> str:
    """SHA-256 of the code that decides what a valid record is and how it is stored: the
    evidence models, the codec, validation, the readers and the store itself. A cache
    written by any other code is rebuilt."""
    from ..models import codec, evidence, evidence_kinds
    from ..parsing import validate
    from . import index, readers, store
    from .engines import columns, duckdb

    digest = hashlib.sha256(f"layout {STORE_LAYOUT}\n".encode())
    modules = (evidence, evidence_kinds, codec, validate, index, store, columns, duckdb)
    files = [Path(m.__file__ or "") for m in modules]
    files += sorted(Path(readers.__file__ or "").parent.glob("*.py"))
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
