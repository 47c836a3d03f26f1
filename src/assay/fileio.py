"""Atomic file writes: a reader never sees a half-written report or pack."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import UsageError


def write_atomic(path: str | Path, data: bytes | str | Iterable[bytes]) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename;
    ``data`` may come in chunks (written as they come: a report made as it is written),
    and an exception from them leaves nothing behind."""
    target = Path(path)
    payload: Iterable[bytes] = (
        [data.encode("utf-8")]
        if isinstance(data, str)
        else [data]
        if isinstance(data, bytes)
        else data
    )
    if target.exists() and not target.is_file():
        # A device or pipe (/dev/null, /dev/stdout, a FIFO): renaming over it would replace
        # it, so write into it; there is nothing partial to hide.
        try:
            with target.open("wb") as handle:
                for chunk in payload:
                    handle.write(chunk)
        except OSError as err:
            raise UsageError(f"cannot write {target}: {err.strerror}") from None
        return
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise UsageError(f"cannot write {target}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in payload:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {target}: {err.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
