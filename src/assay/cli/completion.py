"""Shell completion of workflow and control ids (click's ``shell_complete``).

A completion runs on every Tab, so it reads only what it needs, without validating: the
``id`` of every mapping in the workflow files, the ``id`` of every control in the catalog
files, of the project named by ``--project`` on the command line so far (default: the
working folder). It never fails: a project that does not load completes nothing (the
command itself will say why).

Enable it with ``eval "$(_ASSAY_COMPLETE=bash_source assay)"`` (``zsh_source``,
``fish_source`` for those shells); see the README.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

from ..errors import AssayError
from ..load.config import load_config, with_bundled
from ..load.discover import DiskSource, FileSource
from ..models.config import ProjectConfig
from ..parsing.yamlsafe import load_yaml

_YAML = (".yaml", ".yml")
_TESTS = (".test.yaml", ".test.yml")


def _documents(source: FileSource, entries: list[str], limit: int) -> Iterator[Any]:
    for entry in entries:
        kind = source.kind(entry)
        paths = [entry] if kind == "file" else list(source.walk(entry)) if kind else []
        for rel in paths:
            name = rel.lower()
            if not name.endswith(_YAML) or name.endswith(_TESTS):
                continue
            try:
                value, _ = load_yaml(source.read(rel), rel, max_bytes=limit)
            except AssayError:
                continue
            yield from value if isinstance(value, list) else [value]


def _project(ctx: click.Context) -> tuple[FileSource, ProjectConfig]:
    folder = ctx.params.get("project_dir") or Path(".")
    source = DiskSource(Path(folder).resolve())
    config, _ = load_config(source)
    return with_bundled(source, config), config


def workflow_ids(ctx: click.Context) -> list[str]:
    """The ids of the project's workflows, sorted; none when it cannot be read."""
    try:
        source, config = _project(ctx)
        docs = _documents(source, config.workflows, config.max_yaml_bytes)
        ids = {d["id"] for d in docs if isinstance(d, dict) and isinstance(d.get("id"), str)}
    except (AssayError, OSError):
        return []
    return sorted(ids)


def control_ids(ctx: click.Context) -> list[str]:
    """The ids of the controls in the project's catalogs, sorted; none when unreadable."""
    try:
        source, config = _project(ctx)
        ids: set[str] = set()
        for doc in _documents(source, config.policies, config.max_yaml_bytes):
            if isinstance(doc, dict) and isinstance(doc.get("controls"), list):
                ids.update(
                    c["id"]
                    for c in doc["controls"]
                    if isinstance(c, dict) and isinstance(c.get("id"), str)
                )
    except (AssayError, OSError):
        return []
    return sorted(ids)


def complete_workflow(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    return [CompletionItem(i) for i in workflow_ids(ctx) if i.startswith(incomplete)]


def complete_control(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    return [CompletionItem(i) for i in control_ids(ctx) if i.startswith(incomplete)]
