"""Atomic writes: all or nothing, and never a rename over a device."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from assay.errors import UsageError
from assay.fileio import write_atomic


def test_writes_whole_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.json"
    write_atomic(target, "{}\n")
    write_atomic(target, b"[]\n")
    assert target.read_bytes() == b"[]\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


def test_a_fifo_is_written_into_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_atomic(fifo, "hello\n")
        assert os.read(reader, 100) == b"hello\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_dev_null_stays_a_device() -> None:
    write_atomic("/dev/null", "discarded\n")
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)


def test_unwritable_target_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="cannot write"):
        write_atomic(blocker / "child.json", "{}")
