"""Resolve what one workflow must meet, as of a time.

Risk-class inheritance (controls and parameters, tighten-only), the hypercare window
(with its extensions) and its stricter parameters, applicability, and the waivers that
stand at the as-of time. The result is plain data the graph and evaluation stages use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from .cel import ExpressionRuntimeError
from .errors import ErrorCode, ErrorCollector, InputError, Location
from .load.project import Project
from .models.assessment import HypercareState, WaiverState
from .models.duration import Duration
from .models.identity import identity_key, identity_problem
from .models.policy import Control, Hypercare, ParamSpec, ParamValue, RiskClass, WaiverRules
from .models.workflow import Waiver, Workflow


@dataclass(frozen=True)
class ResolvedControl:
    """A control as it applies to one workflow."""

    control: Control
    params: dict[str, Any]
    """Values for evaluation: durations as :class:`Duration`."""
    param_sources: dict[str, str]
    required_by: Literal["class", "hypercare"]
    applicable: bool
    waivers: tuple[WaiverState, ...]
    applies_note: str | None = None
    """Why the control applies although its `applies_if` could not decide (fail closed)."""

    @property
    def active_waiver(self) -> WaiverState | None:
        return next((w for w in self.waivers if w.state == "active"), None)


@dataclass(frozen=True)
class ResolvedWorkflow:
    workflow: Workflow
    risk_class: RiskClass
    lineage: tuple[RiskClass, ...]
    """The class first, then the classes it extends."""
    hypercare: HypercareState
    as_of: datetime
    release: str | None
    controls: dict[str, ResolvedControl] = field(default_factory=dict)

    @property
    def prohibited(self) -> bool:
        return any(risk.prohibited for risk in self.lineage)

    def cel_workflow(self) -> dict[str, Any]:
        """The `workflow` variable of CEL expressions."""
        wf = self.workflow
        return {
            "id": wf.id,
            "name": wf.name,
            "owner": wf.owner,
            "risk_class": wf.risk_class,
            "launched": midnight(wf.launched),
            "eu_scope": wf.eu_scope,
            "role": wf.role,
            "in_hypercare": self.hypercare.active,
            "metadata": wf.metadata.as_dict(),
        }


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def lineage(project: Project, class_id: str) -> tuple[RiskClass, ...]:
    """The class and its ancestors, highest first (cycles are rejected at load)."""
    chain: list[RiskClass] = []
    current: RiskClass | None = project.classes[class_id]
    while current is not None:
        chain.append(current)
        current = project.classes.get(current.extends) if current.extends else None
    return tuple(chain)


def typed_value(spec: ParamSpec, value: ParamValue) -> Any:
    if spec.type == "duration":
        return Duration.parse(str(value))
    if isinstance(value, list):
        return tuple(sorted(value))
    return value


def stricter(spec: ParamSpec, a: Any, b: Any) -> Any:
    """The stricter of two typed values of a parameter (``b`` wins ties and `none`)."""
    if spec.stricter == "none":
        return b
    if spec.stricter == "true":
        return bool(a) or bool(b)
    if spec.stricter == "superset":
        return tuple(sorted(set(a) | set(b)))
    ka, kb = (a.approx_seconds(), b.approx_seconds()) if spec.type == "duration" else (a, b)
    if spec.stricter == "higher":
        return a if ka > kb else b
    return a if ka < kb else b


def _loosens(spec: ParamSpec, inherited: Any, new: Any) -> bool:
    if spec.stricter == "none":
        return False
    if spec.stricter == "superset":
        return not set(inherited) <= set(new)
    return bool(stricter(spec, inherited, new) != new)


def _describe(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _param_location(
    project: Project, class_id: str, table: str, control_id: str, name: str
) -> Location:
    pointer = f"/{'params' if table == 'params' else 'hypercare/params'}/{control_id}/{name}"
    src = project.source(f"param:{class_id}{pointer}")
    return Location(src.file, src.line, src.column, pointer)


def check_class_parameters(project: Project) -> None:
    """Reject a class that loosens an inherited parameter or omits one it needs."""
    errors = ErrorCollector()
    for risk in project.classes.values():
        chain = lineage(project, risk.id)
        source = project.source(f"class:{risk.id}")
        file = source.file
        for table_name in ("params", "hypercare"):
            inherited: dict[tuple[str, str], tuple[Any, str]] = {}
            for ancestor in reversed(chain):
                table = (
                    ancestor.params
                    if table_name == "params"
                    else (ancestor.hypercare.params if ancestor.hypercare else {})
                )
                for control_id, values in table.items():
                    control = project.controls[control_id]
                    for name, raw in values.items():
                        spec = control.params[name]
                        value = typed_value(spec, raw)
                        before = inherited.get((control_id, name))
                        if (
                            before is not None
                            and ancestor.id == risk.id
                            and _loosens(spec, before[0], value)
                        ):
                            errors.add(
                                InputError(
                                    f"risk class {risk.id} loosens {control_id} {name} from "
                                    f"{_describe(before[0])} ({before[1]}) to {_describe(value)}; "
                                    f"a {spec.stricter} value is stricter",
                                    location=_param_location(
                                        project, risk.id, table_name, control_id, name
                                    ),
                                    code=ErrorCode.LOOSENS,
                                )
                            )
                        inherited[(control_id, name)] = (value, ancestor.id)
        required = {cid for ancestor in chain for cid in ancestor.controls}
        params = {
            key
            for ancestor in chain
            for cid, values in ancestor.params.items()
            for key in ((cid, n) for n in values)
        }
        for control_id in sorted(required):
            control = project.controls[control_id]
            for name, spec in sorted(control.params.items()):
                if spec.default is None and (control_id, name) not in params:
                    errors.add(
                        InputError(
                            f"risk class {risk.id} requires {control_id} but sets no value for its "
                            f"parameter {name!r} (and it has no default)",
                            location=Location(file, source.line, None, "/params"),
                            code=ErrorCode.PARAM,
                        )
                    )
    errors.raise_if_any()


def _hypercare_rules(chain: tuple[RiskClass, ...]) -> Hypercare | None:
    return next((risk.hypercare for risk in chain if risk.hypercare is not None), None)


def hypercare_state(
    project: Project, workflow: Workflow, chain: tuple[RiskClass, ...], as_of: datetime
) -> HypercareState:
    """Hypercare runs `days` from launch, extended by `extension_days` at a time until a
    passing `hypercare_exit` review (held on or after the nominal end) exists."""
    rules = _hypercare_rules(chain) or Hypercare()
    start = midnight(workflow.launched)
    nominal_end = start + timedelta(days=rules.days)
    step = timedelta(days=rules.extension_days)
    passing = [
        review.held_at
        for r in project.evidence.records(workflow.id, "quarterly_review")
        if (review := r.data).review_type == "hypercare_exit"
        and review.exit_criteria
        and all(review.exit_criteria.values())
        and nominal_end <= review.held_at <= as_of
        and review.created_at <= as_of
    ]
    if passing:
        # Hypercare ends with the first passing exit review (on or after the nominal end).
        end = min(passing)
        extensions = -(-(end - nominal_end) // step)  # extension periods begun by then
    else:
        extensions = 0 if as_of < nominal_end else (as_of - nominal_end) // step + 1
        end = nominal_end + extensions * step
    return HypercareState(
        active=as_of < end, started=workflow.launched, ends=end, extensions=int(extensions)
    )


def waiver_rules(chain: tuple[RiskClass, ...]) -> tuple[WaiverRules | None, str | None]:
    """The waiver rules of a class (the nearest class in its lineage that sets them)."""
    for risk in chain:
        if risk.waivers is not None:
            return risk.waivers, risk.id
    return None, None


def same_person(a: str, b: str) -> bool:
    """Whether two identities name the same person: compared after NFKC case-folding, so
    `Ahmed.Khan` and full-width `ａｈｍｅｄ.ｋｈａｎ` are one person (see
    :mod:`assay.models.identity`)."""
    return identity_key(a) == identity_key(b)


def waiver_problem(
    waiver: Waiver,
    rules: WaiverRules | None,
    class_id: str | None,
    control: Control | None = None,
) -> str | None:
    """Why ``waiver`` cannot apply (four-eyes, its validity period, a prohibition gate, or
    its class's waiver rules), or None."""
    for who in ("requested_by", "approved_by"):
        # An identity a reviewer cannot tell apart from another (mixed scripts, look-alike
        # letters, invisible characters) cannot carry a four-eyes decision.
        problem = identity_problem(getattr(waiver, who))
        if problem is not None:
            return f"{who} {problem}"
    if same_person(waiver.requested_by, waiver.approved_by):
        return (
            f"approved_by must differ from requested_by (both are "
            f"{identity_key(waiver.approved_by)!r} once case and Unicode forms are folded)"
        )
    if waiver.expires_at <= waiver.approved_at:
        return "expires_at must be after approved_at"
    if control is not None and control.prohibition_gate:
        return (
            f"{control.id} carries a prohibition gate (EU AI Act Art. 5): a prohibited "
            "practice cannot be waived"
        )
    if rules is None:
        return None
    days = (waiver.expires_at - waiver.approved_at).total_seconds() / 86400
    if days > rules.max_days:
        return (
            f"it runs {days:.0f} days from approval to expiry, more than the "
            f"{rules.max_days} days class {class_id} allows"
        )
    allowed = {identity_key(name) for name in rules.allowed_approvers}
    if allowed and identity_key(waiver.approved_by) not in allowed:
        return (
            f"{waiver.approved_by} may not approve waivers at class {class_id} "
            f"(allowed: {', '.join(rules.allowed_approvers)})"
        )
    if rules.require_ticket and not waiver.ticket:
        return f"class {class_id} requires a ticket reference on every waiver"
    return None


def waiver_state(waiver: Waiver, as_of: datetime, project: Project) -> WaiverState:
    """A waiver as it stands at ``as_of``: active, expired, not yet valid, or invalid."""
    chain = lineage(project, project.workflows[waiver.workflow].risk_class)
    rules, class_id = waiver_rules(chain)
    problem = waiver_problem(waiver, rules, class_id, project.controls.get(waiver.control))
    state: Literal["active", "expired", "not_yet_valid", "invalid"]
    if problem is not None:
        state = "invalid"
    elif as_of < waiver.approved_at:
        state = "not_yet_valid"
    elif as_of >= waiver.expires_at:
        state = "expired"
    else:
        state = "active"
    return WaiverState(
        id=waiver.id,
        control=waiver.control,
        state=state,
        problem=problem,
        reason=waiver.reason,
        requested_by=waiver.requested_by,
        approved_by=waiver.approved_by,
        approved_at=waiver.approved_at,
        expires_at=waiver.expires_at,
        ticket=waiver.ticket,
        source=project.source(f"waiver:{waiver.id}"),
    )


def resolve(
    project: Project, workflow_id: str, as_of: datetime, release: str | None = None
) -> ResolvedWorkflow:
    """The controls, parameters, hypercare state and waivers for one workflow."""
    workflow = project.workflows[workflow_id]
    chain = lineage(project, workflow.risk_class)
    hypercare = hypercare_state(project, workflow, chain, as_of)
    resolved = ResolvedWorkflow(workflow, chain[0], chain, hypercare, as_of, release)
    if resolved.prohibited:
        return resolved
    class_controls = {cid for risk in chain for cid in risk.controls}
    rules = _hypercare_rules(chain)
    hc_controls = set(rules.controls) if (rules and hypercare.active) else set()
    hc_controls -= class_controls
    cel_workflow = resolved.cel_workflow()
    for control_id in sorted(class_controls | hc_controls):
        control = project.controls[control_id]
        params, sources = _params(control, chain, hypercare.active)
        waivers = tuple(
            waiver_state(w, as_of, project)
            for w in project.waivers
            if w.workflow == workflow_id and w.control == control_id
        )
        applicable, note = _applies(project, control, params, cel_workflow, as_of, release)
        resolved.controls[control_id] = ResolvedControl(
            control=control,
            params=params,
            param_sources=sources,
            required_by="class" if control_id in class_controls else "hypercare",
            applicable=applicable,
            waivers=waivers,
            applies_note=note,
        )
    return resolved


def _params(
    control: Control, chain: tuple[RiskClass, ...], in_hypercare: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, spec in control.params.items():
        if spec.default is not None:
            values[name] = typed_value(spec, spec.default)
            sources[name] = "default"
        for risk in reversed(chain):
            raw = risk.params.get(control.id, {}).get(name)
            if raw is not None:
                values[name] = typed_value(spec, raw)
                sources[name] = risk.id
        if in_hypercare:
            for risk in reversed(chain):
                raw = (
                    risk.hypercare.params.get(control.id, {}).get(name) if risk.hypercare else None
                )
                if raw is not None and name in values:
                    hc_value = typed_value(spec, raw)
                    chosen = stricter(spec, values[name], hc_value)
                    if chosen != values[name]:
                        values[name] = chosen
                        sources[name] = f"hypercare ({risk.id})"
    return dict(sorted(values.items())), dict(sorted(sources.items()))


def cel_params(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as CEL sees them: calendar durations become CEL durations; business-day
    durations have no fixed length and are left out (load rejects CEL that uses them)."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, Duration):
            if not value.business:
                out[name] = value.as_timedelta()
        elif isinstance(value, tuple):
            out[name] = list(value)
        else:
            out[name] = value
    return out


def _applies(
    project: Project,
    control: Control,
    params: dict[str, Any],
    cel_workflow: dict[str, Any],
    as_of: datetime,
    release: str | None,
) -> tuple[bool, str | None]:
    """Whether the control applies, and why it does when `applies_if` could not decide:
    a condition that reads untyped workflow values or fails to evaluate never makes a
    control not applicable (fail closed)."""
    expr = project.expressions.get((control.id, "", "applies_if"))
    if expr is None:
        return True, None
    reason = project.undecidable.get(control.id)
    if reason is not None:
        return True, f"applies_if cannot be decided on typed workflow fields ({reason})"
    try:
        return expr.test(
            {
                "workflow": cel_workflow,
                "params": cel_params(params),
                "now": as_of,
                "release": release or "",
            }
        ), None
    except ExpressionRuntimeError as err:
        return True, f"applies_if could not be evaluated ({err.message})"


def plain_params(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as JSON-able values for reports."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, Duration):
            out[name] = str(value)
        elif isinstance(value, tuple):
            out[name] = list(value)
        else:
            out[name] = value
    return out


def resolved_policy(
    project: Project, workflow: str, as_of: datetime, release: str | None = None
) -> dict[str, Any]:
    """The effective policy of one workflow as plain JSON-able data (embedded in packs):
    its class lineage, hypercare state, and each required control with its parameters
    after inheritance and hypercare, their sources, and its checks."""
    resolved = resolve(project, workflow, as_of, release)
    present = set(resolved.controls)
    return {
        "workflow": resolved.workflow.model_dump(mode="json"),
        "as_of": as_of.isoformat(),
        "risk_class": resolved.risk_class.id,
        "lineage": [risk.id for risk in resolved.lineage],
        "prohibited": resolved.prohibited,
        "hypercare": resolved.hypercare.model_dump(mode="json"),
        "controls": [
            {
                "id": cid,
                "title": rc.control.title,
                "required_by": rc.required_by,
                "applicable": rc.applicable,
                "requires": sorted(d for d in rc.control.requires if d in present),
                "params": plain_params(rc.params),
                "param_sources": rc.param_sources,
                "checks": [
                    c.model_dump(mode="json", by_alias=True, exclude_none=True)
                    for c in rc.control.checks
                ],
                "waivers": [w.model_dump(mode="json") for w in rc.waivers],
                "source": project.source(f"control:{cid}").model_dump(mode="json"),
            }
            for cid, rc in sorted(resolved.controls.items())
        ],
    }
