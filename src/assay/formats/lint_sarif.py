"""SARIF 2.1.0 for `assay policy lint --format sarif` (code scanning of policy files)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._version import __version__
from .base import INFORMATION_URI

if TYPE_CHECKING:
    from ..authoring.lint import LintFinding


def lint_sarif(findings: Sequence[LintFinding]) -> str:
    """One rule per lint code, one result per finding, sorted."""
    codes = sorted({f.code for f in findings})
    results: list[dict[str, Any]] = []
    for f in sorted(findings):
        region: dict[str, int] = {}
        if f.location.line:
            region["startLine"] = f.location.line
            if f.location.column:
                region["startColumn"] = f.location.column
        physical: dict[str, Any] = {
            "artifactLocation": {"uri": f.location.file, "uriBaseId": "PROJECTROOT"}
        }
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
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, sort_keys=True) + "\n"
