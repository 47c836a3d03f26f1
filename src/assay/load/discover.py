"""Where a project's files come from: a folder on disk, or a mapping of paths to bytes.

The loader sees only :class:`FileSource`: relative POSIX paths, folders walked in sorted
order with hidden entries skipped, and reads that fail with a located error. A policy
test or a pack re-assessment loads its inputs from memory through :class:`MemorySource`,
the same code path as a project on disk, with no temporary folder.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from ..errors import ErrorCode, InputError, Location

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
        """The files below folder ``rel``, sorted, hidden files and folders skipped."""
        ...

    def read(self, rel: str) -> bytes:
        """The bytes of file ``rel``; InputError (code IO) naming it when it cannot be read."""
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

    @property
    def data(self) -> bytes:
        content = self.source.read(self.path)
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

    def __init__(self, root: Path) -> None:
        self._root = root

    @property
    def root(self) -> Path:
        return self._root

    def kind(self, rel: str) -> EntryKind:
        path = self._root / rel
        if path.is_file():
            return "file"
        if path.is_dir():
            return "folder"
        return None

    def walk(self, rel: str) -> Iterator[str]:
        # Symlinked folders are followed (a project may link in shared policies), each real
        # folder once: a link back up the tree must not send the walk round for ever.
        seen: set[str] = set()
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self._root / rel, followlinks=True):
            real = os.path.realpath(dirpath)
            if real in seen:
                dirnames[:] = []
                continue
            seen.add(real)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in filenames:
                if not name.startswith("."):
                    found.append(relative(self._root, Path(dirpath) / name))
        yield from sorted(found)

    def read(self, rel: str) -> bytes:
        return read_file(self._root / rel, rel)


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

    def read(self, rel: str) -> bytes:
        try:
            return self._files[_normal(rel)]
        except KeyError:
            raise InputError(
                "cannot read file: no such file", location=Location(rel), code=ErrorCode.IO
            ) from None


def relative(root: Path, path: Path) -> str:
    """The path as reports show it: relative to the project root (``..`` when outside), so
    that reports do not depend on where the project is checked out."""
    return Path(os.path.relpath(path, root)).as_posix()


def read_file(path: Path, display: str) -> bytes:
    """Read a whole file, turning OS errors into a located input error."""
    try:
        return path.read_bytes()
    except PermissionError:
        raise InputError(
            "cannot read file: permission denied", location=Location(display), code=ErrorCode.IO
        ) from None
    except IsADirectoryError:
        raise InputError(
            "expected a file, found a folder", location=Location(display), code=ErrorCode.IO
        ) from None
    except OSError as err:
        raise InputError(
            f"cannot read file: {err.strerror}", location=Location(display), code=ErrorCode.IO
        ) from None
