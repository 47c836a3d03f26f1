"""Bounded reads of regular files: the whole file, once in memory, and never more than the
limit even when the file grows while it is read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from assay.errors import InputError
from assay.parsing import files
from assay.parsing.files import read_regular


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every os.read the reader asks for."""
    asked: list[int] = []
    real = os.read

    def read(fd: int, n: int) -> bytes:
        asked.append(n)
        return real(fd, n)

    monkeypatch.setattr(files.os, "read", read)
    return asked


def test_a_file_is_read_in_one_piece(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(3 << 20)
    (tmp_path / "big.jsonl").write_bytes(data)
    asked = _reads(monkeypatch)
    assert read_regular(tmp_path / "big.jsonl", "big.jsonl", 10 << 20) == data
    # All of it in the first read (pieces joined would hold it twice), then the end.
    assert asked == [len(data) + 1, (10 << 20) + 1 - len(data)]


def test_a_file_larger_than_its_stat_said_is_read_whole_or_refused_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(100_000)
    path = tmp_path / "grows.jsonl"
    path.write_bytes(data)
    real = os.fstat

    def fstat(fd: int) -> Any:  # as if the file grew right after its stat
        info = real(fd)
        return os.stat_result((info.st_mode, *info[1:6], 1000, *info[7:]))

    monkeypatch.setattr(files.os, "fstat", fstat)
    assert read_regular(path, "grows.jsonl", 200_000) == data
    with pytest.raises(InputError, match="grew while read"):
        read_regular(path, "grows.jsonl", 50_000)
