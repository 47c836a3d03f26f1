"""SARIF 2.1.0 for code-scanning tools (GitHub code scanning, Azure DevOps, IDE viewers).

One run; one rule per control (of every workflow); one result per control that did not
pass, per workflow. A waived control is a result with an external suppression, so code
scanning shows it as suppressed; a control whose waiver expired is a plain failure.
Locations point at the evidence of the failing findings, relative to ``PROJECTROOT``, or at
the control in its policy file when there is no evidence to point at.
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
)
from .base import INFORMATION_URI

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
ROOT = "PROJECTROOT"
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


def format_sarif(assessments: Sequence[Assessment]) -> str:
    """Render assessments as one SARIF 2.1.0 log (canonical JSON)."""
    ordered = ordered_assessments(assessments)
    controls: dict[str, ControlResult] = {}
    for assessment in ordered:
        for control in assessment.controls:
            controls.setdefault(control.id, control)
    rule_ids = sorted(controls)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    results = [
        _result(assessment, control, index[control.id])
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
            ROOT: {"description": {"text": "The root of the Assay project (assay.yaml)."}}
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
    return {
        "id": control.id,
        "name": _pascal(control.title),
        "shortDescription": {"text": control.title},
        "fullDescription": {"text": control.intent},
        "help": {"text": control.remediation},
        "defaultConfiguration": {"level": LEVEL[control.severity]},
        "properties": {
            "severity": control.severity,
            "security-severity": SECURITY_SEVERITY[control.severity],
            "mappings": mappings,
            "tags": tags,
        },
    }


def _result(assessment: Assessment, control: ControlResult, rule_index: int) -> dict[str, Any]:
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
        "locations": _locations(control),
        "partialFingerprints": {FINGERPRINT: hashlib.sha256(key).hexdigest()},
        "properties": {
            "workflow": workflow,
            "release": assessment.release,
            "status": control.status,
            "severity": control.severity,
            "blocked_by": sorted(control.blocked_by),
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
                "location": _physical(w.source.file, w.source.line),
            }
            for w in waivers
        ] or [{"kind": "external", "status": "accepted", "justification": control.summary}]
    return result


def _locations(control: ControlResult) -> list[dict[str, Any]]:
    pointers = evidence_of(finding for _, finding in failing_findings(control))
    if pointers:
        return [_physical(p.file, p.line) for p in pointers]
    return [_physical(control.policy.file, control.policy.line)]


def _physical(path: str, line: int | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(path), "uriBaseId": ROOT}}
    if line is not None and line >= 1:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def _uri(path: str) -> str:
    """A relative URI reference: percent-encode everything but ``/`` (spaces, commas, and a
    colon that would otherwise read as a URI scheme)."""
    return quote(path.replace("\\", "/"), safe="/")


def _pascal(title: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words) or "Control"
