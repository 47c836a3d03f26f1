"""Getting evidence into a project: import tool exports, seal and verify the evidence folders.

The evidence layer reads no project configuration (it sits below the loader); these are its
functions for a whole project, taking the project folder and finding the evidence folders
in its configuration (`assay.yaml`, else `[tool.assay]` in pyproject.toml, else the
defaults), without loading the rest of the project.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..evidence import importers
from ..evidence.importers import ImportResult, Source
from ..evidence.ledger import SealResult, VerifyResult, seal_folders, verify_folders
from ..evidence.readers import ReaderLimits
from ..load.config import load_config
from ..load.discover import DiskSource
from ..models.config import ProjectConfig


def project_config(project: str | Path) -> tuple[Path, ProjectConfig]:
    """The project folder and its configuration; UsageError when the folder is missing."""
    root = Path(project)
    if not root.is_dir():
        raise UsageError(f"project folder {project} does not exist")
    config, _ = load_config(DiskSource(root))
    return root, config


def limits_of(config: ProjectConfig) -> ReaderLimits:
    return ReaderLimits(config.max_yaml_bytes, config.max_evidence_bytes)


def evidence_folders(root: Path, config: ProjectConfig) -> list[tuple[Path, str]]:
    """The configured evidence folders that exist, each with the name messages show."""
    folders: list[tuple[Path, str]] = []
    for entry in dict.fromkeys(config.evidence):
        path = root / entry
        shown = Path(entry).as_posix()
        if path.is_file():
            raise UsageError(
                f"evidence entry {shown} is a file: a ledger seals a folder (list the folder "
                "that holds it under `evidence:` in assay.yaml)"
            )
        if path.is_dir():
            folders.append((path, shown))
    if not folders:
        raise UsageError(
            f"no evidence folder: {', '.join(config.evidence)} does not exist (create it, or "
            "list the folders holding the evidence under `evidence:` in assay.yaml)"
        )
    return folders


def import_evidence(
    source: str | Source,
    files: Sequence[str | Path],
    *,
    workflow: str,
    project: str | Path = ".",
    out_dir: str | Path | None = None,
    recorded_by: str | None = None,
    fields: Mapping[str, Any] | None = None,
    mapping: str | Path | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Convert the export ``files`` of ``source`` into evidence records of ``workflow`` in the
    project at ``project``: written under its (first) evidence folder, in
    ``<workflow>/<source>/<kind>.jsonl``, unless ``out_dir`` says otherwise.

    Nothing is written when any record is invalid; a re-import of the same export adds
    nothing. See :func:`assay.evidence.importers.import_evidence` for the rest.
    """
    root, config = project_config(project)
    return importers.import_evidence(
        source,
        files,
        workflow=workflow,
        evidence_dir=config.evidence[0],
        project_dir=root,
        out_dir=out_dir,
        recorded_by=recorded_by,
        fields=fields,
        mapping=mapping,
        now=now,
    )


def seal_evidence(
    project: str | Path = ".", *, by: str | None = None, now: datetime | None = None
) -> list[SealResult]:
    """Seal every evidence folder of the project (see :func:`assay.evidence.ledger.seal`)."""
    root, config = project_config(project)
    return seal_folders(evidence_folders(root, config), by=by, now=now, limits=limits_of(config))


def verify_evidence(
    project: str | Path = ".",
    *,
    now: datetime | None = None,
    heads: Mapping[str, str] | None = None,
) -> list[VerifyResult]:
    """Verify every evidence folder of the project against its ledger; a
    :class:`~assay.evidence.ledger.LedgerError` (exit 3) lists every problem. ``heads`` maps
    an evidence folder (as configured, e.g. ``evidence``) to the head hash a seal returned,
    which also catches entries dropped from the end of its ledger."""
    root, config = project_config(project)
    return verify_folders(
        evidence_folders(root, config), now=now, limits=limits_of(config), heads=heads
    )
