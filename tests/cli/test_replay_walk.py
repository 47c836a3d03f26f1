"""The folders a gate record lists are the ones os.walk(followlinks=True) visits, as the
loader walks them: hidden ones skipped, links followed, each real folder once."""

from __future__ import annotations

import os
import time
from pathlib import Path

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
