"""The renderers of `assay policy lint`: text lines, or SARIF 2.1.0 for code scanning of
policy files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol

from .._version import __version__
from ..models.lint import LintFinding
from ._common import repository_path
from .base import INFORMATION_URI
from .sarif import ROOT, sarif_uri


class LintFormat(StrEnum):
    """The formats of ``assay policy lint --format`` (values feed ``click.Choice``)."""

    TEXT = "text"
    SARIF = "sarif"


class LintFormatter(Protocol):
    """Render lint findings as text; pure and deterministic."""

    def __call__(self, findings: Sequence[LintFinding], /) -> str: ...


def lint_text(findings: Sequence[LintFinding]) -> str:
    """One line per finding, then the counts."""
    lines = [f.line() for f in findings]
    errors = sum(f.level == "error" for f in findings)
    warnings = len(findings) - errors
    lines.append(f"{errors} errors, {warnings} warnings")
    return "\n".join(lines) + "\n"


def lint_sarif(findings: Sequence[LintFinding], *, path_prefix: str = "") -> str:
    """One rule per lint code, one result per finding, sorted; URIs relative to the
    repository (``path_prefix``: the project's folder in it), as in the gate's SARIF."""
    codes = sorted({f.code for f in findings})
    results: list[dict[str, Any]] = []
    for f in sorted(findings):
        region: dict[str, int] = {}
        if f.location.line:
            region["startLine"] = f.location.line
            if f.location.column:
                region["startColumn"] = f.location.column
        uri = sarif_uri(repository_path(path_prefix, f.location.file))
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": ROOT}}
        if region:
            physical["region"] = region
        results.append(
            {
                "ruleId": f.code,
                "ruleIndex": codes.index(f.code),
                "level": "error" if f.level == "error" else "warning",
                "message": {"text": f.message},
                "locations": [{"physicalLocation": physical}],
            }
        )
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "assay-policy-lint",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [
                            {
                                "id": code,
                                "name": code.title().replace("-", ""),
                                "shortDescription": {"text": f"Assay policy lint: {code}"},
                            }
                            for code in codes
                        ],
                    }
                },
                "originalUriBaseIds": {
                    ROOT: {"description": {"text": "The root of the repository."}}
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, sort_keys=True) + "\n"


LINT_FORMATTERS: dict[LintFormat, LintFormatter] = {
    LintFormat.TEXT: lint_text,
    LintFormat.SARIF: lint_sarif,
}
