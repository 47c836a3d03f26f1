"""The folders a gate record lists are the ones os.walk(followlinks=True) visits, as the
loader walks them: hidden ones skipped, links followed, each real folder once."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from assay.cli.replay import GateReplay


def _reference(root: Path, folders: list[str]) -> list[list[object]]:
    keys: list[list[object]] = []
    seen: set[str] = set()
    for rel in sorted(set(folders)):
        top = root / rel
        if not top.exists():
            keys.append([rel, None])
            continue
        if not top.is_dir():
            continue
        for dirpath, dirnames, _ in os.walk(top, followlinks=True):
            real = os.path.realpath(dirpath)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            if real in seen:
                dirnames[:] = []
                continue
            seen.add(real)
            st = os.stat(dirpath)
            key = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]
            keys.append([os.path.relpath(dirpath, root), key])
    return keys


def test_the_recorded_folders_are_the_ones_os_walk_visits(tmp_path: Path) -> None:
    project = tmp_path / "p"
    for folder in ("evidence/a/.hidden/x", "evidence/b/c", "evidence/z", "policies"):
        (project / folder).mkdir(parents=True)
    (tmp_path / "shared" / "deep").mkdir(parents=True)
    (project / "evidence" / "a" / "f.jsonl").write_text("")
    os.symlink("../../shared", project / "evidence" / "link")  # outside, followed
    os.symlink("..", project / "evidence" / "b" / "up")  # a loop: each folder once
    os.symlink("../../a", project / "evidence" / "b" / "c" / "to-a")
    os.symlink("a/f.jsonl", project / "evidence" / "file-link")  # a file: no folder
    folders = ["evidence", "policies", "missing", "assay.yaml"]
    got = GateReplay(project, "0" * 64)._walk(folders, time.time_ns() + 10**12)
    assert got == _reference(project, folders)
    shown = [rel for rel, _ in got]
    assert "missing" in shown and "evidence/link/deep" in shown
    assert not any(".hidden" in str(rel) for rel in shown)
    assert shown.count("evidence/a") == 1  # not again through b/c/to-a


def _settle(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 60_000_000_000))


def _key(path: Path) -> tuple[int, int, int, int, int]:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


@pytest.mark.replay
def test_a_stat_the_loader_took_is_recorded_and_a_later_change_is_still_seen(
    tmp_path: Path,
) -> None:
    import hashlib

    from assay.cli.replay import Output, Recorded

    project = tmp_path / "p"
    (project / "evidence").mkdir(parents=True)
    taken, other = project / "evidence" / "taken.jsonl", project / "evidence" / "other.jsonl"
    taken.write_text("{}\n")
    other.write_text("[]\n")
    for path in (taken, other, project / "evidence", project):
        _settle(path)
    size, mtime, ctime, inode, device = _key(taken)
    # What the loader saw (another inode than now: the record must keep it, not stat again).
    key = (size, mtime, ctime, inode + 1000, device)
    files = [
        ("evidence/taken.jsonl", hashlib.sha256(b"{}\n").hexdigest(), key),
        ("evidence/other.jsonl", hashlib.sha256(b"[]\n").hexdigest(), None),
    ]
    replay = GateReplay(project, "1" * 64)
    recorded = Recorded(1, (Output(None, "out"),))
    # A stat taken within the clock's granularity of a change is not trusted.
    assert not replay.record(recorded, started_ns=time.time_ns(), folders=[], files=files)
    time.sleep(2.2)  # ctime cannot be set back: let the files settle
    assert replay.record(recorded, started_ns=time.time_ns(), folders=["evidence"], files=files)
    header = json.loads(replay.path.read_bytes().split(b"\n", 1)[0])
    assert header["files"] == [
        ["evidence/other.jsonl", list(_key(other)), files[1][1]],
        ["evidence/taken.jsonl", list(key), files[0][1]],
    ]
    found = replay.lookup()  # that stat differs now: hashed, the same content
    assert found is not None
    with found:
        assert found.exit_code == 1
        assert [b"".join(o.chunks()) for o in found.outputs] == [b"out"]
    taken.write_text("{}\n{}\n")  # changed after the loader's stat: another stat now
    assert replay.lookup() is None
