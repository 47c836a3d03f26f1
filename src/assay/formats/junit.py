"""JUnit XML for CI test-report viewers (valid against the Jenkins xUnit ``junit-10`` schema).

One ``<testsuite>`` per workflow, one ``<testcase>`` per control: ``<failure>`` for fail,
error and blocked, ``<skipped>`` for not applicable and waived (an expired waiver is a plain
failure). No host name, no durations, and the only timestamp is the as-of time.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from assay.models.assessment import Assessment, ControlResult
from assay.models.time import timestamp

from ._common import (
    FAILING,
    active_waivers,
    counts_sentence,
    failing_findings,
    one_line,
    ordered_assessments,
    ordered_controls,
    pointer_text,
    verdict_word,
    waiver_sentence,
)

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def format_junit(assessments: Sequence[Assessment]) -> str:
    """Render assessments as a JUnit XML report (``<testsuites>``)."""
    ordered = ordered_assessments(assessments)
    root = ET.Element("testsuites", {"name": "assay"})
    total = failures = 0
    for assessment in ordered:
        suite = _suite(assessment)
        root.append(suite)
        total += len(assessment.controls)
        failures += sum(1 for c in assessment.controls if c.status in FAILING)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("time", "0")
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _suite(assessment: Assessment) -> ET.Element:
    wf = assessment.workflow
    controls = ordered_controls(assessment)
    skipped = sum(1 for c in controls if c.status in ("waived", "not_applicable"))
    failures = sum(1 for c in controls if c.status in FAILING)
    suite = ET.Element(
        "testsuite",
        {
            "name": _xml(wf.id),
            "tests": str(len(controls)),
            "failures": str(failures),
            "errors": "0",
            "skipped": str(skipped),
            "time": "0",
            "timestamp": timestamp(assessment.as_of),
        },
    )
    properties = ET.SubElement(suite, "properties")
    values = {
        "assay.version": assessment.engine.version,
        "workflow.id": wf.id,
        "workflow.name": wf.name,
        "workflow.owner": wf.owner,
        "risk_class": assessment.risk_class.id,
        "release": assessment.release or "",
        "as_of": timestamp(assessment.as_of),
        "hypercare": "active" if assessment.hypercare.active else "inactive",
        "verdict": verdict_word(assessment),
        "counts": counts_sentence(assessment),
    }
    for name, value in values.items():
        ET.SubElement(properties, "property", {"name": name, "value": _xml(value)})
    for control in controls:
        suite.append(_case(assessment, control))
    return suite


def _case(assessment: Assessment, control: ControlResult) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "classname": _xml(assessment.workflow.id),
            "name": _xml(f"{control.id} {one_line(control.title)}"),
            "time": "0",
        },
    )
    if control.status in FAILING:
        failure = ET.SubElement(
            case,
            "failure",
            {"type": control.status, "message": _xml(one_line(control.summary))},
        )
        failure.text = _xml(_failure_text(control))
    elif control.status == "waived":
        waivers = active_waivers(control)
        until = ", ".join(f"{w.id} until {timestamp(w.expires_at)}" for w in waivers)
        message = f"waived: {until}" if until else "waived"
        skipped = ET.SubElement(case, "skipped", {"message": _xml(message)})
        skipped.text = _xml(_failure_text(control))
    elif control.status == "not_applicable":
        skipped = ET.SubElement(case, "skipped", {"message": "not applicable"})
        skipped.text = _xml(control.summary)
    return case


def _failure_text(control: ControlResult) -> str:
    lines = [control.summary]
    if control.blocked_by:
        lines.append(f"blocked by: {', '.join(sorted(control.blocked_by))}")
    for check_id, finding in failing_findings(control):
        pointers = ", ".join(pointer_text(p) for p in finding.evidence)
        at = f" [{pointers}]" if pointers else ""
        lines.append(f"- {check_id}: {finding.message}{at}")
    lines.extend(
        f"{check.omitted} more findings of {check.id} not shown"
        for check in control.checks
        if check.omitted
    )
    lines.extend(waiver_sentence(w) for w in sorted(control.waivers, key=lambda w: w.id))
    lines.append(f"remediation: {control.remediation}")
    policy = control.policy
    lines.append(f"policy: {policy.file}" + (f":{policy.line}" if policy.line else ""))
    return "\n".join(lines)
