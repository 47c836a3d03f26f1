"""The project files a pack embeds: what the assessment read, checked against the
loaded project's bytes."""

from __future__ import annotations

import hashlib

from ..errors import ErrorCode, InputError
from ..load.discover import ProjectFile
from ..load.project import Project
from ..models.assessment import Assessment


def pack_inputs(assessment: Assessment, project: Project) -> list[ProjectFile]:
    """The project files a pack embeds, sorted by path.

    Every file the assessment lists as an input, plus every config, policy, workflow and
    waiver file (a re-assessment must be able to load the project again). Evidence files the
    assessment did not read (other workflows') stay out of the pack. A listed input that is
    missing or whose bytes changed since the assessment is an input error: the pack would
    not prove what it claims.
    """
    by_path = {f.path: f for f in project.files}
    chosen: dict[str, ProjectFile] = {f.path: f for f in project.files if f.role != "evidence"}
    for digest in assessment.inputs:
        found = by_path.get(digest.path)
        if found is None:
            raise InputError(
                f"input {digest.path} of the assessment is not in the project "
                f"{project.root}; re-run the assessment on this project",
                code=ErrorCode.PACK_INPUT,
            )
        chosen[found.path] = found
    for item in chosen.values():
        if item.path.startswith("../") or item.path.startswith("/"):
            # Re-assessment rebuilds the project from the pack; a file outside the project
            # folder has no place there (and verify refuses names that climb out).
            raise InputError(
                f"input {item.path} lies outside the project folder, so a pack cannot carry it "
                f"for re-assessment; link it into the project instead "
                f"(e.g. `ln -s ../policies policies`)",
                code=ErrorCode.PACK_INPUT,
            )
        actual = hashlib.sha256(item.data).hexdigest()
        expected = item.sha256
        listed = next((d.sha256 for d in assessment.inputs if d.path == item.path), expected)
        if actual != expected or actual != listed:
            raise InputError(
                f"input {item.path} changed since it was assessed "
                f"(sha256 {actual[:12]}…, assessed {listed[:12]}…); re-run the assessment",
                code=ErrorCode.PACK_INPUT,
            )
    return [chosen[path] for path in sorted(chosen)]
