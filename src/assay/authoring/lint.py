"""`assay policy lint`: the errors that stop loading, plus what a reviewer would flag.

Errors (exit 2) are everything :func:`load_project` and the class-parameter check reject.
Warnings: a control required by no class, a parameter never used, a dependency on a control
not required at a class (it is ignored there), a check that can never fail, a mapping that
is not a well-formed reference.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..checks import check_kind
from ..errors import AssayError, InputErrors, Location
from ..load.project import Project, load_project
from ..models.assessment import canonical_json
from ..models.lint import LintFinding
from ..resolve import (
    check_class_parameters,
    lineage,
    stricter,
    typed_value,
    waiver_problem,
    waiver_rules,
)

MAPPING_PATTERNS = {
    "eu_ai_act": re.compile(
        r"^(Art\. \d+[a-z]?(\(\d+[a-z]?\))*(\([a-z]\))*|Annex [IVX]+( point \d+)?)$"
    ),
    "nist_ai_rmf": re.compile(r"^(GV|MP|MS|MG)-\d+\.\d+$"),
    "iso_42001": re.compile(r"^(A\.\d+(\.\d+)*|cl\. \d+(\.\d+)*)$"),
}


def lint_project(root: str | Path) -> list[LintFinding]:
    """Every problem of the project's policies, sorted by location."""
    try:
        # About the policies (and the waivers against them): no workflow needed, no evidence.
        project = load_project(root, require_workflows=False)
        check_class_parameters(project)
    except InputErrors as err:
        return sorted(_from_error(e) for e in err.errors)
    except AssayError as err:
        return [_from_error(err)]
    return sorted(lint_loaded(project))


def _from_error(err: AssayError) -> LintFinding:
    return LintFinding(err.location or Location("<project>"), "error", err.code, err.message)


def _loc(project: Project, key: str, pointer: str | None = None) -> Location:
    src = project.source(key)
    return Location(src.file, src.line, src.column, pointer)


def lint_loaded(project: Project) -> list[LintFinding]:
    """Warnings on a project that loads without errors."""
    out: list[LintFinding] = []
    required_somewhere: set[str] = set()
    for risk in project.classes.values():
        chain = lineage(project, risk.id)
        at_class = {cid for r in chain for cid in r.controls}
        required_somewhere |= at_class
        if risk.hypercare:
            required_somewhere |= set(risk.hypercare.controls)
        for cid in sorted(set(risk.controls)):
            for dep in project.controls[cid].requires:
                if dep not in at_class:
                    out.append(
                        LintFinding(
                            _loc(project, f"class:{risk.id}", "/controls"),
                            "warning",
                            "DEP-NOT-REQUIRED",
                            f"{cid} requires {dep}, which class {risk.id} does not require: "
                            f"the dependency is ignored at this class",
                        )
                    )
    for control in project.controls.values():
        key = f"control:{control.id}"
        if control.id not in required_somewhere:
            out.append(
                LintFinding(
                    _loc(project, key),
                    "warning",
                    "UNUSED-CONTROL",
                    f"{control.id} is required by no risk class",
                )
            )
        text = canonical_json(control.model_dump(mode="json", by_alias=True)).decode()
        for name in sorted(control.params):
            if f'${name}"' not in text and f"params.{name}" not in text:
                out.append(
                    LintFinding(
                        _loc(project, key, f"/params/{name}"),
                        "warning",
                        "UNUSED-PARAM",
                        f"parameter {name!r} of {control.id} is never used by a check",
                    )
                )
        for check in control.checks:
            reason = check_kind(check).never_fails(check)
            if reason:
                out.append(
                    LintFinding(
                        _loc(project, f"check:{control.id}/{check.id}"),
                        "warning",
                        "CANNOT-FAIL",
                        f"check {check.id} of {control.id} can never fail: {reason}",
                    )
                )
        for family, pattern in MAPPING_PATTERNS.items():
            for ref in getattr(control.mappings, family):
                if not pattern.match(ref):
                    out.append(
                        LintFinding(
                            _loc(project, key, f"/mappings/{family}"),
                            "warning",
                            "MAPPING",
                            f"{family} reference {ref!r} of {control.id} is not well-formed",
                        )
                    )
    out.extend(_ineffective_hypercare(project))
    for waiver in project.waivers:
        chain = lineage(project, project.workflows[waiver.workflow].risk_class)
        rules, class_id = waiver_rules(chain)
        problem = waiver_problem(waiver, rules, class_id, project.controls.get(waiver.control))
        if problem:
            out.append(
                LintFinding(
                    _loc(project, f"waiver:{waiver.id}"),
                    "error",
                    "WAIVER",
                    f"waiver {waiver.id} is invalid: {problem}",
                )
            )
    return out


def _ineffective_hypercare(project: Project) -> list[LintFinding]:
    """Hypercare values that are not stricter than the class value have no effect: the
    stricter of the two always applies. Usually a typo or a misunderstanding."""
    out: list[LintFinding] = []
    for risk in project.classes.values():
        if risk.hypercare is None:
            continue
        chain = lineage(project, risk.id)
        for control_id, values in sorted(risk.hypercare.params.items()):
            control = project.controls[control_id]
            for name, raw in sorted(values.items()):
                spec = control.params[name]
                class_raw = next(
                    (
                        r.params[control_id][name]
                        for r in chain
                        if name in r.params.get(control_id, {})
                    ),
                    spec.default,
                )
                if class_raw is None or spec.stricter == "none":
                    continue
                class_value, hc_value = typed_value(spec, class_raw), typed_value(spec, raw)
                if stricter(spec, class_value, hc_value) == class_value and hc_value != class_value:
                    out.append(
                        LintFinding(
                            _loc(project, f"param:{risk.id}/hypercare/params/{control_id}/{name}"),
                            "warning",
                            "HYPERCARE-NO-EFFECT",
                            f"hypercare value {raw!r} of {control_id} {name} at class {risk.id} is "
                            f"looser than the class value {class_raw!r}: the class value applies",
                        )
                    )
    return out
