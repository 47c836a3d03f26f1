"""Where a project's files come from: a folder on disk, or a mapping of paths to bytes.

The loader sees only :class:`FileSource`: relative POSIX paths, folders walked in sorted
order with hidden entries skipped, and reads that fail with a located error. A policy
test or a pack re-assessment loads its inputs from memory through :class:`MemorySource`,
the same code path as a project on disk, with no temporary folder.

On disk, every path is resolved (symbolic links, ``..``) before it is used, and one that
leaves the project folder is refused, naming the link, unless the project's
configuration lists the folder it reaches under ``outside_folders``. Reads are bounded:
only regular files, checked against the size limit before a byte is read
(:func:`assay.parsing.files.read_regular`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from ..errors import ErrorCode, InputError, Location
from ..parsing.files import describe_os_error, read_regular, stream_regular

EntryKind = Literal["file", "folder"] | None
Role = Literal["config", "policy", "workflow", "waiver", "evidence", "ledger"]
"""What an input file is; ``ledger`` is the hash-chained ledger of an evidence folder."""


class FileSource(Protocol):
    """The files of one project, addressed by paths relative to its root."""

    @property
    def root(self) -> Path:
        """The project folder (for a source in memory: where it claims to come from)."""
        ...

    def kind(self, rel: str) -> EntryKind:
        """Whether ``rel`` is a file, a folder, or nothing."""
        ...

    def walk(self, rel: str) -> Iterator[str]:
        """The files below folder ``rel``, sorted, hidden files and folders skipped;
        InputError (code IO) naming a folder below it that cannot be listed."""
        ...

    def read(self, rel: str, max_bytes: int | None = None) -> bytes:
        """The bytes of file ``rel``; InputError (code IO) naming it when it cannot be read,
        (code SIZE) when it is larger than ``max_bytes``, checked before reading."""
        ...

    def stream(self, rel: str, max_bytes: int | None = None) -> Iterator[bytes]:
        """The bytes of file ``rel`` in pieces (of a few MiB), checked and bounded as
        :meth:`read` reads: a large file need not be in memory all at once."""
        ...

    def allow(self, folders: Sequence[str]) -> None:
        """Let paths reach these folders (relative to the root, or absolute) although they
        lie outside the project (the configuration's ``outside_folders``)."""
        ...


@dataclass(frozen=True)
class ProjectFile:
    """An input file of the project. Its bytes are read again on demand (and must still
    match the digest taken at load time), so that large evidence is not kept in memory."""

    path: str
    role: Role
    sha256: str
    source: FileSource = field(repr=False, compare=False)
    records: int | None = None
    size: int | None = None
    """Its size at load time: a later read is bounded by it."""
    stat: tuple[int, int, int, int, int] | None = field(default=None, repr=False, compare=False)
    """(size, mtime, ctime, inode, device) when the loader took it (evidence through the
    store), so a gate record need not stat the file again."""

    @property
    def data(self) -> bytes:
        content = self.source.read(self.path, self.size)
        if hashlib.sha256(content).hexdigest() != self.sha256:
            raise InputError(
                "file changed while Assay was running",
                location=Location(self.path),
                code=ErrorCode.IO,
            )
        return content


def _normal(rel: str) -> str:
    rel = posixpath.normpath(rel.replace("\\", "/"))
    return "" if rel == "." else rel


class DiskSource:
    """A project folder on disk."""

    def __init__(self, root: Path, outside: Sequence[Path] = ()) -> None:
        self._root = root
        self._real_root = Path(os.path.realpath(root))
        self._allowed: list[Path] = [self._real_root, *(Path(os.path.realpath(p)) for p in outside)]

    @property
    def root(self) -> Path:
        return self._root

    def allow(self, folders: Sequence[str]) -> None:
        for folder in folders:
            self._allowed.append(Path(os.path.realpath(self._root / folder)))

    def _inside(self, real: Path) -> bool:
        return any(real == base or real.is_relative_to(base) for base in self._allowed)

    def _resolve(self, rel: str) -> Path:
        """The real path of ``rel``; InputError naming ``rel`` (never what it points at)
        when it leaves the project and no configured outside folder holds it."""
        path = self._root / rel
        try:
            real = Path(os.path.realpath(path))
        except OSError as err:
            raise InputError(
                f"cannot use this path: {describe_os_error(err)}",
                location=Location(rel),
                code=ErrorCode.IO,
            ) from None
        if not self._inside(real):
            raise outside_error(rel)
        return real

    def kind(self, rel: str) -> EntryKind:
        path = self._root / rel
        try:
            info = os.stat(path)
        except OSError as err:
            if err.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise InputError(
                f"cannot use this path: {describe_os_error(err)}",
                location=Location(rel),
                code=ErrorCode.IO,
            ) from None
        if stat.S_ISDIR(info.st_mode):
            return "folder"
        return "file"  # reading it refuses what is not a regular file, naming it

    def walk(self, rel: str) -> Iterator[str]:
        # Symlinked folders are followed (a project may link in shared policies) when they
        # stay inside the project or an allowed outside folder; each real folder once: a
        # link back up the tree must not send the walk round for ever. The folders are
        # visited as os.walk(followlinks=True) visits them (depth first, in sorted order),
        # with plain strings: a fleet has thousands of files, and pathlib per file, a
        # relpath per file and a realpath per folder cost a good part of a one-workflow
        # gate. A folder reached through no symbolic link lies where its parent lies.
        self._resolve(rel)
        top = os.fspath(self._root / rel)
        prefix = relative(self._root, Path(top))
        prefix = "" if prefix == "." else prefix + "/"
        seen: set[str] = set()
        found: list[str] = []
        # (path, its name relative to the root with a trailing "/", its real path or None)
        stack: list[tuple[str, str, str | None]] = [(top, prefix, None)]
        while stack:
            path, shown, known = stack.pop()
            real = os.path.realpath(path) if known is None else known
            if real in seen:
                continue
            seen.add(real)
            if known is None and not self._inside(Path(real)):
                raise outside_error(shown.rstrip("/") or ".")
            try:
                with os.scandir(path) as entries:
                    listed = list(entries)
            except OSError as err:
                # Passed over, its files would be missed unseen (an incident the checks
                # must weigh): the project cannot be read as it is, so this is an error.
                raise InputError(
                    f"cannot list this folder: {describe_os_error(err)}",
                    location=Location(shown.rstrip("/") or "."),
                    code=ErrorCode.IO,
                ) from None
            folders: list[tuple[str, bool]] = []
            for entry in listed:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    if not entry.name.startswith("."):
                        folders.append((entry.name, entry.is_symlink()))
                elif not entry.name.startswith("."):
                    found.append(shown + entry.name)
            folders.sort()
            for name, link in reversed(folders):
                stack.append(
                    (f"{path}/{name}", f"{shown}{name}/", None if link else f"{real}/{name}")
                )
        yield from sorted(found)

    def read(self, rel: str, max_bytes: int | None = None) -> bytes:
        return read_regular(self._resolve(rel), rel, max_bytes)

    def stream(self, rel: str, max_bytes: int | None = None) -> Iterator[bytes]:
        return stream_regular(self._resolve(rel), rel, max_bytes)


def outside_error(rel: str) -> InputError:
    return InputError(
        "this path leads outside the project folder (through a symbolic link or '..'), "
        "which Assay refuses to read; list the folder it reaches under `outside_folders` "
        "in assay.yaml to allow it",
        location=Location(rel),
        code=ErrorCode.OUTSIDE,
    )


class MemorySource:
    """A project held in memory: relative POSIX path -> bytes."""

    def __init__(self, files: Mapping[str, bytes], root: Path | None = None) -> None:
        self._files = {_normal(path): data for path, data in files.items()}
        self._root = root or Path("<memory>")

    @property
    def root(self) -> Path:
        return self._root

    def kind(self, rel: str) -> EntryKind:
        rel = _normal(rel)
        if rel in self._files:
            return "file"
        prefix = f"{rel}/" if rel else ""
        return "folder" if any(path.startswith(prefix) for path in self._files) else None

    def walk(self, rel: str) -> Iterator[str]:
        rel = _normal(rel)
        prefix = f"{rel}/" if rel else ""
        for path in sorted(self._files):
            if path.startswith(prefix) and not any(
                part.startswith(".") for part in path[len(prefix) :].split("/")
            ):
                yield path

    def read(self, rel: str, max_bytes: int | None = None) -> bytes:
        try:
            data = self._files[_normal(rel)]
        except KeyError:
            raise InputError(
                "cannot read file: no such file", location=Location(rel), code=ErrorCode.IO
            ) from None
        if max_bytes is not None and len(data) > max_bytes:
            raise InputError(
                f"file is {len(data)} bytes, larger than the limit of {max_bytes} bytes",
                location=Location(rel),
                code=ErrorCode.SIZE,
            )
        return data

    def stream(self, rel: str, max_bytes: int | None = None) -> Iterator[bytes]:
        data = self.read(rel, max_bytes)
        for start in range(0, len(data), 1 << 23):
            yield data[start : start + (1 << 23)]

    def allow(self, folders: Sequence[str]) -> None:
        """Nothing lies outside a project held in memory."""


def relative(root: Path, path: Path) -> str:
    """The path as reports show it: relative to the project root (``..`` when outside), so
    that reports do not depend on where the project is checked out."""
    return Path(os.path.relpath(path, root)).as_posix()


def read_file(path: Path, display: str, max_bytes: int | None = None) -> bytes:
    """Read a whole regular file (bounded), turning OS errors into a located input error."""
    return read_regular(Path(os.path.realpath(path)), display, max_bytes)
