"""The renderers of `assay explain`: plain text for a person, canonical JSON for tools.

Pure: an :class:`~assay.models.explain.Explanation` in, a string out; the CLI does the I/O.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from ..models.assessment import canonical_json
from ..models.explain import ExplainedVerdict, Explanation


class ExplainFormat(StrEnum):
    """The formats of ``assay explain --format`` (values feed ``click.Choice``)."""

    TEXT = "text"
    JSON = "json"


class ExplainFormatter(Protocol):
    """Render an explanation as text; pure and deterministic."""

    def __call__(self, explanation: Explanation, /) -> str: ...


def explain_json(explanation: Explanation) -> str:
    """The explanation as canonical JSON (the control result in the assessment's shape)."""
    return canonical_json(explanation.model_dump(mode="json")).decode()


def explain_text(e: Explanation) -> str:
    """Intent, where it is required, checks, parameters, mappings, remediation, verdict."""
    out = [
        f"{e.id} — {e.title}",
        f"  defined at {e.source.file}:{e.source.line}",
        f"  severity: {e.severity}",
        "",
        "Intent:",
        f"  {e.intent}",
        "",
    ]
    out.append(f"Required at classes: {', '.join(e.required_at) or 'none'}")
    if e.hypercare_at:
        out.append(f"Required during hypercare at: {', '.join(e.hypercare_at)}")
    out.append(f"Requires: {', '.join(e.requires) or 'nothing'}")
    out.append(f"Evidence: {', '.join(e.evidence)}")
    if e.applies_if:
        out.append(f"Applies if: {e.applies_if}")
    out += ["", "Checks:"]
    for check in e.checks:
        out.append(f"  - {check.id} ({check.kind}, on {check.evidence}): {check.description}")
    out += ["", "Parameters:"]
    for param in e.params:
        out.append(f"  {param.name}: {param.description} (stricter: {param.stricter})")
        if param.for_workflow is not None:
            mine = param.for_workflow
            out.append(f"      for {mine.workflow}: {mine.value}  (from {mine.source})")
        else:
            for at in param.by_class:
                out.append(f"      {at.risk_class}: {at.value}")
    m = e.mappings
    out += [
        "",
        "Mappings:",
        f"  EU AI Act: {', '.join(m.eu_ai_act) or '-'}",
        f"  NIST AI RMF: {', '.join(m.nist_ai_rmf) or '-'}",
        f"  ISO/IEC 42001: {', '.join(m.iso_42001) or '-'}",
    ]
    if m.other:
        out.append(f"  Other: {', '.join(m.other)}")
    out += ["", "Remediation:", f"  {e.remediation}"]
    if e.verdict is not None:
        out += _verdict_lines(e.verdict)
    return "\n".join(out) + "\n"


def _verdict_lines(v: ExplainedVerdict) -> list[str]:
    out = ["", f"Verdict for {v.workflow} as of {v.as_of.isoformat()}:"]
    if v.after_as_of:
        n = v.after_as_of
        out.append(
            f"  {n} evidence record{'s' if n != 1 else ''} created after this time "
            f"{'were' if n != 1 else 'was'} not seen (the evidence as it stood then)"
        )
    result = v.result
    if result is None:
        out.append(
            f"  not required at class {v.risk_class}"
            + (" (the class is prohibited)" if v.prohibited else "")
        )
        return out
    out.append(f"  {result.status.upper()}: {result.summary}")
    if result.requires:
        out.append(f"  depends on (at this class): {', '.join(result.requires)}")
    for outcome in result.checks:
        out.append(f"  [{outcome.status}] {outcome.id}: {outcome.summary}")
        for finding in outcome.findings:
            if finding.outcome == "pass":
                continue
            where = ", ".join(f"{p.file}:{p.line}" if p.line else p.file for p in finding.evidence)
            out.append(
                f"      {finding.outcome}: {finding.message}" + (f"  ({where})" if where else "")
            )
        if outcome.omitted:
            out.append(f"      … {outcome.omitted} more findings not shown")
    for waiver in result.waivers:
        out.append(f"  waiver {waiver.id}: {waiver.state}, expires {waiver.expires_at.isoformat()}")
    return out


EXPLAIN_FORMATTERS: dict[ExplainFormat, ExplainFormatter] = {
    ExplainFormat.TEXT: explain_text,
    ExplainFormat.JSON: explain_json,
}
