"""`assay explain`: what a control requires, with which parameters, and its last verdict.

:func:`explain_control` computes an :class:`~assay.models.explain.Explanation`;
:mod:`assay.formats.explain` renders it.
"""

from __future__ import annotations

from ..load.project import Project
from ..models.assessment import Assessment, ControlResult
from ..models.explain import (
    ClassValue,
    ExplainedCheck,
    ExplainedParam,
    ExplainedVerdict,
    Explanation,
    WorkflowValue,
)
from ..models.policy import Control
from ..resolve import lineage, plain_params, typed_value


def explain_control(
    project: Project, control_id: str, assessment: Assessment | None = None
) -> Explanation:
    """The explanation of ``control_id``; with an assessment, for that workflow."""
    control = project.controls[control_id]
    classes = [
        c.id
        for c in project.classes.values()
        if any(control_id in r.controls for r in lineage(project, c.id))
    ]
    hypercare = [
        c.id for c in project.classes.values() if c.hypercare and control_id in c.hypercare.controls
    ]
    result: ControlResult | None = None
    verdict = None
    if assessment is not None:
        try:
            result = assessment.control(control_id)
        except KeyError:
            result = None
        verdict = ExplainedVerdict(
            workflow=assessment.workflow.id,
            as_of=assessment.as_of,
            risk_class=assessment.risk_class.id,
            prohibited=assessment.risk_class.prohibited,
            result=result,
            after_as_of=sum(i.after_as_of or 0 for i in assessment.inputs),
        )
    return Explanation(
        id=control.id,
        title=control.title,
        source=project.source(f"control:{control_id}"),
        severity=control.severity,
        intent=control.intent.strip(),
        required_at=classes,
        hypercare_at=hypercare,
        requires=list(control.requires),
        evidence=list(control.evidence),
        applies_if=control.applies_if,
        checks=[
            ExplainedCheck(
                id=check.id, kind=check.kind, evidence=check.evidence, description=check.description
            )
            for check in control.checks
        ],
        params=_params(
            project, control, classes, assessment.workflow.id if assessment else None, result
        ),
        mappings=control.mappings,
        remediation=control.remediation.strip(),
        verdict=verdict,
    )


def _params(
    project: Project,
    control: Control,
    classes: list[str],
    workflow: str | None,
    result: ControlResult | None,
) -> list[ExplainedParam]:
    """Each parameter by name: its value at every class, and in the workflow's result."""
    params: list[ExplainedParam] = []
    for name, spec in sorted(control.params.items()):
        by_class: list[ClassValue] = []
        for class_id in classes:
            value = spec.default
            for risk in reversed(lineage(project, class_id)):
                raw = risk.params.get(control.id, {}).get(name)
                if raw is not None:
                    value = plain_params({name: typed_value(spec, raw)})[name]
            by_class.append(ClassValue(risk_class=class_id, value=value))
        for_workflow = None
        if workflow is not None and result is not None and name in result.params:
            for_workflow = WorkflowValue(
                workflow=workflow,
                value=result.params[name],
                source=result.param_sources.get(name, "?"),
            )
        params.append(
            ExplainedParam(
                name=name,
                description=spec.description,
                stricter=spec.stricter,
                by_class=by_class,
                for_workflow=for_workflow,
            )
        )
    return params
