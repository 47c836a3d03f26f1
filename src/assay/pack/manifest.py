"""The pack's embedded files and `manifest.json`, the SHA-256 of each of them.

Attachment names are stable: project inputs keep their project-relative path under
``inputs/``; the generated files (``assessment.json``, ``resolved-policy.json``) sit at the
top. ``manifest.json`` lists every other attachment, so verification can tell a swapped,
missing or extra file from the original.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ErrorCode, InputError
from ..load.project import Project
from ..models.assessment import Assessment, canonical_json
from .inputs import pack_inputs

MANIFEST_NAME = "manifest.json"
ASSESSMENT_NAME = "assessment.json"
RESOLVED_POLICY_NAME = "resolved-policy.json"
INPUT_PREFIX = "inputs/"
MANIFEST_SCHEMA = "assay-pack-manifest/1"

# PDF/A-3 AFRelationship of each role: inputs are the source of the report, generated
# JSON is its data in machine-readable form.
_RELATIONSHIP = {
    "config": "Source",
    "policy": "Source",
    "workflow": "Source",
    "waiver": "Source",
    "evidence": "Source",
    "assessment": "Data",
    "resolved-policy": "Data",
    "manifest": "Supplement",
}

# MIME type of each file suffix, for the embedded files' /Subtype (PDF/A-3 requires one).
# YAML: RFC 9512; Markdown: RFC 7763; JSON Lines has no registered type, and
# application/jsonl is the name its community proposes.
_MIME = {
    ".json": "application/json",
    ".jsonl": "application/jsonl",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".toml": "application/toml",
    ".txt": "text/plain",
    ".csv": "text/csv",
}
DEFAULT_MIME = "application/octet-stream"


def mime_type(name: str) -> str:
    """The MIME type of an attachment by its suffix (``application/octet-stream`` if unknown)."""
    dot = name.rfind(".")
    return _MIME.get(name[dot:].lower(), DEFAULT_MIME) if dot > name.rfind("/") else DEFAULT_MIME


@dataclass(frozen=True)
class PackAttachment:
    """A file embedded in the pack."""

    name: str
    """Name inside the PDF, e.g. ``inputs/evidence/deploys.jsonl``."""
    data: bytes
    role: str
    """config, policy, workflow, waiver, evidence, assessment, resolved-policy or manifest."""
    description: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def mime_type(self) -> str:
        return mime_type(self.name)

    @property
    def relationship(self) -> str:
        return _RELATIONSHIP.get(self.role, "Unspecified")

    @property
    def path(self) -> str | None:
        """The project-relative path of an input, None for a generated file."""
        return self.name[len(INPUT_PREFIX) :] if self.name.startswith(INPUT_PREFIX) else None


def input_attachment_name(path: str) -> str:
    """The attachment name of a project input."""
    return INPUT_PREFIX + path


def inputs_digest(assessment: Assessment) -> str:
    """One SHA-256 over the assessment's input digests (path and SHA-256 of each file)."""
    listing = sorted((d.path, d.sha256) for d in assessment.inputs)
    return hashlib.sha256(canonical_json([list(item) for item in listing])).hexdigest()


def build_attachments(
    assessment: Assessment, project: Project, resolved_policy: Mapping[str, Any]
) -> list[PackAttachment]:
    """Every file the pack embeds, `manifest.json` included, sorted by name."""
    items = [
        PackAttachment(
            name=input_attachment_name(f.path),
            data=f.data,
            role=f.role,
            description=f"{f.role} file {f.path} (sha256 {f.sha256})",
        )
        for f in pack_inputs(assessment, project)
    ]
    items.append(
        PackAttachment(
            name=ASSESSMENT_NAME,
            data=assessment.canonical_json(),
            role="assessment",
            description="The assessment in canonical JSON: the verdict this pack reports",
        )
    )
    items.append(
        PackAttachment(
            name=RESOLVED_POLICY_NAME,
            data=canonical_json(resolved_policy),
            role="resolved-policy",
            description="The effective controls and parameters after inheritance and hypercare",
        )
    )
    manifest = build_manifest(assessment, items)
    items.append(PackAttachment(MANIFEST_NAME, manifest, "manifest", "SHA-256 of every file"))
    # Sorted by name: the PDF's EmbeddedFiles name tree must be in key order.
    return sorted(items, key=lambda a: a.name)


def build_manifest(assessment: Assessment, attachments: Sequence[PackAttachment]) -> bytes:
    """`manifest.json`: engine, as-of, workflow and the SHA-256 and size of each attachment."""
    return canonical_json(
        {
            "schema": MANIFEST_SCHEMA,
            "engine": assessment.engine.model_dump(mode="json"),
            "as_of": assessment.as_of.isoformat(),
            "workflow": assessment.workflow.id,
            "release": assessment.release,
            "inputs_digest": inputs_digest(assessment),
            "attachments": [
                {
                    "name": a.name,
                    "role": a.role,
                    "sha256": a.sha256,
                    "size": len(a.data),
                }
                for a in sorted(attachments, key=lambda a: a.name)
            ],
        }
    )


@dataclass(frozen=True)
class ManifestEntry:
    name: str
    role: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """A parsed `manifest.json`."""

    as_of: str
    workflow: str
    release: str | None
    engine_version: str
    inputs_digest: str
    entries: tuple[ManifestEntry, ...]


def parse_manifest(data: bytes) -> Manifest:
    """Read `manifest.json`; a malformed manifest is an InputError."""
    try:
        raw = json.loads(data)
        if not isinstance(raw, dict) or raw.get("schema") != MANIFEST_SCHEMA:
            raise ValueError(f"schema is not {MANIFEST_SCHEMA}")
        entries = tuple(
            ManifestEntry(str(e["name"]), str(e["role"]), str(e["sha256"]), int(e["size"]))
            for e in raw["attachments"]
        )
        return Manifest(
            as_of=str(raw["as_of"]),
            workflow=str(raw["workflow"]),
            release=None if raw.get("release") is None else str(raw["release"]),
            engine_version=str(raw["engine"]["version"]),
            inputs_digest=str(raw["inputs_digest"]),
            entries=entries,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"manifest.json is malformed: {exc}", code=ErrorCode.PACK_MANIFEST
        ) from exc
