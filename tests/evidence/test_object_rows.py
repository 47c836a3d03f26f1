"""Reading a few rows of a stored object: each row is its own line, checked by its CRC-32,
whether it is read alone or together with its neighbours."""

from __future__ import annotations

import zlib
from array import array
from itertools import accumulate
from pathlib import Path

import pytest

from assay.evidence import cache
from assay.evidence.cache import ObjectFiles


def _object(folder: Path, lines: list[bytes], orders: list[int]) -> tuple[ObjectFiles, str]:
    """One object of the given lines (rows numbered ``orders``), after another object in the
    same pack (so the object does not start at offset 0), with its row index."""
    objects = ObjectFiles(folder)
    objects.write("drift_log", b"an earlier object\n")
    data = b"".join(line + b"\n" for line in lines)
    entries = array("q", bytes(24 * len(lines)))
    entries[0::3] = array("q", orders)
    entries[1::3] = array("q", accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
    entries[2::3] = array("q", map(zlib.crc32, lines))
    locator = objects.write("drift_log", data)
    index = objects.write_index(entries, locator)
    objects.close()
    return ObjectFiles(folder), index


LINES = [f'{{"o":{i},"r":"{"x" * (i * 97 % 3000)}"}}'.encode() for i in range(60)]
ORDERS = [3 * i + 1 for i in range(60)]  # orders of a kind need not be consecutive


@pytest.mark.parametrize(
    "wanted",
    [
        [0],
        [59],
        list(range(60)),  # all: one run
        [5, 6, 7, 40, 41],  # two runs
        list(range(0, 60, 7)),  # scattered: some within the gap read together, some not
        [10, 10, 9],  # repeated and unordered
    ],
)
def test_the_rows_asked_for_are_the_lines_written(tmp_path: Path, wanted: list[int]) -> None:
    objects, index = _object(tmp_path, LINES, ORDERS)
    found = objects.read_rows("sha", "drift_log", index, [ORDERS[i] for i in wanted])
    assert found == {ORDERS[i]: LINES[i] for i in wanted}


def test_rows_far_apart_are_read_separately_and_still_right(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "_GAP", 0)  # only rows right next to each other share a read
    objects, index = _object(tmp_path, LINES, ORDERS)
    wanted = [0, 1, 2, 30, 59]
    found = objects.read_rows("sha", "drift_log", index, [ORDERS[i] for i in wanted])
    assert found == {ORDERS[i]: LINES[i] for i in wanted}


def test_a_damaged_row_is_never_given_even_when_read_with_its_neighbours(
    tmp_path: Path,
) -> None:
    objects, index = _object(tmp_path, LINES, ORDERS)
    (pack,) = (tmp_path / ObjectFiles.PACKS).glob("*.drift_log.jsonl")
    data = bytearray(pack.read_bytes())
    at = data.index(LINES[20])
    data[at + 3] ^= 0x01
    pack.write_bytes(bytes(data))
    fresh = ObjectFiles(tmp_path)
    assert fresh.read_rows("sha", "drift_log", index, [ORDERS[19], ORDERS[20]]) is None
    # The rows that are intact still read.
    assert fresh.read_rows("sha", "drift_log", index, [ORDERS[19]]) == {ORDERS[19]: LINES[19]}


def test_a_row_the_index_does_not_hold_or_a_cut_pack_gives_none(tmp_path: Path) -> None:
    objects, index = _object(tmp_path, LINES, ORDERS)
    assert objects.read_rows("sha", "drift_log", index, [2]) is None  # no row numbered 2
    (pack,) = (tmp_path / ObjectFiles.PACKS).glob("*.drift_log.jsonl")
    pack.write_bytes(pack.read_bytes()[:-40])
    assert ObjectFiles(tmp_path).read_rows("sha", "drift_log", index, [ORDERS[59]]) is None


def test_a_run_of_rows_is_read_in_bounded_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many adjacent rows are asked for, one read holds at most ``_RUN`` bytes
    (or a single longer row): the rows read are the same."""
    objects, index = _object(tmp_path, LINES, ORDERS)
    monkeypatch.setattr(cache, "_RUN", 5000)
    sizes: list[int] = []
    pread = cache.os.pread

    def counted(fd: int, n: int, at: int) -> bytes:
        sizes.append(n)
        return pread(fd, n, at)

    monkeypatch.setattr(cache.os, "pread", counted)
    found = objects.read_rows("sha", "drift_log", index, ORDERS)
    assert found == dict(zip(ORDERS, LINES, strict=True))
    longest = max(len(line) + 1 for line in LINES)
    assert len(sizes) > 1 and max(sizes) <= max(5000, longest)
