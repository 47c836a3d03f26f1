"""Reading an input file safely: only regular files, never more than a limit.

``path.read_bytes()`` on an evidence "file" that is a symbolic link to ``/dev/zero`` reads
gigabytes before any size check, and on a named pipe (FIFO) it blocks for ever. So a
file is opened without blocking and without following a final symbolic link, checked on
the open descriptor (a regular file, no larger than the limit: no race between the check
and the read), and read with a bound. Errors name the file as the project shows it and
never quote what it holds.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from ..errors import ErrorCode, InputError, Location

_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
}
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def _io_error(display: str, message: str) -> InputError:
    return InputError(message, location=Location(display), code=ErrorCode.IO)


def describe_os_error(err: OSError) -> str:
    if err.errno == errno.ENAMETOOLONG:
        return "the path or one of its names is too long for the file system"
    if err.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if err.errno == errno.ELOOP:
        return "too many levels of symbolic links"
    if err.errno == errno.ENOENT:
        return "no such file"
    return (err.strerror or "the file cannot be read").lower()


def read_regular(path: Path, display: str, max_bytes: int | None = None) -> bytes:
    """The bytes of regular file ``path`` (shown as ``display``); InputError (code IO, or
    SIZE over ``max_bytes``) for anything else. ``path`` should already be resolved: a
    symbolic link as its last component is refused (ELOOP), not followed."""
    # The file's size in one read (one more byte to see the end): a file read in pieces
    # and joined would be in memory twice, for a moment.
    chunks = list(stream_regular(path, display, max_bytes, first=None))
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def stream_regular(
    path: Path, display: str, max_bytes: int | None = None, *, first: int | None = 1 << 23
) -> Iterator[bytes]:
    """The bytes of regular file ``path`` in pieces of at most 8 MiB after the first, which
    is at most ``first`` bytes (None: the file's size), checked and bounded as
    :func:`read_regular` reads: a large file need not be in memory all at once."""
    try:
        fd = os.open(path, _FLAGS | getattr(os, "O_NOFOLLOW", 0))
    except IsADirectoryError:
        raise _io_error(display, "expected a file, found a folder") from None
    except OSError as err:
        raise _io_error(display, f"cannot read file: {describe_os_error(err)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise _io_error(display, f"expected a regular file, found {kind}")
        if max_bytes is not None and info.st_size > max_bytes:
            raise InputError(
                f"file is {info.st_size} bytes, larger than the limit of {max_bytes} bytes",
                location=Location(display),
                code=ErrorCode.SIZE,
            )
        limit = info.st_size if max_bytes is None else max_bytes
        remaining = limit + 1  # one byte more tells a file that grew since fstat
        step = info.st_size + 1 if first is None else first
        while remaining > 0:
            chunk = os.read(fd, min(remaining, step))
            if not chunk:
                break
            remaining -= len(chunk)
            if max_bytes is not None and remaining <= 0:
                raise InputError(
                    f"file is larger than the limit of {max_bytes} bytes (it grew while read)",
                    location=Location(display),
                    code=ErrorCode.SIZE,
                )
            yield chunk
            step = 1 << 23
    except OSError as err:
        raise _io_error(display, f"cannot read file: {describe_os_error(err)}") from None
    finally:
        os.close(fd)
