"""OSCAL 1.1.3 assessment results, for GRC tools that read NIST's machine-readable format.

One ``result`` per workflow: the workflow as a local component (the subject), the reviewed
controls (control ids in lower case, as OSCAL tokens), one observation per check with links
to its evidence files, one finding per control (``satisfied``/``not-satisfied``), and a risk
for every control that did not pass (``open``; ``deviation-approved`` when an active waiver
covers it). The input files are back-matter resources with their SHA-256.

Deterministic: every UUID is a version-5 UUID of a stable name under a fixed namespace, and
every timestamp is the as-of time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from assay.errors import UsageError
from assay.models.assessment import (
    Assessment,
    CheckResult,
    ControlResult,
    canonical_json,
)
from assay.models.time import timestamp

from ._common import (
    FAILING,
    active_waivers,
    failing_findings,
    ordered_assessments,
    pointer_text,
    verdict_word,
    waiver_sentence,
)
from .base import INFORMATION_URI

OSCAL_VERSION = "1.1.3"
NAMESPACE = uuid.UUID("3f0c6d3e-8a51-5b7e-9c1d-a55a7e0c0001")
"""Fixed namespace of Assay's OSCAL UUIDs; never change it, or every UUID changes."""
PROP_NS = f"{INFORMATION_URI}/ns/oscal"


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "ns": PROP_NS, "value": value}


def _href(path: str) -> str:
    return quote(path.replace("\\", "/"), safe="/")


def format_oscal(assessments: Sequence[Assessment]) -> str:
    """Render assessments as one OSCAL assessment-results document (canonical JSON)."""
    if not assessments:
        raise UsageError("an OSCAL assessment-results document needs at least one assessment")
    ordered = ordered_assessments(assessments)
    keys = [(a.workflow.id, a.release or "", timestamp(a.as_of)) for a in ordered]
    doc_key = "|".join("/".join(k) for k in keys)
    resources = _resources(ordered, doc_key)
    plan_uuid = _uuid("plan", doc_key)
    names = ", ".join(a.workflow.id for a in ordered)
    document = {
        "assessment-results": {
            "uuid": _uuid("assessment-results", doc_key),
            "metadata": {
                "title": f"Assay assessment results: {names}",
                "last-modified": max(timestamp(a.as_of) for a in ordered),
                "version": ordered[0].engine.version,
                "oscal-version": OSCAL_VERSION,
                "props": [_prop("generator", f"assay {ordered[0].engine.version}")],
            },
            "import-ap": {
                "href": f"#{plan_uuid}",
                "remarks": "The assessment plan is the Assay policy set named in back-matter.",
            },
            "results": [_result(a) for a in ordered],
            "back-matter": {"resources": resources},
        }
    }
    return canonical_json(document).decode()


def _resources(ordered: list[Assessment], doc_key: str) -> list[dict[str, Any]]:
    inputs = {(i.path, i.sha256): i for a in ordered for i in a.inputs}
    policies = sorted((p, s) for (p, s), i in inputs.items() if i.role in ("config", "policy"))
    plan: dict[str, Any] = {
        "uuid": _uuid("plan", doc_key),
        "title": "Assessment plan: the Assay policies and risk classes",
        "description": "Controls, checks and parameters evaluated by Assay.",
    }
    if policies:
        plan["rlinks"] = [_rlink(path, sha) for path, sha in policies]
    resources = [plan]
    for path, sha in sorted(inputs):
        item = inputs[(path, sha)]
        resource: dict[str, Any] = {
            "uuid": _uuid("input", path, sha),
            "title": path,
            "props": [_prop("role", item.role)],
            "rlinks": [_rlink(path, sha)],
        }
        if item.records is not None:
            resource["props"].append(_prop("records", str(item.records)))
        resources.append(resource)
    return resources


def _rlink(path: str, sha: str) -> dict[str, Any]:
    return {"href": _href(path), "hashes": [{"algorithm": "SHA-256", "value": sha}]}


def _result(a: Assessment) -> dict[str, Any]:
    wf = a.workflow
    key = (wf.id, a.release or "", timestamp(a.as_of))
    component = _uuid("component", *key)
    controls = sorted(a.controls, key=lambda c: c.id)
    observations: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    risks: list[dict[str, Any]] = []
    for control in controls:
        obs = [_observation(a, key, control, check, component) for check in control.checks]
        observations.extend(obs)
        risk = _risk(a, key, control, [o["uuid"] for o in obs])
        if risk:
            risks.append(risk)
        findings.append(_finding(key, control, [o["uuid"] for o in obs], risk))
    props = [
        _prop("workflow", wf.id),
        _prop("risk-class", a.risk_class.id),
        _prop("verdict", verdict_word(a).lower()),
        _prop("hypercare", "active" if a.hypercare.active else "inactive"),
    ]
    if a.release:
        props.append(_prop("release", a.release))
    result: dict[str, Any] = {
        "uuid": _uuid("result", *key),
        "title": f"Assay gate: {wf.id}" + (f" release {a.release}" if a.release else ""),
        "description": (
            f"{wf.name} ({wf.id}), risk class {a.risk_class.title}, as of "
            f"{timestamp(a.as_of)}: {verdict_word(a)}."
            + (f" Prohibited: {a.prohibited_reason}" if a.prohibited_reason else "")
        ),
        "start": timestamp(a.as_of),
        "end": timestamp(a.as_of),
        "props": props,
        "local-definitions": {
            "components": [
                {
                    "uuid": component,
                    "type": "software",
                    "title": wf.name,
                    "description": f"AI workflow {wf.id}, owned by {wf.owner}, launched "
                    f"{wf.launched.isoformat()}.",
                    "props": [_prop("workflow", wf.id)],
                    "status": {"state": "operational"},
                }
            ]
        },
        "reviewed-controls": {
            "control-selections": [
                {"include-controls": [{"control-id": c.id.lower()} for c in controls]}
                if controls
                else {"include-all": {}}
            ]
        },
    }
    if observations:
        result["observations"] = observations
    if risks:
        result["risks"] = risks
    if findings:
        result["findings"] = findings
    return result


def _observation(
    a: Assessment,
    key: tuple[str, str, str],
    control: ControlResult,
    check: CheckResult,
    component: str,
) -> dict[str, Any]:
    lines = [check.summary]
    for finding in check.findings:
        where = ", ".join(pointer_text(p) for p in finding.evidence)
        lines.append(f"{finding.outcome}: {finding.message}" + (f" ({where})" if where else ""))
    if check.omitted:
        lines.append(f"{check.omitted} more findings not shown.")
    observation: dict[str, Any] = {
        "uuid": _uuid("observation", *key, control.id, check.id),
        "title": f"{control.id} check {check.id}",
        "description": check.description,
        "props": [
            _prop("check-kind", check.kind),
            _prop("check-status", check.status),
            _prop("records", str(check.records)),
        ],
        "methods": ["TEST"],
        "subjects": [{"subject-uuid": component, "type": "component", "title": a.workflow.id}],
        "collected": timestamp(a.as_of),
        "remarks": "\n\n".join(lines),
    }
    digests = {(i.path, i.sha256) for i in a.inputs}
    files = sorted({(p.file, p.sha256, p.kind or "") for f in check.findings for p in f.evidence})
    evidence = []
    for file, sha, kind in files:
        item: dict[str, Any] = {
            "href": _href(file),
            "description": f"{kind + ' ' if kind else ''}evidence records in {file}",
            "props": [_prop("sha256", sha)],
        }
        if (file, sha) in digests:
            item["links"] = [{"href": f"#{_uuid('input', file, sha)}", "rel": "reference"}]
        evidence.append(item)
    if evidence:
        observation["relevant-evidence"] = evidence
    return observation


def _risk(
    a: Assessment, key: tuple[str, str, str], control: ControlResult, observations: list[str]
) -> dict[str, Any] | None:
    if control.status not in FAILING and control.status != "waived":
        return None
    lines = [control.summary]
    if control.blocked_by:
        lines.append(f"Blocked by: {', '.join(sorted(control.blocked_by))}.")
    for check_id, finding in failing_findings(control):
        where = ", ".join(pointer_text(p) for p in finding.evidence)
        lines.append(f"{check_id}: {finding.message}" + (f" ({where})" if where else ""))
    lines.extend(waiver_sentence(w) for w in sorted(control.waivers, key=lambda w: w.id))
    lines.append(f"Remediation: {control.remediation}")
    risk: dict[str, Any] = {
        "uuid": _uuid("risk", *key, control.id),
        "title": f"{control.id} {control.title}: {control.status} for {a.workflow.id}",
        "description": "\n\n".join(lines),
        "statement": f"Control {control.id} ({control.severity} severity) is not met: "
        f"{control.intent}",
        "props": [_prop("severity", control.severity), _prop("control-status", control.status)],
        "status": "deviation-approved" if control.status == "waived" else "open",
    }
    waivers = active_waivers(control)
    if waivers:
        risk["deadline"] = timestamp(min(w.expires_at for w in waivers))
    if observations:
        risk["related-observations"] = [{"observation-uuid": u} for u in observations]
    return risk


def _finding(
    key: tuple[str, str, str],
    control: ControlResult,
    observations: list[str],
    risk: dict[str, Any] | None,
) -> dict[str, Any]:
    if control.status == "pass":
        status = {"state": "satisfied", "reason": "pass"}
    elif control.status == "not_applicable":
        status = {"state": "satisfied", "reason": "other", "remarks": "Not applicable."}
    elif control.status == "waived":
        status = {"state": "not-satisfied", "reason": "other", "remarks": "Waived."}
    else:
        status = {"state": "not-satisfied", "reason": "fail"}
    finding: dict[str, Any] = {
        "uuid": _uuid("finding", *key, control.id),
        "title": f"{control.id} {control.title}",
        "description": control.summary,
        "props": [
            _prop("control-status", control.status),
            _prop("severity", control.severity),
        ],
        "target": {
            "type": "objective-id",
            "target-id": control.id.lower(),
            "title": control.title,
            "status": status,
        },
    }
    if observations:
        finding["related-observations"] = [{"observation-uuid": u} for u in observations]
    if risk:
        finding["related-risks"] = [{"risk-uuid": risk["uuid"]}]
    if control.waivers:
        finding["remarks"] = "\n\n".join(
            waiver_sentence(w) for w in sorted(control.waivers, key=lambda w: w.id)
        )
    return finding
