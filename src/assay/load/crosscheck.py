"""The cross-checks of a loaded policy set: every reference resolves (controls, classes,
evidence kinds, fields, parameters), conditions compile, parameters have their declared
types, and neither `requires` nor `extends` has a cycle. Reading and validating each
file is :mod:`assay.load.project`'s job; what only holds across files is checked here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..cel import Expression, ExpressionSyntaxError, compile_expression
from ..cel.parser import variable_paths
from ..errors import ErrorCode, ErrorCollector, InputError, Location
from ..graph import find_cycle
from ..models.assessment import SourcePointer
from ..models.duration import MAX_DAYS, Duration
from ..models.evidence_kinds import EVIDENCE_KINDS
from ..models.policy import Control, ParamSpec, RiskClass
from ..models.workflow import TYPED_METADATA, Workflow
from ..parsing.yamlsafe import Positions

RECORD_VARS = frozenset({"r", "params", "now", "workflow", "release"})
COVER_VARS = RECORD_VARS | {"src"}
WORKFLOW_VARS = frozenset({"params", "now", "workflow", "release"})
_PARAM_USE = re.compile(r"\bparams\.([a-z][a-z0-9_]*)")
TYPED_WORKFLOW_FIELDS = (frozenset(Workflow.model_fields) - {"metadata"}) | {"in_hypercare"}
"""The fields of CEL's `workflow` whose type the workflow model declares (and metadata's
typed keys, :data:`~assay.models.workflow.TYPED_METADATA`)."""


@dataclass
class Policies:
    """The catalog and classes as loaded, with where each came from; the checks add their
    errors to ``errors`` and the compiled conditions to ``expressions``."""

    controls: dict[str, Control]
    control_positions: dict[str, Positions]
    classes: dict[str, RiskClass]
    class_positions: dict[str, Positions]
    sources: dict[str, SourcePointer]
    expressions: dict[tuple[str, str, str], Expression]
    errors: ErrorCollector
    undecidable: dict[str, str] | None = None
    """Per control, why its `applies_if` cannot be decided on typed workflow fields (the
    control then always applies: fail closed)."""


def check_policies(p: Policies) -> None:
    """Every cross-check, each problem collected with its location."""
    check_catalog(p)
    check_classes(p)


def check_catalog(p: Policies) -> None:
    edges: list[tuple[str, str]] = []
    for control in p.controls.values():
        pos = p.control_positions[control.id]
        for index, dep in enumerate(control.requires):
            if dep not in p.controls:
                p.errors.add(
                    InputError(
                        f"{control.id} requires unknown control {dep!r}",
                        location=pos.location(f"/requires/{index}"),
                        code=ErrorCode.UNKNOWN_CONTROL,
                    )
                )
            else:
                edges.append((control.id, dep))
        for index, kind in enumerate(control.evidence):
            if kind not in EVIDENCE_KINDS:
                p.errors.add(unknown_kind(kind, pos.location(f"/evidence/{index}")))
        check_checks(p, control, pos)
        for name, spec in control.params.items():
            if spec.default is None:
                continue
            problem = param_type_problem(spec, spec.default)
            if problem is None and name in divisor_params(control):
                problem = _zero_divisor(spec.default)
            if problem:
                p.errors.add(
                    InputError(
                        problem,
                        location=pos.location(f"/params/{name}/default"),
                        code=ErrorCode.PARAM,
                    )
                )
    cycle = find_cycle(edges)
    if cycle is None:
        return
    path = " -> ".join([*cycle, cycle[0]])
    first = cycle[0]
    p.errors.add(
        InputError(
            f"dependency cycle in `requires`: {path}",
            location=p.control_positions[first].location("/requires"),
            code=ErrorCode.CYCLE,
        )
    )


def compile_condition(
    p: Policies,
    control: Control,
    check_id: str,
    name: str,
    source: str | None,
    allowed: frozenset[str],
    positions: Positions,
    pointer: str,
) -> None:
    if source is None:
        return
    location = positions.location(pointer)
    try:
        expr = compile_expression(source, allowed_variables=allowed)
    except ExpressionSyntaxError as err:
        p.errors.add(
            InputError(
                f"invalid CEL in `{name}`: {err.message}",
                location=positions.text_location(pointer, err.line, err.column),
                code=ErrorCode.CEL,
            )
        )
        return
    for used in _PARAM_USE.findall(source):
        spec = control.params.get(used)
        if spec is None:
            p.errors.add(
                InputError(
                    f"`{name}` uses params.{used}, which {control.id} does not declare "
                    f"(declared: {', '.join(sorted(control.params)) or 'none'})",
                    location=location,
                    code=ErrorCode.PARAM,
                )
            )
    p.expressions[(control.id, check_id, name)] = expr


def untyped_reads(source: str) -> str | None:
    """Why an `applies_if` cannot be decided on typed workflow fields, or None: it reads a
    free-form metadata key (whose type nobody declared: `yes` would be a string and
    `== true` silently false), the metadata or the workflow as a whole, or a field the
    workflow does not have."""
    paths = variable_paths(source, "workflow")
    if paths is None:
        return "its text is beyond the analysis of what it reads"
    for path in sorted(set(paths)):
        shown = ".".join(("workflow", *path))
        if not path:
            return "it uses `workflow` as a whole"
        if path[0] == "metadata":
            if len(path) == 1:
                return f"it reads `{shown}` as a whole (free-form, untyped)"
            if path[1] not in TYPED_METADATA:
                return f"it reads `{shown}`, a free-form metadata key with no declared type"
        elif path[0] not in TYPED_WORKFLOW_FIELDS:
            return f"it reads `{shown}`, which a workflow does not have"
    return None


def check_checks(p: Policies, control: Control, pos: Positions) -> None:
    compile_condition(
        p,
        control,
        "",
        "applies_if",
        control.applies_if,
        WORKFLOW_VARS,
        pos,
        "/applies_if",
    )
    if control.applies_if is not None and p.undecidable is not None:
        reason = untyped_reads(control.applies_if)
        if reason is not None:
            p.undecidable[control.id] = reason
    seen: set[str] = set()
    for index, check in enumerate(control.checks):
        base = f"/checks/{index}"
        if check.id in seen:
            p.errors.add(
                InputError(
                    f"check id {check.id!r} is used twice in {control.id}",
                    location=pos.location(base + "/id"),
                    code=ErrorCode.DUPLICATE,
                )
            )
        seen.add(check.id)
        for pointer, kind in check.evidence_kinds():
            if kind not in EVIDENCE_KINDS:
                p.errors.add(unknown_kind(kind, pos.location(f"{base}/{pointer}")))
        for condition in check.conditions():
            compile_condition(
                p,
                control,
                check.id,
                condition.name,
                condition.source,
                COVER_VARS if condition.sees_covered else RECORD_VARS,
                pos,
                base + condition.pointer,
            )
        per = getattr(check, "per", None)
        if isinstance(per, Duration) and per.amount == 0:
            p.errors.add(
                InputError(
                    "`per` must be longer than zero (the rate divides by it)",
                    location=pos.location(f"{base}/per"),
                    code=ErrorCode.PARAM,
                )
            )
        for ref in check.field_refs():
            kind_model = EVIDENCE_KINDS.get(ref.kind)
            if kind_model is not None and ref.field not in kind_model.model_fields:
                p.errors.add(
                    InputError(
                        f"{ref.kind} has no field {ref.field!r} (fields: {', '.join(sorted(kind_model.model_fields))})",
                        location=pos.location(f"{base}/{ref.pointer}"),
                        code=ErrorCode.FIELD,
                    )
                )
        for name, value in check.param_refs():
            if isinstance(value, str) and value.startswith("$") and value[1:] not in control.params:
                p.errors.add(
                    InputError(
                        f"`{name}` refers to ${value[1:]}, which {control.id} does not declare "
                        f"(declared: {', '.join(sorted(control.params)) or 'none'})",
                        location=pos.location(f"{base}/{name}"),
                        code=ErrorCode.PARAM,
                    )
                )


def check_classes(p: Policies) -> None:
    for risk in p.classes.values():
        pos = p.class_positions[risk.id]
        if risk.extends is not None:
            parent = p.classes.get(risk.extends)
            if parent is None:
                p.errors.add(
                    InputError(
                        f"risk class {risk.id} extends unknown class {risk.extends!r} "
                        f"(known: {', '.join(sorted(p.classes))})",
                        location=pos.location("/extends"),
                        code=ErrorCode.UNKNOWN_CLASS,
                    )
                )
            elif parent.level >= risk.level:
                p.errors.add(
                    InputError(
                        f"risk class {risk.id} (level {risk.level}) extends {parent.id}, whose level "
                        f"{parent.level} is not lower",
                        location=pos.location("/extends"),
                        code=ErrorCode.CLASS,
                    )
                )
        for index, control_id in enumerate(risk.controls):
            if control_id not in p.controls:
                p.errors.add(
                    InputError(
                        f"risk class {risk.id} requires unknown control {control_id!r}",
                        location=pos.location(f"/controls/{index}"),
                        code=ErrorCode.UNKNOWN_CONTROL,
                    )
                )
        check_day_counts(p, risk, pos)
        tables = [("/params", risk.params)]
        if risk.hypercare is not None:
            tables.append(("/hypercare/params", risk.hypercare.params))
            for index, control_id in enumerate(risk.hypercare.controls):
                if control_id not in p.controls:
                    p.errors.add(
                        InputError(
                            f"hypercare of {risk.id} requires unknown control {control_id!r}",
                            location=pos.location(f"/hypercare/controls/{index}"),
                            code=ErrorCode.UNKNOWN_CONTROL,
                        )
                    )
        for prefix, table in tables:
            for control_id, values in table.items():
                control = p.controls.get(control_id)
                if control is None:
                    p.errors.add(
                        InputError(
                            f"parameters for unknown control {control_id!r}",
                            location=pos.key_location(f"{prefix}/{control_id}"),
                            code=ErrorCode.UNKNOWN_CONTROL,
                        )
                    )
                    continue
                for name, value in values.items():
                    where = f"{prefix}/{control_id}/{name}"
                    p.sources[f"param:{risk.id}{where}"] = source_pointer(pos, where)
                    spec = control.params.get(name)
                    if spec is None:
                        p.errors.add(
                            InputError(
                                f"{control_id} has no parameter {name!r} "
                                f"(declared: {', '.join(sorted(control.params)) or 'none'})",
                                location=pos.key_location(where),
                                code=ErrorCode.PARAM,
                            )
                        )
                        continue
                    problem = param_type_problem(spec, value)
                    if problem is None and name in divisor_params(control):
                        problem = _zero_divisor(value)
                    if problem:
                        p.errors.add(
                            InputError(problem, location=pos.location(where), code=ErrorCode.PARAM)
                        )
    check_extends_cycles(p)
    check_class_names(p)


def check_class_names(p: Policies) -> None:
    """Every class id and alias names exactly one class: a name two classes claim would
    resolve by file order, and a workflow's requirements must not depend on that."""
    claims: dict[str, list[tuple[str, Location]]] = {}
    for risk in p.classes.values():
        pos = p.class_positions[risk.id]
        claims.setdefault(risk.id, []).append((risk.id, pos.location("/id")))
        for index, alias in enumerate(risk.aliases):
            if alias == risk.id:
                continue
            claims.setdefault(alias, []).append((risk.id, pos.location(f"/aliases/{index}")))
    for name, owners in sorted(claims.items()):
        classes = sorted({owner for owner, _ in owners})
        if len(classes) < 2:
            continue
        places = ", ".join(f"{owner} ({loc.file}:{loc.line})" for owner, loc in owners)
        for _owner, location in owners:
            p.errors.add(
                InputError(
                    f"the name {name!r} is claimed by more than one risk class: {places}; "
                    "an id or alias must name exactly one class",
                    location=location,
                    code=ErrorCode.DUPLICATE,
                )
            )


def check_day_counts(p: Policies, risk: RiskClass, pos: Positions) -> None:
    """Day counts of a class within the documented bound (:data:`MAX_DAYS`, about 100 years):
    a hypercare of 999,999,999,999 days is a typo, and would overflow the calendar."""
    counts: list[tuple[str, int]] = []
    if risk.hypercare is not None:
        counts += [
            ("/hypercare/days", risk.hypercare.days),
            ("/hypercare/extension_days", risk.hypercare.extension_days),
        ]
    if risk.waivers is not None:
        counts.append(("/waivers/max_days", risk.waivers.max_days))
    for pointer, value in counts:
        if value > MAX_DAYS:
            p.errors.add(
                InputError(
                    f"at most {MAX_DAYS} days (about 100 years) are allowed, got {value}",
                    location=pos.location(pointer),
                    code=ErrorCode.PARAM,
                )
            )


def divisor_params(control: Control) -> set[str]:
    """Parameters a check divides by (`per` of a rate): they must not be zero."""
    return {
        per[1:]
        for check in control.checks
        if isinstance(per := getattr(check, "per", None), str) and per.startswith("$")
    }


def _zero_divisor(value: Any) -> str | None:
    if isinstance(value, str) and Duration.parse(value).amount == 0:
        return f"must be longer than zero (a rate is counted per this span), got {value!r}"
    return None


def check_extends_cycles(p: Policies) -> None:
    edges = [(risk.id, risk.extends) for risk in p.classes.values() if risk.extends in p.classes]
    cycle = find_cycle(edges)
    if cycle is None:
        return
    path = " -> ".join([*cycle, cycle[0]])
    p.errors.add(
        InputError(
            f"cycle in risk class `extends`: {path}",
            location=p.class_positions[cycle[0]].location("/extends"),
            code=ErrorCode.CYCLE,
        )
    )


def source_pointer(positions: Positions, pointer: str) -> SourcePointer:
    loc = positions.location(pointer)
    return SourcePointer(file=loc.file, line=loc.line, column=loc.column)


def unknown_kind(kind: str, location: Location) -> InputError:
    return InputError(
        f"unknown evidence kind {kind!r} (expected one of: {', '.join(sorted(EVIDENCE_KINDS))})",
        location=location,
        code=ErrorCode.UNKNOWN_KIND,
    )


def param_type_problem(spec: ParamSpec, value: Any) -> str | None:
    """Why ``value`` does not fit the declared parameter type, or None."""
    if spec.type == "duration":
        if not isinstance(value, str):
            return f"expected a duration like 24h or 5bd, got {value!r}"
        try:
            Duration.parse(value)
        except ValueError as err:
            return str(err)
        return None
    if spec.type == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"expected a number, got {value!r}"
    if spec.type == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"expected an integer, got {value!r}"
    if spec.type == "boolean" and not isinstance(value, bool):
        return f"expected true or false, got {value!r}"
    if spec.type == "string" and not isinstance(value, str):
        return f"expected a string, got {value!r}"
    if spec.type == "list" and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return f"expected a list of strings, got {value!r}"
    return None
