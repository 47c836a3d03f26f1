"""DiskSource.walk (scandir, plain strings) against the os.walk reference it replaced: the
same files, in the same order, the same refusal of a folder outside the project, on trees
with symbolic links (loops, links inside and outside, broken ones) and hidden entries."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from projectkit import copy_project

from assay.cli.main import main
from assay.errors import InputError
from assay.load.discover import DiskSource, outside_error, relative
from assay.load.project import _path_key, _suffix


def _reference(source: DiskSource, root: Path, rel: str) -> Iterator[str]:
    """The walk as it was written with os.walk (followlinks), realpath per folder and
    relpath per file."""
    source._resolve(rel)
    seen: set[str] = set()
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root / rel, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        if not source._inside(Path(real)):
            raise outside_error(relative(root, Path(dirpath)))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith("."):
                found.append(relative(root, Path(dirpath) / name))
    yield from sorted(found)


def _outcome(walk: Iterator[str]) -> list[str] | tuple[str, str]:
    try:
        return list(walk)
    except InputError as err:
        return ("error", str(err))


def _tree(tmp: Path) -> Path:
    root = tmp / "project"
    for rel in (
        "evidence/a/x.jsonl",
        "evidence/a/.hidden.jsonl",
        "evidence/b/deep/er/y.yaml",
        "evidence/b/z",
        "evidence/.cache/ignored.jsonl",
        "evidence/c.d/e.json",
        "policies/p.yaml",
    ):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
    shared = tmp / "shared"
    (shared / "sub").mkdir(parents=True)
    (shared / "sub" / "s.yaml").write_text("x", encoding="utf-8")
    (root / "evidence" / "b" / "loop").symlink_to(root / "evidence")  # back up the tree
    (root / "evidence" / "again").symlink_to(root / "evidence" / "a")  # a folder twice
    (root / "evidence" / "broken.jsonl").symlink_to(root / "nowhere")  # listed as a file
    (root / "evidence" / "linked.jsonl").symlink_to(root / "evidence" / "a" / "x.jsonl")
    return root


@pytest.mark.parametrize(
    "rel", ["evidence", "evidence/b", "", "policies", "./evidence/../evidence"]
)
def test_walk_matches_the_os_walk_reference(tmp_path: Path, rel: str) -> None:
    root = _tree(tmp_path)
    source = DiskSource(root)
    got = _outcome(source.walk(rel))
    assert got == _outcome(_reference(source, root, rel))
    assert isinstance(got, list) and got  # the tree is walked, not refused


def test_walk_refuses_a_folder_outside_exactly_as_before(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "evidence" / "b" / "out").symlink_to(tmp_path / "shared")
    source = DiskSource(root)
    got = _outcome(source.walk("evidence"))
    assert got == _outcome(_reference(source, root, "evidence"))
    assert got[0] == "error" and "evidence/b/out" in got[1]


def test_walk_follows_an_allowed_outside_folder_as_before(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "evidence" / "b" / "out").symlink_to(tmp_path / "shared")
    source = DiskSource(root)
    source.allow(["../shared"])
    got = _outcome(source.walk("evidence"))
    assert got == _outcome(_reference(source, root, "evidence"))
    assert "evidence/b/out/sub/s.yaml" in got
    assert _outcome(source.walk("../shared")) == _outcome(_reference(source, root, "../shared"))


def test_walk_of_a_project_reached_through_a_link(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    alias = tmp_path / "alias"
    alias.symlink_to(root)
    source = DiskSource(alias)
    assert _outcome(source.walk("evidence")) == _outcome(_reference(source, alias, "evidence"))


@pytest.mark.parametrize(
    "name", ["a.yaml", "a.b.yml", ".yaml", "a.", "a", "a..", "..a", "a.jsonl", "x.test.yaml"]
)
def test_suffix_is_purepath_suffix(name: str) -> None:
    assert _suffix(name) == PurePosixPath(name).suffix


def test_path_order_is_purepath_order() -> None:
    paths = ["a/b", "a-b", "a/b/c", "a.b/c", "a", "A/b", "a/b-c", "../x", "a b/c", "ab"]
    assert sorted(paths, key=_path_key) == sorted(paths, key=PurePosixPath)


def test_a_folder_that_cannot_be_listed_is_an_error_not_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Passed over, an unlistable evidence folder would hide its incidents from the checks
    and a gate could pass on what it never saw. The tests run as root, which reads any
    folder, so the refusal is the operating system's, made by scandir."""
    root = _tree(tmp_path)
    listing = os.scandir
    locked = os.fspath(root / "evidence" / "b" / "deep")

    def scandir(path: str) -> object:
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(InputError) as err:
        list(DiskSource(root).walk("evidence"))
    assert err.value.location is not None and err.value.location.file == "evidence/b/deep"
    assert "cannot list this folder" in str(err.value) and "ermission denied" in str(err.value)


def test_a_gate_on_a_folder_it_cannot_list_exits_2_naming_only_that_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_project(Path(__file__).resolve().parents[2] / "examples", tmp_path / "ex")
    listing = os.scandir
    locked = os.path.realpath(root / "evidence" / "claims-triage")

    def scandir(path: str) -> object:
        if os.path.realpath(os.fspath(path)) == locked:
            raise PermissionError(13, "Permission denied", path)
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code = main(["gate", "--project", str(root), "--all", "--as-of", "2026-11-20T12:00:00Z"])
    err = capsys.readouterr().err
    assert code == 2
    assert (
        err.strip()
        == "evidence/claims-triage: error[IO]: cannot list this folder: permission denied"
    )
