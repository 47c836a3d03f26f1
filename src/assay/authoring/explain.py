"""`assay explain`: what a control requires, with which parameters, and its last verdict."""

from __future__ import annotations

from ..load.project import Project
from ..models.assessment import Assessment
from ..resolve import lineage, plain_params, typed_value


def explain_control(project: Project, control_id: str, assessment: Assessment | None = None) -> str:
    """A plain-text explanation of ``control_id``; with an assessment, for that workflow."""
    control = project.controls[control_id]
    src = project.source(f"control:{control_id}")
    out = [
        f"{control.id} — {control.title}",
        f"  defined at {src.file}:{src.line}",
        f"  severity: {control.severity}",
        "",
        "Intent:",
        f"  {control.intent.strip()}",
        "",
    ]
    classes = [
        c.id
        for c in project.classes.values()
        if any(control_id in r.controls for r in lineage(project, c.id))
    ]
    out.append(f"Required at classes: {', '.join(classes) or 'none'}")
    hc = [
        c.id for c in project.classes.values() if c.hypercare and control_id in c.hypercare.controls
    ]
    if hc:
        out.append(f"Required during hypercare at: {', '.join(hc)}")
    out.append(f"Requires: {', '.join(control.requires) or 'nothing'}")
    out.append(f"Evidence: {', '.join(control.evidence)}")
    if control.applies_if:
        out.append(f"Applies if: {control.applies_if}")
    out += ["", "Checks:"]
    for check in control.checks:
        out.append(f"  - {check.id} ({check.kind}, on {check.evidence}): {check.description}")
    out += ["", "Parameters:"]
    result = None
    if assessment is not None:
        try:
            result = assessment.control(control_id)
        except KeyError:
            result = None
    for name, spec in sorted(control.params.items()):
        out.append(f"  {name}: {spec.description} (stricter: {spec.stricter})")
        if result is not None and name in result.params:
            out.append(
                f"      for {assessment.workflow.id}: {result.params[name]}"  # type: ignore[union-attr]
                f"  (from {result.param_sources.get(name, '?')})"
            )
        else:
            for class_id in classes:
                values: dict[str, object] = {}
                for risk in reversed(lineage(project, class_id)):
                    raw = risk.params.get(control_id, {}).get(name)
                    if raw is not None:
                        values["value"] = plain_params({name: typed_value(spec, raw)})[name]
                out.append(f"      {class_id}: {values.get('value', spec.default)}")
    m = control.mappings
    out += [
        "",
        "Mappings:",
        f"  EU AI Act: {', '.join(m.eu_ai_act) or '-'}",
        f"  NIST AI RMF: {', '.join(m.nist_ai_rmf) or '-'}",
        f"  ISO/IEC 42001: {', '.join(m.iso_42001) or '-'}",
    ]
    if m.other:
        out.append(f"  Other: {', '.join(m.other)}")
    out += ["", "Remediation:", f"  {control.remediation.strip()}"]
    if assessment is not None:
        out += ["", f"Verdict for {assessment.workflow.id} as of {assessment.as_of.isoformat()}:"]
        if result is None:
            out.append(
                f"  not required at class {assessment.risk_class.id}"
                + (" (the class is prohibited)" if assessment.risk_class.prohibited else "")
            )
        else:
            out.append(f"  {result.status.upper()}: {result.summary}")
            if result.requires:
                out.append(f"  depends on (at this class): {', '.join(result.requires)}")
            for outcome in result.checks:
                out.append(f"  [{outcome.status}] {outcome.id}: {outcome.summary}")
                for finding in outcome.findings:
                    if finding.outcome == "pass":
                        continue
                    where = ", ".join(
                        f"{e.file}:{e.line}" if e.line else e.file for e in finding.evidence
                    )
                    out.append(
                        f"      {finding.outcome}: {finding.message}"
                        + (f"  ({where})" if where else "")
                    )
                if outcome.omitted:
                    out.append(f"      … {outcome.omitted} more findings not shown")
            for waiver in result.waivers:
                out.append(
                    f"  waiver {waiver.id}: {waiver.state}, expires {waiver.expires_at.isoformat()}"
                )
    return "\n".join(out) + "\n"
