"""SARIF 2.1.0 for code-scanning tools (GitHub code scanning, Azure DevOps, IDE viewers).

One run; one rule per control (of every workflow); one result per control that did not
pass, per workflow. A waived control is a result with an external suppression, so code
scanning shows it as suppressed; a control whose waiver expired is a plain failure.
Locations point at the evidence of the failing findings, or at the control in its policy
file when there is no evidence to point at, relative to ``%SRCROOT%``: the repository, so
that code scanning can place them. The CLI passes the project's folder inside the
repository as ``path_prefix`` (``compliance/`` when the project lives there), as it does
for the github format.

Every rule carries ``help`` (the remediation, as text and as Markdown with the control's
intent, framework mappings and where it is defined) and, for the controls of the bundled
catalog, a ``helpUri`` into the published catalog reference (docs/catalog.md). A
project's own controls have no published page, so their help is the Markdown alone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from assay._version import __version__
from assay.models.assessment import Assessment, ControlResult, canonical_json
from assay.models.policy import Severity
from assay.models.time import timestamp

from ._common import (
    FAILING,
    active_waivers,
    evidence_of,
    failing_findings,
    ordered_assessments,
    pointer_text,
    repository_path,
)
from .base import INFORMATION_URI
from .markdown import escape

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
ROOT = "%SRCROOT%"
CATALOG_DOCS = f"{INFORMATION_URI}/blob/main/docs/catalog.md"
"""The bundled catalog's reference, one heading (and anchor) per control."""
BUNDLED = "bundled/"
"""Where the policy files of the bundled catalog appear in reports."""
CONFIG = "assay.yaml"
"""The project's configuration: what names the bundled catalog (``policies: [bundled]``)."""
FINGERPRINT = "assayControl/v1"

LEVEL: dict[Severity, str] = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
}
# GitHub code scanning ranks alerts by this score (critical > 9.0, high 7.0-8.9, ...).
SECURITY_SEVERITY: dict[Severity, str] = {
    "critical": "9.5",
    "high": "8.0",
    "medium": "5.5",
    "low": "2.0",
}


def format_sarif(assessments: Sequence[Assessment], *, path_prefix: str = "") -> str:
    """Render assessments as one SARIF 2.1.0 log (canonical JSON); ``path_prefix`` is the
    project folder relative to the repository root (``""``: the project is the root)."""
    ordered = ordered_assessments(assessments)
    controls: dict[str, ControlResult] = {}
    for assessment in ordered:
        for control in assessment.controls:
            controls.setdefault(control.id, control)
    rule_ids = sorted(controls)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    results = [
        _result(assessment, control, index[control.id], path_prefix)
        for assessment in ordered
        for control in sorted(assessment.controls, key=lambda c: c.id)
        if control.status in FAILING or control.status == "waived"
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "assay",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(controls[rule_id]) for rule_id in rule_ids],
            }
        },
        "originalUriBaseIds": {
            ROOT: {
                "description": {
                    "text": "The root of the repository; the Assay project (assay.yaml) is "
                    + (f"its folder {path_prefix}." if path_prefix else "the repository root.")
                }
            }
        },
        "results": results,
        "properties": {
            "workflows": [
                {
                    "id": a.workflow.id,
                    "release": a.release,
                    "as_of": timestamp(a.as_of),
                    "risk_class": a.risk_class.id,
                    "compliant": a.compliant,
                }
                for a in ordered
            ]
        },
    }
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return canonical_json(log).decode()


def _rule(control: ControlResult) -> dict[str, Any]:
    mappings = control.mappings.model_dump(mode="json")
    tags = ["compliance", *(f"{k}:{v}" for k, values in sorted(mappings.items()) for v in values)]
    rule: dict[str, Any] = {
        "id": control.id,
        "name": _pascal(control.title),
        "shortDescription": {"text": control.title},
        "fullDescription": {"text": control.intent},
        "help": {"text": control.remediation, "markdown": _help_markdown(control)},
        "defaultConfiguration": {"level": LEVEL[control.severity]},
        "properties": {
            "severity": control.severity,
            "security-severity": SECURITY_SEVERITY[control.severity],
            "mappings": mappings,
            "tags": tags,
        },
    }
    if control.policy.file.startswith(BUNDLED):
        # GitHub's heading anchors: lower case, spaces to hyphens.
        rule["helpUri"] = f"{CATALOG_DOCS}#{control.id.lower()}"
    return rule


_MAPPING_NAMES = {
    "eu_ai_act": "EU AI Act",
    "nist_ai_rmf": "NIST AI RMF",
    "iso_42001": "ISO/IEC 42001",
    "other": "Other",
}


def _help_markdown(control: ControlResult) -> str:
    """What a code-scanning reader needs to act on the alert: the intent, how to fix it,
    what it implements and where it is defined."""
    out = [
        f"**{escape(control.title)}** ({control.severity})",
        "",
        escape(control.intent),
        "",
        f"**Remediation:** {escape(control.remediation)}",
    ]
    mappings = control.mappings.model_dump(mode="json")
    refs = [
        f"{_MAPPING_NAMES.get(key, key)} {', '.join(escape(v) for v in values)}"
        for key, values in mappings.items()
        if values
    ]
    if refs:
        out.extend(["", f"**Implements:** {'; '.join(refs)}"])
    policy = control.policy
    where = f"{policy.file}:{policy.line}" if policy.line is not None else policy.file
    out.extend(
        [
            "",
            f"Defined in `{where}`; `assay explain {control.id}` shows its checks and "
            "parameters for a workflow.",
        ]
    )
    return "\n".join(out)


def _result(
    assessment: Assessment, control: ControlResult, rule_index: int, prefix: str
) -> dict[str, Any]:
    workflow = assessment.workflow.id
    findings = failing_findings(control)
    lines = [f"[{workflow}] {control.id} {control.status}: {control.summary}"]
    if control.blocked_by:
        lines.append(f"Blocked by: {', '.join(sorted(control.blocked_by))}")
    for check_id, finding in findings:
        pointers = ", ".join(pointer_text(p) for p in finding.evidence)
        lines.append(f"- {check_id}: {finding.message}" + (f" ({pointers})" if pointers else ""))
    key = f"{workflow}\x00{control.id}".encode()
    result: dict[str, Any] = {
        "ruleId": control.id,
        "ruleIndex": rule_index,
        "level": "warning" if control.status == "waived" else "error",
        "message": {"text": "\n".join(lines)},
        "locations": _locations(control, prefix),
        "partialFingerprints": {FINGERPRINT: hashlib.sha256(key).hexdigest()},
        "properties": {
            "workflow": workflow,
            "release": assessment.release,
            "status": control.status,
            "severity": control.severity,
            "blocked_by": sorted(control.blocked_by),
            "conditions": _conditions(control),
            "waivers": [
                {"id": w.id, "state": w.state, "expires_at": timestamp(w.expires_at)}
                for w in sorted(control.waivers, key=lambda w: w.id)
            ],
        },
    }
    if control.status == "waived":
        waivers = active_waivers(control)
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{w.reason} (waiver {w.id}, approved by {w.approved_by}, "
                f"until {timestamp(w.expires_at)})",
                "location": _physical(w.source.file, w.source.line, prefix),
            }
            for w in waivers
        ] or [{"kind": "external", "status": "accepted", "justification": control.summary}]
    return result


def _conditions(control: ControlResult) -> list[dict[str, str]]:
    """The CEL behind the failing findings, once per check and condition (for the curious:
    the message says it in words)."""
    seen: dict[tuple[str, str], None] = {}
    for check_id, finding in failing_findings(control):
        if finding.condition:
            seen.setdefault((check_id, finding.condition), None)
    return [{"check": check, "condition": condition} for check, condition in seen]


def _locations(control: ControlResult, prefix: str) -> list[dict[str, Any]]:
    pointers = evidence_of(finding for _, finding in failing_findings(control))
    if pointers:
        return [_physical(p.file, p.line, prefix) for p in pointers]
    if control.policy.file.startswith(BUNDLED):
        # The bundled catalog is installed with Assay, not in the repository: code scanning
        # could not open it. The line of the repository that brings the control in is the
        # project's configuration (the rule's help names the catalog line).
        return [_physical(CONFIG, None, prefix)]
    return [_physical(control.policy.file, control.policy.line, prefix)]


def _physical(path: str, line: int | None, prefix: str) -> dict[str, Any]:
    uri = sarif_uri(repository_path(prefix, path))
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": ROOT}}
    if line is not None and line >= 1:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def sarif_uri(path: str) -> str:
    """A relative URI reference: percent-encode everything but ``/`` (spaces, commas, and a
    colon that would otherwise read as a URI scheme)."""
    return quote(path.replace("\\", "/"), safe="/")


def _pascal(title: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words) or "Control"
