"""Project configuration: where policies, workflows, waivers and evidence live.

Entries are paths relative to the project root, except one name: ``bundled`` in
``policies`` stands for the control catalog and risk classes shipped inside Assay
(``assay/bundled/policies`` in the installed package), so a project needs no copy of them.
A folder of the project that is itself called ``bundled`` takes precedence: entries are
paths first. That is also what lets a re-assessment from an audit pack, which carries the
bundled files under ``bundled/``, use the embedded copies rather than the installed ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from .base import StrictModel

BUNDLED = "bundled"
"""The `policies` entry that names the policies shipped with Assay."""

BUNDLED_ROOT = Path(__file__).resolve().parent.parent / "bundled"
"""Where the package keeps its bundled data: `policies/`, `schemas/`, `evidence_templates/`."""


def bundled_path(*parts: str) -> Path:
    """A path inside the bundled data, e.g. ``bundled_path("schemas", "workflow.schema.json")``."""
    return BUNDLED_ROOT.joinpath(*parts)


BUNDLED_POLICIES = bundled_path("policies")
"""The bundled control catalog and risk classes."""


class ProjectConfig(StrictModel):
    """`assay.yaml` at the project root; every key has a default."""

    policies: list[str] = ["policies"]
    """Folders (or files) holding the control catalog and the risk classes; `bundled` names the
    catalog and classes shipped with Assay."""
    workflows: list[str] = ["workflows"]
    """Folders (or files) holding workflow definitions."""
    waivers: list[str] = ["waivers"]
    """Folders (or files) holding waivers."""
    evidence: list[str] = ["evidence"]
    """Folders holding evidence files (.json, .jsonl, .yaml, .yml, .md)."""
    engine: Literal["rows", "duckdb", "spark"] | None = None
    """Where checks run unless `--engine` or `$ASSAY_ENGINE` says otherwise: `rows` (in
    memory), `duckdb` (the evidence store in `.assay/`), `spark` (the store's tables run on
    Apache Spark; needs the `spark` extra and Java 17). Unset: by the evidence's size."""
    max_yaml_bytes: int = Field(default=5_000_000, ge=1)
    """Largest YAML or Markdown file accepted (a guard against resource exhaustion)."""
    max_evidence_bytes: int = Field(default=1_000_000_000, ge=1)
    """Largest JSON or JSONL evidence file accepted."""
    outside_folders: list[str] = []
    """Folders outside the project folder that inputs may come from, relative to the project
    folder or absolute (e.g. `../shared/policies`). Any other path that leads outside the
    project (a `..` entry, a symbolic link to `~/.git-credentials` or `/dev/zero`) is refused,
    naming the path and never quoting what it points at."""
