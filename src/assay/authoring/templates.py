"""The evidence templates shipped with Assay: one per kind, a Markdown document for the
kinds that are documents (postmortems, reviews), YAML for the others."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UsageError
from ..models.config import bundled_path


def templates_dir() -> Path:
    return bundled_path("evidence_templates")


def template_path(kind: str) -> Path:
    """The template of ``kind`` (``<kind>.md`` or ``<kind>.yaml``)."""
    for suffix in (".md", ".yaml"):
        path = templates_dir() / f"{kind}{suffix}"
        if path.is_file():
            return path
    raise UsageError(f"no template for evidence kind {kind!r} in {templates_dir()}")


def schema_line(file: Path, schema: str, root: Path) -> str:
    """The yaml-language-server line of ``file`` (in the project at ``root``) for the bundled
    ``schema`` (e.g. ``workflow.schema.json``): a path that resolves from the file, relative
    when Assay is installed inside the project (a ``.venv`` there), else absolute (the
    language server reads both)."""
    target = bundled_path("schemas", schema).resolve()
    if target.is_relative_to(root.resolve()):
        where = Path(os.path.relpath(target, file.parent.resolve())).as_posix()
    else:
        where = target.as_posix()
    return f"# yaml-language-server: $schema={where}\n"
