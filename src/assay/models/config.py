"""Project configuration: where policies, workflows, waivers and evidence live."""

from __future__ import annotations

from pydantic import Field

from .base import StrictModel


class ProjectConfig(StrictModel):
    """`assay.yaml` at the project root; every key has a default."""

    policies: list[str] = ["policies"]
    """Folders (or files) holding the control catalog and the risk classes."""
    workflows: list[str] = ["workflows"]
    """Folders (or files) holding workflow definitions."""
    waivers: list[str] = ["waivers"]
    """Folders (or files) holding waivers."""
    evidence: list[str] = ["evidence"]
    """Folders holding evidence files (.json, .jsonl, .yaml, .yml, .md)."""
    max_yaml_bytes: int = Field(default=5_000_000, ge=1)
    """Largest YAML or Markdown file accepted (a guard against resource exhaustion)."""
    max_evidence_bytes: int = Field(default=1_000_000_000, ge=1)
    """Largest JSON or JSONL evidence file accepted."""
    outside_folders: list[str] = []
    """Folders outside the project folder that inputs may come from, relative to the project
    folder or absolute (e.g. `../shared/policies`). Any other path that leads outside the
    project (a `..` entry, a symbolic link to `~/.git-credentials` or `/dev/zero`) is refused,
    naming the path and never quoting what it points at."""
