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
import time
import zlib
from array import array
from collections.abc import Sequence
from pathlib import Path

CACHE_DIR_NAME = ".assay"
STORE_LAYOUT = 3
"""Bumped whenever the store's tables change shape in a way the columns do not show."""

LOCK_TIMEOUT_S = 120.0
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
            return os.access(self.path, os.W_OK)
        except OSError:
            return False

    def identity(self) -> str:
        """The folder's device and inode: a cache copied or committed into another checkout
        lives in another folder, so it does not match and is rebuilt, never trusted."""
        st = self.path.stat()
        return f"{st.st_dev}:{st.st_ino}"

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


class ObjectFiles:
    """The canonical JSON Lines of each stored blob and kind (one row a line: its order,
    line and pointer in the evidence file, and the record as the codec encodes it), named
    by the blob's SHA-256. The engine ingests its typed tables from them, and records are
    rebuilt from them exactly. Each file is written atomically; its checksum is kept in
    the database and checked on every read, so a damaged object is found, never used.

    The checksum guards against damage, not against someone who can write the cache (they
    could as well write the evidence): CRC-32 with the length, several times faster than
    SHA-256 over the half-gigabyte of a large fleet's objects."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._indexes: dict[tuple[str, str], array[int]] = {}

    def path(self, sha256: str, kind: str) -> Path:
        return self.folder / sha256[:2] / f"{sha256}.{kind}.jsonl"

    def index_path(self, sha256: str, kind: str) -> Path:
        return self.folder / sha256[:2] / f"{sha256}.{kind}.idx"

    def write_index(self, sha256: str, kind: str, entries: Sequence[tuple[int, int, int]]) -> str:
        """Store where each row of an object is: (its order in the evidence file, its
        offset in the object, the CRC-32 of its line), by order; returns the index's own
        checksum. A check reads the few rows a finding shows without reading the object."""
        flat = array("q", [value for entry in entries for value in entry])
        data = flat.tobytes()
        path = self.index_path(sha256, kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
        return _checksum(data)

    def read_rows(
        self, sha256: str, kind: str, index_digest: str, orders: Sequence[int]
    ) -> dict[int, bytes] | None:
        """The lines of the rows with the given orders (each checked by its CRC-32), or None
        when the object or its index is missing or not what was written."""
        cached = self._indexes.get((sha256, kind))
        if cached is None:
            try:
                data = self.index_path(sha256, kind).read_bytes()
            except OSError:
                return None
            if _checksum(data) != index_digest or len(data) % 24:
                return None
            cached = array("q")
            cached.frombytes(data)
            if len(self._indexes) >= 4096:
                self._indexes.clear()
            self._indexes[(sha256, kind)] = cached  # content-addressed: never stale
        flat = cached
        keys = flat[0::3]
        out: dict[int, bytes] = {}
        try:
            with open(self.path(sha256, kind), "rb") as obj:
                for order in sorted(set(orders)):
                    at = bisect.bisect_left(keys, order)
                    if at == len(keys) or keys[at] != order:
                        return None
                    start = flat[3 * at + 1]
                    end = flat[3 * at + 4] if at + 1 < len(keys) else None
                    obj.seek(start)
                    line = obj.read(end - start - 1) if end is not None else obj.readline()
                    line = line.rstrip(b"\n")
                    if zlib.crc32(line) != flat[3 * at + 2]:
                        return None
                    out[order] = line
        except OSError:
            return None
        return out

    def write(self, sha256: str, kind: str, data: bytes) -> str:
        """Store ``data``; returns its checksum (what :meth:`read` checks)."""
        path = self.path(sha256, kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
        return _checksum(data)

    def read(self, sha256: str, kind: str, digest: str) -> bytes | None:
        """The object's bytes, or None when it is missing or not what was written."""
        try:
            data = self.path(sha256, kind).read_bytes()
        except OSError:
            return None
        return data if _checksum(data) == digest else None

    def exists(self, sha256: str, kind: str) -> bool:
        return self.path(sha256, kind).is_file()

    def prune(self, keep: set[tuple[str, str]]) -> None:
        """Delete every object (and stray temporary file) not in ``keep``."""
        # os.scandir, not Path.glob: a fleet's cache holds thousands of objects, and this
        # runs on every write (a new evidence file).
        try:
            shards = [e.path for e in os.scandir(self.folder) if e.is_dir(follow_symlinks=False)]
        except OSError:
            return
        for shard in shards:
            try:
                entries = list(os.scandir(shard))
            except OSError:
                continue
            for entry in entries:
                name = entry.name
                sha, _, rest = name.partition(".")
                kind = rest.removesuffix(".jsonl").removesuffix(".idx")
                if name.startswith(".") or (sha, kind) not in keep:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


def _checksum(data: bytes) -> str:
    return f"crc32:{zlib.crc32(data):08x}:{len(data)}"


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
