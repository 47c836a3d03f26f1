"""Replaying a gate whose inputs have not changed.

A gate is a pure function of its inputs: the project's files, the options, ``--as-of`` and
the code (the determinism contract: same inputs, same report bytes). So when a gate runs
again with exactly the same inputs, its outputs and exit code are the ones recorded the last
time, and the gate replays them instead of assessing again, as a build cache replays an
action whose inputs are unchanged.

What makes a replay safe:

* The entry is found by a key over everything besides the files that can change an output:
  the options (resolved paths included), ``--as-of`` (a gate without it asks about *now*,
  never the same question twice, so it is neither recorded nor replayed), the terminal's
  colour and width when text goes to one, the ``ASSAY_*`` variables, the Python version and
  a fingerprint of the installed code (every file of the package, and the folders that hold
  its dependencies: an install or upgrade changes them).
* The entry lists every input file the gate read, with its SHA-256 and stat, and the stat of
  every folder it walked (adding, removing or renaming a file changes its folder's stat). A
  replay first checks them all: a file whose stat changed is hashed again, and any other
  difference means the gate runs. Nothing is recorded unless every file and folder was last
  changed well before the gate started (:data:`SETTLED_NS`), so a change made while the gate
  ran, or within the clock's granularity of its start, is never mistaken for the content it
  read.
* The entry is bound to this cache folder (:meth:`CacheDir.identity`): a cache committed into a
  repository, or copied from another checkout, is never replayed.
* It ends with the SHA-256 of everything before it; a damaged entry is ignored and replaced.
* The loader refuses evidence dated after the machine's clock: a record stands while the
  clock moves on, and is not replayed once the clock was set back before it.

``--no-cache``, an attestation and a signing key turn replay off.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import stat
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import orjson

from ..evidence.cache import CacheDir
from ..fileio import write_atomic

ENTRY_FORMAT = 1
MAX_ENTRIES = 8
"""Recorded gates kept per project (the most recently written win)."""
MAX_ENTRY_BYTES = 1 << 30
SETTLED_NS = 2_000_000_000
"""How long before the gate's start a file or folder must last have changed for the record
to trust its stat (coarse filesystem clocks tick in seconds)."""

_SUFFIX = ".gate"
_DIGEST_BYTES = 64  # the trailing SHA-256, hex
_CHUNK = 1 << 20


class Spool:
    """An output's UTF-8 bytes held in a file (a fleet's JSON report is hundreds of
    megabytes for a thousand workflows): read a chunk at a time, never whole."""

    def __init__(self, handle: IO[bytes], offset: int, length: int):
        self._handle = handle
        self._offset = offset
        self.length = length

    def chunks(self) -> Iterator[bytes]:
        self._handle.seek(self._offset)
        remaining = self.length
        while remaining:
            chunk = self._handle.read(min(_CHUNK, remaining))
            if not chunk:
                raise OSError(errno.EIO, "the recorded output ends early")
            remaining -= len(chunk)
            yield chunk


@dataclass(frozen=True)
class Output:
    """One output of the gate: text for standard output (``target`` None) or a file; the
    text in memory, or its bytes in a file (:class:`Spool`)."""

    target: str | None
    text: str | Spool
    color: bool = False

    def chunks(self) -> Iterator[bytes]:
        """The output in UTF-8, a chunk at a time."""
        if isinstance(self.text, Spool):
            return self.text.chunks()
        return _utf8_chunks(self.text)

    def length(self) -> int:
        """Its length in UTF-8 bytes."""
        if isinstance(self.text, Spool):
            return self.text.length
        return len(self.text) if self.text.isascii() else _utf8_length(self.text)


@dataclass(frozen=True)
class Recorded:
    """A recorded gate; a looked-up one reads its outputs from the record's file, kept open
    (the very file whose checksum was verified) until :meth:`close`."""

    exit_code: int
    outputs: tuple[Output, ...]
    handle: IO[bytes] | None = field(default=None, compare=False, repr=False)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()

    def __enter__(self) -> Recorded:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _code_fingerprint() -> str:
    """Every file of the installed package (size and times), and the folders its
    dependencies are installed in: a change of code or of any installed package changes it."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(sys.version.encode())
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            digest.update(
                f"{os.path.relpath(path, package)}\0{_stat_key(os.stat(path))}\n".encode()
            )
    for entry in sorted({p for p in sys.path if p and os.path.isdir(p)}):
        digest.update(f"{entry}\0{_stat_key(os.stat(entry))}\n".encode())
    return digest.hexdigest()


def _utf8_chunks(text: str) -> Iterator[bytes]:
    """``text`` in UTF-8, a megabyte of characters at a time (never a second whole copy)."""
    for at in range(0, len(text), _CHUNK):
        yield text[at : at + _CHUNK].encode("utf-8")


def _utf8_length(text: str) -> int:
    return sum(map(len, _utf8_chunks(text)))


class GateReplay:
    """The recorded gate for one invocation of one project."""

    def __init__(self, root: Path, key: str):
        self.root = root
        self.cache = CacheDir.for_project(root)
        self.key = key
        self.path = self.cache.path / "results" / f"{key}{_SUFFIX}"

    @classmethod
    def for_invocation(cls, root: Path, invocation: Mapping[str, object]) -> GateReplay:
        environment = {k: v for k, v in os.environ.items() if k.startswith("ASSAY_")}
        for name in ("NO_COLOR", "TERM", "COLUMNS"):
            environment[name] = os.environ.get(name, "")
        described = {
            "format": ENTRY_FORMAT,
            "code": _code_fingerprint(),
            "cwd": os.getcwd(),
            "project": str(root.resolve()),
            "environment": environment,
            "invocation": invocation,
        }
        key = hashlib.sha256(orjson.dumps(described, option=orjson.OPT_SORT_KEYS)).hexdigest()
        return cls(root, key)

    # -- replaying -------------------------------------------------------------------
    def lookup(self) -> Recorded | None:
        """The recorded outputs, when every input is still what the gate read; else None.
        The entry is checked a chunk at a time and its outputs are read from it when
        emitted: a replay holds a chunk of the report, never the report."""
        identity = self.cache.identity()
        if identity is None:
            return None
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - handed to the Recorded
        except OSError:
            return None
        try:
            found = self._read(handle, identity)
        except (OSError, ValueError, KeyError, TypeError):
            found = None
        except BaseException:
            handle.close()
            raise
        if found is None:
            handle.close()
        return found

    def _read(self, handle: IO[bytes], identity: str) -> Recorded | None:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            return None
        if st.st_size > MAX_ENTRY_BYTES or st.st_size <= _DIGEST_BYTES:
            return None
        body = st.st_size - _DIGEST_BYTES
        head = handle.readline(body)
        if not head.endswith(b"\n"):
            return None
        digest = hashlib.sha256(head)
        remaining = body - len(head)
        while remaining:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                return None
            digest.update(chunk)
            remaining -= len(chunk)
        if handle.read(_DIGEST_BYTES + 1) != digest.hexdigest().encode():
            return None
        header = orjson.loads(head)
        if header["format"] != ENTRY_FORMAT or header["key"] != self.key:
            return None
        if header["identity"] != identity or not self._unchanged(header):
            return None
        if time.time_ns() < header["clock_ns"]:
            # The loader refuses evidence that postdates the machine's clock, which only
            # moves on, except when it is set back: then the gate decides afresh.
            return None
        outputs, at = [], len(head)
        for item in header["outputs"]:
            length = int(item["length"])
            if length < 0:
                return None
            outputs.append(Output(item["target"], Spool(handle, at, length), item["color"]))
            at += length
        if at != body:
            return None
        return Recorded(int(header["exit_code"]), tuple(outputs), handle)

    def _unchanged(self, header: Mapping[str, object]) -> bool:
        folders = header["folders"]
        files = header["files"]
        assert isinstance(folders, list) and isinstance(files, list)
        root = str(self.root)
        for rel, key in folders:
            try:
                current: list[int] | None = _stat_key(os.stat(os.path.join(root, rel)))
            except OSError:
                current = None
            if current != key:
                return False
        for rel, key, sha256 in files:
            path = os.path.join(root, rel)
            try:
                if _stat_key(os.stat(path)) == key:
                    continue
                # Touched but perhaps not changed (a checkout, a copy): its content decides.
                with open(path, "rb") as handle:
                    if hashlib.file_digest(handle, "sha256").hexdigest() != sha256:
                        return False
            except OSError:
                return False
        return True

    @staticmethod
    def emit(recorded: Recorded) -> None:
        """Write the recorded outputs exactly as the gate wrote them."""
        import click

        for output in recorded.outputs:
            if output.target is None:
                decode = codecs.getincrementaldecoder("utf-8")().decode
                for chunk in output.chunks():
                    click.echo(decode(chunk), nl=False, color=output.color or None)
                click.echo(decode(b"", True), nl=False, color=output.color or None)
            else:
                write_atomic(output.target, output.chunks())

    # -- recording -------------------------------------------------------------------
    def record(
        self,
        recorded: Recorded,
        *,
        started_ns: int,
        folders: Sequence[str],
        files: Iterable[tuple[str, str, Sequence[int] | None]],
    ) -> bool:
        """Record a finished gate: ``folders`` are the project's configured input folders
        (walked again here) and any file whose absence matters (the config file), ``files``
        every input file read, as (path relative to the project, SHA-256, its stat key
        when the loader took one: a regular file's, before it was read, so it is not
        taken again; else None). Returns False (records nothing) when any of them changed
        too recently to be trusted, or the cache folder cannot be written."""
        settled = started_ns - SETTLED_NS
        try:
            folder_keys = self._walk(folders, settled)
            # A configured folder missing on disk (``bundled``) is served from the package,
            # which the key's code fingerprint covers; its absence is in the record.
            missing = tuple(f"{rel}/" for rel, key in folder_keys if key is None)
            file_keys = []
            root = os.fspath(self.root)
            given = list(files)
            taken = {rel: key for rel, _, key in given if key is not None}
            for rel, sha256 in sorted({(rel, sha256) for rel, sha256, _ in given}):
                known = taken.get(rel)
                if known is not None:
                    # A stat taken before the file was read: a change since then shows as
                    # another stat when the record is looked up, and the file is hashed.
                    if max(known[1], known[2]) >= settled:
                        return False
                    file_keys.append([rel, list(known), sha256])
                    continue
                # Plain strings: a fleet has thousands of input files.
                path = os.path.join(root, rel)
                if rel.startswith(missing) and not os.path.lexists(path):
                    continue
                st = os.stat(path)
                if not stat.S_ISREG(st.st_mode) or max(st.st_mtime_ns, st.st_ctime_ns) >= settled:
                    return False
                file_keys.append([rel, _stat_key(st), sha256])
        except (OSError, _Unsettled):
            return False
        if not self.cache.prepare():
            return False
        identity = self.cache.identity()
        if identity is None:
            return False
        try:
            self.path.parent.mkdir(mode=0o700, exist_ok=True)
        except OSError:
            return False
        # A fleet's report is tens to hundreds of megabytes: it is written and hashed a
        # chunk at a time, never whole.
        lengths = [o.length() for o in recorded.outputs]
        header = {
            "format": ENTRY_FORMAT,
            "key": self.key,
            "identity": identity,
            "exit_code": recorded.exit_code,
            "clock_ns": started_ns,
            "folders": folder_keys,
            "files": file_keys,
            "outputs": [
                {"target": o.target, "color": o.color, "length": n}
                for o, n in zip(recorded.outputs, lengths, strict=True)
            ],
        }
        head = orjson.dumps(header) + b"\n"
        if len(head) + sum(lengths) + _DIGEST_BYTES > MAX_ENTRY_BYTES:
            return False
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as out:
                digest = hashlib.sha256(head)
                out.write(head)
                for output in recorded.outputs:
                    for blob in output.chunks():
                        digest.update(blob)
                        out.write(blob)
                out.write(digest.hexdigest().encode())
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)
            return False
        self._prune()
        return True

    def _walk(self, folders: Sequence[str], settled: int) -> list[list[object]]:
        """The stat of every folder the loader walks (followed links, hidden ones skipped,
        as the loader does); a path that does not exist is recorded as missing. Folders
        are visited as ``os.walk(followlinks=True)`` visits them, with plain strings and
        one ``scandir`` each; only a folder reached through a symbolic link has its real
        path resolved (a fleet has hundreds of folders)."""
        keys: list[list[object]] = []
        seen: set[str] = set()
        root = os.fspath(self.root)
        for rel in sorted(set(folders)):
            top = os.path.join(root, rel)
            try:
                st = os.stat(top)
            except FileNotFoundError:
                keys.append([rel, None])
                continue
            if not stat.S_ISDIR(st.st_mode):
                continue  # a file: it is one of the files read
            # (path, its name relative to the root, its real path or None when unknown)
            stack: list[tuple[str, str, str | None]] = [(top, os.path.relpath(top, root), None)]
            while stack:
                path, shown, real = stack.pop()
                if real is None:
                    real = os.path.realpath(path)
                if real in seen:
                    continue
                seen.add(real)
                try:
                    with os.scandir(path) as entries:
                        listed = list(entries)
                except OSError:
                    continue  # as os.walk: a folder that cannot be listed is passed over
                st = os.stat(path)
                if max(st.st_mtime_ns, st.st_ctime_ns) >= settled:
                    raise _Unsettled
                keys.append([shown, _stat_key(st)])
                below: list[tuple[str, bool]] = []
                for entry in listed:
                    if entry.name.startswith("."):
                        continue
                    try:
                        if entry.is_dir():
                            below.append((entry.name, entry.is_symlink()))
                    except OSError:
                        continue
                below.sort()
                for name, link in reversed(below):
                    stack.append(
                        (
                            os.path.join(path, name),
                            os.path.join(shown, name),
                            None if link else os.path.join(real, name),
                        )
                    )
        return keys

    def _prune(self) -> None:
        folder = self.path.parent
        try:
            entries = [e for e in os.scandir(folder) if e.name.endswith(_SUFFIX)]
            entries.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
        except OSError:
            return
        for entry in entries[MAX_ENTRIES:]:
            try:
                os.unlink(entry.path)
            except OSError:
                continue


class _Unsettled(Exception):
    """A folder changed too recently for its stat to be trusted."""


__all__ = ["GateReplay", "Output", "Recorded", "Spool"]
