"""Evaluate workflows: run each one's control graph over the evidence as of a time, and
freeze the result into an :class:`~assay.models.assessment.Assessment`.

A fleet is assessed check by check: on the evidence store every check runs once for all the
workflows it applies to (one query; DuckDB parallelises it inside this process), and the
row evaluator takes what a query leaves, one workflow at a time. No worker processes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ._version import __version__
from .checks import check_kind
from .checks.base import CheckContext, EvaluationError
from .checks.reads import fields_read
from .errors import UsageError
from .graph import ControlGraph, control_graph, evaluation_order, root_causes
from .load.project import Project
from .models.assessment import (
    ACCEPTED,
    STATUSES,
    Assessment,
    CheckResult,
    ControlResult,
    Engine,
    Finding,
    InputDigest,
    RiskClassInfo,
    Status,
    Summary,
    Verdict,
    WorkflowInfo,
)
from .resolve import (
    ResolvedControl,
    ResolvedWorkflow,
    check_class_parameters,
    plain_params,
    resolve,
)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def assess(
    project: Project,
    workflow: str,
    as_of: datetime | None = None,
    release: str | None = None,
) -> Assessment:
    """Assess ``workflow`` as of ``as_of`` (default: now, UTC).

    Raises UsageError for an unknown workflow or a naive time, InputErrors for policy
    problems found while resolving (e.g. a class that loosens a parameter).
    """
    _selected(project, [workflow])
    check_class_parameters(project)
    return _assess_checked(project, [workflow], _aware(as_of), release)[0]


def _aware(as_of: datetime | None) -> datetime:
    when = as_of or utc_now()
    if when.tzinfo is None or when.utcoffset() is None:
        raise UsageError("the as-of time must be timezone-aware, e.g. 2026-05-01T12:00:00Z")
    return when.astimezone(UTC)


def assess_fleet(
    project: Project,
    workflows: Sequence[str] | None = None,
    as_of: datetime | None = None,
    release: str | None = None,
) -> list[Assessment]:
    """Assess several workflows (default: every workflow of the project), in the order
    given, as of one time.

    On a project read through the evidence store each check runs once for all of them, as
    a query; the Assessments are those :func:`assess` gives one by one.
    """
    when = _aware(as_of)
    ids = _selected(project, workflows)
    check_class_parameters(project)  # once for the fleet, not once per workflow
    # A fleet's assessment allocates millions of objects (findings, rebuilt records) and
    # frees them by reference counting; the cyclic collector meanwhile only rescans what
    # is alive, over and over (~10 % of a 200-workflow gate, measured). Paused, as while
    # loading, and restored as it was.
    with _collector_paused():
        return _assess_checked(project, ids, when, release)


def _selected(project: Project, workflows: Sequence[str] | None) -> list[str]:
    """The workflows asked for (default: all), each known to the project."""
    ids = list(project.workflows) if workflows is None else list(workflows)
    for workflow in ids:
        if workflow not in project.workflows:
            known = ", ".join(project.workflows) or "none"
            raise UsageError(f"unknown workflow {workflow!r} (known: {known})")
    return ids


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic collector paused, then restored as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


FLEET_BATCH = 200
"""Workflows whose checks run together by :func:`iter_fleet`: each check runs as one query
for a batch (a query costs milliseconds to plan and scan whatever its size; below
:data:`assay.checks.query.MIN_ROWS` records over a batch a check runs on the row
evaluator), then the batch's workflows are worded and handed out one at a time, each
Assessment dropped once the caller has it. Measured on the benchmark fleet (200
workflows, warm store, new --as-of, through the library, median of 3), batches of 200 /
50: assessment 4.7 / 5.2 s; what a batch holds between its queries and its wording is
small (counts, and the rows and records its results name)."""


def iter_fleet(
    project: Project,
    workflows: Sequence[str] | None = None,
    as_of: datetime | None = None,
    release: str | None = None,
    *,
    batch: int | None = None,
) -> Iterator[Assessment]:
    """The Assessments :func:`assess_fleet` gives, in the same order, made lazily: the
    workflows are assessed ``batch`` at a time, when the caller asks for the next one, so
    memory is bounded by a batch and not by the fleet (a report written as they come).

    The workflows, the time and the class parameters are checked at once, before the
    first Assessment is asked for, raising as :func:`assess_fleet` does. ``batch``
    defaults to :data:`FLEET_BATCH`.
    """
    batch = FLEET_BATCH if batch is None else batch
    if batch < 1:
        raise ValueError("batch must be at least 1")
    when = _aware(as_of)
    ids = _selected(project, workflows)
    check_class_parameters(project)
    return _batches(project, ids, when, release, batch)


def _batches(
    project: Project, ids: list[str], when: datetime, release: str | None, batch: int
) -> Iterator[Assessment]:
    inputs = _Inputs(project)
    for start in range(0, len(ids), batch):
        # The collector is paused while a batch is queried and while a workflow is worded
        # (as in assess_fleet), never across a yield: the caller's code runs with it as
        # the caller left it.
        with _collector_paused():
            states = _queried(project, ids[start : start + batch], when, release)
        states.reverse()  # worded one by one, each dropped from here as it goes
        while states:
            with _collector_paused():
                done = _finished(project, states.pop(), inputs)
            yield done


def assess_many(
    project: Project,
    workflows: Sequence[str],
    as_of: datetime | None = None,
    release: str | None = None,
) -> list[Assessment]:
    """The former name of :func:`assess_fleet`."""
    return assess_fleet(project, workflows, as_of, release)


@dataclass
class _Workflow:
    """One workflow being assessed: what it must meet and its checks' results so far."""

    resolved: ResolvedWorkflow
    graph: ControlGraph | None = None
    cache: dict[Any, Any] = field(default_factory=dict)
    contexts: dict[str, CheckContext] = field(default_factory=dict)
    results: dict[tuple[str, str], CheckResult | EvaluationError | None] = field(
        default_factory=dict
    )


def _assess_checked(
    project: Project, workflows: Sequence[str], when: datetime, release: str | None
) -> list[Assessment]:
    """Assess workflows once the workflows, the time and the class parameters are known to
    be good: every check of every applicable control, then each workflow's graph."""
    inputs = _Inputs(project)
    return [
        _finished(project, state, inputs) for state in _queried(project, workflows, when, release)
    ]


def _queried(
    project: Project, workflows: Sequence[str], when: datetime, release: str | None
) -> list[_Workflow]:
    """The workflows resolved, with the results of the checks that ran as queries for all
    of them (on the evidence store): what :func:`_finished` completes, one by one."""
    states = [_Workflow(resolve(project, workflow, when, release)) for workflow in workflows]
    tasks: dict[tuple[str, str], list[tuple[_Workflow, CheckContext]]] = {}
    for state in states:
        if state.resolved.prohibited:
            continue
        for control_id, rc in sorted(state.resolved.controls.items()):
            if not rc.applicable:
                continue
            ctx = CheckContext(project, state.resolved, rc, state.cache)
            state.contexts[control_id] = ctx
            for check in rc.control.checks:
                tasks.setdefault((control_id, check.id), []).append((state, ctx))
    if _queryable(project):
        # Each check once for every workflow it applies to (see assay.checks.query); what
        # a query leaves (None) runs below on the row evaluator, workflow by workflow.
        for (control_id, check_id), items in tasks.items():
            check = _check(project, control_id, check_id)
            policy = project.source(f"check:{control_id}/{check_id}")
            outcomes = check_kind(check).run_many(check, [ctx for _, ctx in items], policy)
            for (state, _), outcome in zip(items, outcomes, strict=True):
                state.results[(control_id, check_id)] = outcome
    return states


def _finished(project: Project, state: _Workflow, inputs: _Inputs) -> Assessment:
    """One workflow's Assessment: the checks no query decided run on the row evaluator,
    then its controls' graph."""
    results = [] if state.resolved.prohibited else _evaluate_controls(project, state)
    done = _freeze(project, state.resolved, results, inputs)
    state.cache.clear()  # this workflow's records are no longer needed
    state.results.clear()
    return done


def _queryable(project: Project) -> bool:
    return bool(getattr(project.evidence, "queryable", False))


def _check(project: Project, control_id: str, check_id: str) -> Any:
    return next(c for c in project.controls[control_id].checks if c.id == check_id)


def _evaluate_controls(project: Project, state: _Workflow) -> list[ControlResult]:
    resolved = state.resolved
    graph = control_graph(rc.control for rc in resolved.controls.values())
    statuses: dict[str, Status] = {}
    results: dict[str, ControlResult] = {}
    for control_id in evaluation_order(graph):
        rc = resolved.controls[control_id]
        deps = sorted(graph.successors(control_id))
        if not rc.applicable:
            checks: list[CheckResult] = []
            own: Status = "not_applicable"
        else:
            checks = _run_checks(project, state, rc)
            own = (
                "error"
                if any(c.status == "error" for c in checks)
                else ("fail" if any(c.status == "fail" for c in checks) else "pass")
            )
            if own == "pass" and any(w.state == "invalid" for w in rc.waivers):
                own = "fail"  # a waiver that breaks governance fails its control closed
        blocked_by: list[str] = []
        waiver = rc.active_waiver
        upstream_failed = any(statuses[d] not in ACCEPTED for d in deps)
        if own == "not_applicable":
            status: Status = own
        elif own != "pass" and waiver is not None:
            status = "waived"
        elif upstream_failed:
            # A control cannot be trusted when what it stands on failed: blocked, root cause named.
            status = "blocked"
            blocked_by = root_causes(graph, control_id, statuses)
        else:
            status = own
        statuses[control_id] = status
        results[control_id] = ControlResult(
            id=control_id,
            title=rc.control.title,
            intent=rc.control.intent,
            severity=rc.control.severity,
            status=status,
            summary=_summary(status, own, checks, blocked_by, rc)
            + (f" It applies because {rc.applies_note}." if rc.applies_note else ""),
            required_by=rc.required_by,
            requires=deps,
            blocked_by=blocked_by,
            params=plain_params(rc.params),
            param_sources=rc.param_sources,
            checks=checks,
            waivers=sorted(rc.waivers, key=lambda w: (w.expires_at, w.id)),
            mappings=rc.control.mappings,
            remediation=rc.control.remediation,
            policy=project.source(f"control:{control_id}"),
        )
    return [results[key] for key in sorted(results)]


def _run_checks(project: Project, state: _Workflow, rc: ResolvedControl) -> list[CheckResult]:
    ctx = state.contexts.get(rc.control.id) or CheckContext(
        project, state.resolved, rc, state.cache
    )
    out: list[CheckResult] = []
    for check in rc.control.checks:
        policy = project.source(f"check:{rc.control.id}/{check.id}")
        outcome = state.results.get((rc.control.id, check.id))
        if outcome is None:
            try:
                outcome = check_kind(check).run(check, ctx, policy)
            except EvaluationError as err:
                outcome = err
        if isinstance(outcome, EvaluationError):
            outcome = CheckResult(
                id=check.id,
                kind=check.kind,
                description=check.description,
                status="error",
                summary=f"Could not evaluate: {outcome}",
                records=0,
                findings=[Finding(outcome="error", message=str(outcome))],
                policy=policy,
                reads=fields_read(check),
            )
        out.append(outcome)
    return out


def _summary(
    status: Status,
    own: Status,
    checks: list[CheckResult],
    blocked_by: list[str],
    rc: ResolvedControl,
) -> str:
    failing = [c for c in checks if c.status != "pass"]
    expired = [w for w in rc.waivers if w.state == "expired"]
    invalid = [w for w in rc.waivers if w.state == "invalid"]
    if status == "not_applicable":
        return "Does not apply to this workflow (applies_if is false)."
    if status == "pass":
        return "The check passes." if len(checks) == 1 else f"All {len(checks)} checks pass."
    if status == "blocked":
        text = (
            f"Blocked: required control{'s' if len(blocked_by) != 1 else ''} "
            f"{', '.join(blocked_by) or 'upstream'} did not pass"
        )
        if own == "pass" or not failing:
            return text + "."
        # Its own failures are part of its state: fixing the upstream controls is not enough.
        verb = (
            "could not be evaluated"
            if own == "error"
            else ("fails" if len(failing) == 1 else "fail")
        )
        also = (
            f"its own check also {verb}"
            if len(checks) == 1
            else f"{len(failing)} of its {len(checks)} own checks also {verb}"
        )
        return f"{text}; {also}: {failing[0].summary}"
    if not failing and invalid:
        return (
            f"Every check passes, but waiver {invalid[0].id} is invalid ({invalid[0].problem}): "
            "a waiver that breaks the waiver rules fails its control closed."
        )
    first = failing[0].summary if failing else ""
    if status == "waived":
        waiver = rc.active_waiver
        assert waiver is not None
        return (
            f"Waived by {waiver.id} until {waiver.expires_at:%Y-%m-%d} "
            f"(approved by {waiver.approved_by}): {first}"
        )
    verb = "could not be evaluated" if status == "error" else "fail"
    text = first if len(checks) == 1 else f"{len(failing)} of {len(checks)} checks {verb}: {first}"
    if expired:
        text += f" Waiver {expired[0].id} expired on {expired[0].expires_at:%Y-%m-%d} and no longer applies."
    if invalid:
        text += f" Waiver {invalid[0].id} does not apply: {invalid[0].problem}."
    return text


def _prohibition(project: Project, results: list[ControlResult]) -> str | None:
    """The first failing check that can deny every release, in words; None when none."""
    for result in results:
        control = project.controls[result.id]
        gates = {check.id for check in control.checks if check.prohibits}
        for check in result.checks:
            if check.id in gates and check.status == "fail":
                return f"{result.id} {check.id}: {check.summary}"
    return None


class _Inputs:
    """The input files of a project, as its assessments list them (in the project's order):
    every policy, workflow and waiver file, and the evidence files of the workflow."""

    def __init__(self, project: Project):
        # In a fleet the digests of the files every assessment lists are the same objects
        # (frozen), not one copy per workflow (45,000 of them for 200 workflows, ~45 MB),
        # and the evidence files of a workflow are looked up, not found by walking all of
        # the project's (3,600 files x 200 workflows).
        self._common: list[tuple[int, InputDigest]] = []
        self._evidence: dict[str, list[tuple[int, Any]]] = {}
        for position, f in enumerate(project.files):
            if f.role == "evidence":
                self._evidence.setdefault(f.path, []).append((position, f))
            else:
                digest = InputDigest(path=f.path, role=f.role, sha256=f.sha256, records=f.records)
                self._common.append((position, digest))

    def of(self, relevant: set[str], later: dict[str, int]) -> list[InputDigest]:
        """The inputs of an assessment whose workflow has records in the files ``relevant``,
        ``later`` of them created after its as-of time (by file)."""
        own = [
            (
                position,
                InputDigest(
                    path=f.path,
                    role=f.role,
                    sha256=f.sha256,
                    records=f.records,
                    after_as_of=later.get(f.path, 0),
                ),
            )
            for path in relevant
            for position, f in self._evidence.get(path, ())
        ]
        if not own:
            return [digest for _, digest in self._common]
        return [digest for _, digest in sorted(self._common + own, key=lambda item: item[0])]


def _freeze(
    project: Project,
    resolved: ResolvedWorkflow,
    results: list[ControlResult],
    inputs_of: _Inputs | None = None,
) -> Assessment:
    counts = dict.fromkeys(STATUSES, 0)
    blocked_failing = 0
    for item in results:
        counts[item.status] += 1
        if item.status == "blocked" and any(c.status != "pass" for c in item.checks):
            blocked_failing += 1
    wf = resolved.workflow
    gate = _prohibition(project, results)
    if resolved.prohibited:
        reason: str | None = (
            f"Risk class {resolved.risk_class.id} is prohibited (EU AI Act Art. 5): "
            f"every release of {wf.id} is denied."
        )
    elif gate is not None:
        reason = f"{gate} (EU AI Act Art. 5): every release of {wf.id} is denied."
    else:
        reason = None
    verdict = Verdict.of([item.status for item in results], prohibited=reason is not None)
    relevant = project.evidence.files_of(wf.id)
    later = project.evidence.created_after_by_file(wf.id, resolved.as_of)
    inputs = (_Inputs(project) if inputs_of is None else inputs_of).of(relevant, later)
    return Assessment(
        engine=Engine(version=__version__),
        as_of=resolved.as_of,
        release=resolved.release,
        workflow=WorkflowInfo(
            id=wf.id,
            name=wf.name,
            owner=wf.owner,
            risk_class=wf.risk_class,
            launched=wf.launched,
            eu_scope=wf.eu_scope,
            role=wf.role,
        ),
        risk_class=RiskClassInfo(
            id=resolved.risk_class.id,
            title=resolved.risk_class.title,
            level=resolved.risk_class.level,
            prohibited=resolved.prohibited,
            lineage=[r.id for r in resolved.lineage],
        ),
        hypercare=resolved.hypercare,
        prohibited_reason=reason,
        controls=results,
        inputs=inputs,
        summary=Summary(
            counts=counts,
            blocked_failing=blocked_failing,
            compliant=verdict is Verdict.COMPLIANT,
            verdict=verdict,
        ),
    )
