"""Where the project sits in its repository, for formats that name files to code hosts.

Reports name files relative to the project (``evidence/x.jsonl``); GitHub annotations and
code scanning want them relative to the repository (``compliance/evidence/x.jsonl`` when
the project is the repository's ``compliance/`` folder). The repository is the nearest
folder above the project holding ``.git`` (a folder, or the file of a linked worktree or
submodule); outside any repository, the working folder when the project is inside it (CI
runs at the checkout's root).
"""

from __future__ import annotations

from pathlib import Path


def repository_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``.git``."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def repository_prefix(project_dir: Path) -> str:
    """The project folder relative to its repository (POSIX, ``""`` when it is the root,
    or when the project lies outside both the repository and the working folder)."""
    project = project_dir.resolve()
    top = repository_root(project) or Path.cwd().resolve()
    try:
        rel = project.relative_to(top)
    except ValueError:
        return ""
    text = rel.as_posix()
    return "" if text == "." else text


__all__ = ["repository_prefix", "repository_root"]
