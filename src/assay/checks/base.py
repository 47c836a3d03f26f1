"""What every check needs: the records it may see, parameters, CEL, and findings.

A check never sees records of another workflow, nor records that did not exist yet at
the as-of time (created later, or whose time lies in the future). Windows are
(as_of - window, as_of].
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..cel import Expression, ExpressionRuntimeError, words
from ..cel.predicates import field_predicate
from ..cel.words import Scope, Unmet
from ..evidence.index import Record
from ..load.project import Project
from ..models.assessment import CheckResult, CheckStatus, Finding, SourcePointer
from ..models.duration import Duration
from ..models.evidence_kinds import EVIDENCE_KINDS
from ..resolve import ResolvedControl, ResolvedWorkflow, cel_params
from .reads import fields_read

MAX_FINDINGS = 20


class EvaluationError(Exception):
    """A check could not be evaluated (fails closed as status `error`)."""


Words = Callable[[object], str]
"""Renders a check field in words: a parameter reference, a duration, a number."""


class CheckKind(Protocol):
    """Everything one kind of check knows, in one module of this package.

    Its model (in :mod:`assay.models.policy`) declares what the loader compiles and
    cross-checks; the kind runs the check, says in words what it requires, and tells the
    linter when it can never fail. Registered in :data:`assay.checks.CHECK_KINDS`.
    """

    @property
    def model(self) -> type[Any]:
        """The pydantic model of the check; its ``kind`` literal is the registry key."""
        ...

    def run(self, check: Any, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
        """Evaluate the check; raise EvaluationError when it cannot be (fails closed)."""
        ...

    def run_many(
        self, check: Any, contexts: Sequence[CheckContext], policy: SourcePointer
    ) -> list[CheckResult | EvaluationError | None]:
        """Evaluate the check for several workflows at once, as one query over the evidence
        store: the result (or the error) of each context, in order, exactly as :meth:`run`
        gives it, or None where the caller is to call :meth:`run` (the row evaluator)."""
        ...

    def words(self, check: Any, records: str, ref: Words) -> str:
        """What the check requires, in one or two sentences; ``records`` names the records
        it looks at (kind, filter and window already in words)."""
        ...

    def never_fails(self, check: Any) -> str | None:
        """Why the check can never fail, for lint; None when it can."""
        ...


@dataclass
class CheckContext:
    """The environment one control's checks run in."""

    project: Project
    workflow: ResolvedWorkflow
    control: ResolvedControl
    cache: dict[Any, Any] = field(default_factory=dict)
    """Shared by the controls of one workflow's assessment: visible records and selections
    are computed once (several checks often look at the same records the same way)."""
    closest: dict[str, Record | None] = field(default_factory=dict)
    """Per check id: the record :func:`closest_miss` names when none of that check's records
    counted, found by a query (:func:`assay.checks.query.find_closest`) so that the
    workflow's records of the kind need not all be rebuilt to pick one."""
    variables: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.variables = {
            "params": cel_params(self.control.params),
            "now": self.as_of,
            "workflow": self.workflow.cel_workflow(),
            "release": self.workflow.release or "",
        }

    @property
    def as_of(self) -> datetime:
        return self.workflow.as_of

    def expression(self, check_id: str, name: str) -> Expression | None:
        return self.project.expressions.get((self.control.control.id, check_id, name))

    def param(self, value: Any) -> Any:
        """Resolve a `$name` reference to this control's parameter value."""
        if isinstance(value, str) and value.startswith("$"):
            return self.control.params[value[1:]]
        return value

    def duration(self, value: Any) -> Duration | None:
        resolved = self.param(value)
        if resolved is None:
            return None
        if not isinstance(resolved, Duration):
            raise EvaluationError(f"expected a duration, got {resolved!r}")
        return resolved

    def visible(self, kind: str) -> Sequence[Record]:
        """Records of a kind for this workflow that existed at the as-of time."""
        key = ("visible", kind)
        cached = self.cache.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        records = self.project.evidence.records(self.workflow.workflow.id, kind)
        as_of = self.as_of
        # Sorted by time field: cut what lies in the future, then drop late-created records.
        field_name = EVIDENCE_KINDS[kind].TIME_FIELD
        cut = bisect.bisect_right(records, as_of, key=_time_key(field_name, as_of))
        head = records[:cut]
        if any(r.data.created_at > as_of for r in head):
            head = [r for r in head if r.data.created_at <= as_of]
        self.cache[key] = head
        return head

    def by_key(self, kind: str, field_name: str) -> dict[Any, list[Record]]:
        """This workflow's records of a kind by the value of a field (every record, visible
        or not), kept for the workflow's other checks: the store may let the records go
        between two asks when the kind is large."""
        key = ("by_key", kind, field_name)
        table = self.cache.get(key)
        if table is None:
            table = self.cache[key] = self.project.evidence.by_key(
                self.workflow.workflow.id, kind, field_name
            )
        return table

    def window_start(self, window: Any) -> datetime | None:
        span = self.duration(window)
        return span.before(self.as_of) if span is not None else None

    def select(self, check: Any) -> tuple[list[Record], list[Finding]]:
        """The records a check considers: visible, in its window, matching `where`.

        Returns them with error findings for records whose `where` could not be evaluated.
        """
        start = self.window_start(check.window)
        default_field = EVIDENCE_KINDS[check.evidence].TIME_FIELD
        field_name = check.time_field or default_field
        where = self.expression(check.id, "where")
        # `where` may read this control's parameters; then the selection is the control's own.
        owner = self.control.control.id if where is not None and "params" in where.variables else ""
        key = ("select", check.evidence, field_name, start, where.source if where else None, owner)
        cached = self.cache.get(key)
        if cached is not None:
            return list(cached[0]), list(cached[1])
        records = self.visible(check.evidence)
        if field_name == default_field:
            if start is not None:
                # Already sorted by this field: the window is a slice.
                lo = bisect.bisect_right(records, start, key=_time_key(field_name, start))
                records = records[lo:]
        else:
            records = [
                r
                for r in records
                if (t := getattr(r.data, field_name)) is not None
                and t <= self.as_of
                and (start is None or t > start)
            ]
        if where is None:
            selected: tuple[list[Record], list[Finding]] = (list(records), [])
        else:
            selected = self.filter(records, where, "where")
        self.cache[key] = selected
        return list(selected[0]), list(selected[1])

    def filter(
        self,
        records: Iterable[Record],
        expr: Expression,
        name: str,
        extra: dict[str, Any] | None = None,
    ) -> tuple[list[Record], list[Finding]]:
        """Records for which ``expr`` is true; evaluation failures become error findings."""
        records = list(records)
        if not extra and records:
            residual = self.residual(expr)
            if residual is True:
                return records, []
            if residual is False:
                return [], []
            expr = residual
            predicate = field_predicate(expr.source, EVIDENCE_KINDS[records[0].kind].model_fields)
            if predicate is not None:
                return [r for r in records if predicate(r.data)], []
        kept: list[Record] = []
        errors: list[Finding] = []
        variables = dict(self.variables)
        if extra:
            variables.update(extra)
        test = expr.test
        for record in records:
            variables["r"] = record.data
            try:
                if test(variables):
                    kept.append(record)
            except ExpressionRuntimeError as err:
                errors.append(error_finding(name, record, err))
        return kept, errors

    def residual(self, expr: Expression) -> Expression | bool:
        """``expr`` with the operands of a top-level ``&&``/``||`` chain that do not read the
        record evaluated once: a constant when they decide the result, else the chain of
        the record-dependent operands. CEL's ``&&`` and ``||`` are commutative, errors
        included (``false && error`` is false), so this gives the same answer per record."""
        plan = expr.chain(RECORD_VARIABLES)
        if plan is None:
            return expr
        decisive = plan.op == "||"  # the value that decides the chain
        try:
            values = [part.test(self.variables) for part in plan.constant]
        except ExpressionRuntimeError:
            return expr  # let every record report the error as CEL would
        if decisive in values:
            return decisive
        return plan.residual if plan.residual is not None else not decisive

    def test(self, expr: Expression, record: Record, extra: dict[str, Any] | None = None) -> bool:
        variables = dict(self.variables)
        variables["r"] = record.data
        if extra:
            variables.update(extra)
        return expr.test(variables)


RECORD_VARIABLES = frozenset({"r", "src"})
"""The CEL variables that differ from record to record."""


def _time_key(field_name: str, missing: datetime) -> Callable[[Record], datetime]:
    """Sort key of records by a time field; a record without a time counts as ``missing``
    (kept as "not in the future", and outside any window)."""

    def key(record: Record) -> datetime:
        value = getattr(record.data, field_name)
        return value if value is not None else missing

    return key


def scope(ctx: CheckContext, record: Record | None = None, src: Record | None = None) -> Scope:
    """What a condition saw on ``record`` (and, in a `covered` check, the record ``src``
    it covers), for :mod:`assay.cel.words`."""
    variables = dict(ctx.variables)
    labels: dict[str, str] = {}
    subject = ""
    if record is not None:
        variables["r"] = record.data
        subject = label(record)
    if src is not None:
        variables["src"] = src.data
        labels["src"] = label(src)
    return Scope(
        variables=variables,
        params=ctx.control.params,
        param_sources=ctx.control.param_sources,
        labels=labels,
        subject=subject,
    )


def unmet(expr: Expression, ctx: CheckContext, record: Record, src: Record | None = None) -> Unmet:
    """Why ``record`` does not meet ``expr``, in words, with the CEL of the unmet part."""
    return words.unmet(expr.source, scope(ctx, record, src))


def label(record: Record) -> str:
    """A record as a sentence names it: ``canary report CR-12``."""
    return f"{words.kind_words(record.kind)} {record.id}"


def param_note(ctx: CheckContext, value: Any) -> str:
    """`` (min_duration during hypercare)`` for a `$name` reference; empty for a literal."""
    if isinstance(value, str) and value.startswith("$"):
        return f" ({words.param_note(value[1:], ctx.control.param_sources)})"
    return ""


def closest_miss(
    check: Any, ctx: CheckContext, counted: Iterable[Record], *, why: str = "does not count"
) -> Finding | None:
    """The newest record of the check's kind that did not count, and why (outside the
    window, no time, or the unmet part of `where`): the reader's first question when a
    check "found none" although records exist. None when every record counted."""
    taken = {id(r) for r in counted}
    field_name = check.time_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
    as_of = ctx.as_of
    if not taken and check.id in ctx.closest:
        found = ctx.closest[check.id]
        if found is None:
            return None
        closest = found
    else:
        others = [r for r in ctx.visible(check.evidence) if id(r) not in taken]
        if not others:
            return None
        closest = max(
            others, key=lambda r: ((t := r.time(field_name)) is not None, t or as_of, r.id)
        )
    moment = closest.time(field_name)
    start = ctx.window_start(check.window)
    where = ctx.expression(check.id, "where")
    condition: str | None = None
    if moment is None:
        reason = f"{field_name} is missing, so it falls in no window"
    elif start is not None and moment <= start:
        span = ctx.duration(check.window)
        reason = (
            f"it lies outside the window of the last "
            f"{words.duration_words(span) if span else ''}{param_note(ctx, check.window)}, "
            f"which starts after {fmt_time(start)}"
        )
    elif where is not None:
        missed = unmet(where, ctx, closest)
        reason = missed.text()
        condition = missed.condition
    else:
        return None
    when = f" ({field_name} {fmt_time(moment)})" if moment is not None else ""
    return Finding(
        outcome="fail",
        message=f"the closest {words.kind_words(closest.kind)}, {closest.id}{when}, {why}: "
        f"{reason}",
        evidence=[closest.pointer_model()],
        condition=condition,
    )


def error_finding(
    name: str, record: Record, err: ExpressionRuntimeError, condition: str | None = None
) -> Finding:
    return Finding(
        outcome="error",
        message=f"the {name} condition could not be evaluated on {label(record)}: {err.message}",
        evidence=[record.pointer_model()],
        condition=condition,
    )


fmt_time = words.time_words
"""``2026-11-07 03:15 UTC``."""


def fmt_age(seconds: float) -> str:
    """A measured span: ``29 h 0 m``, ``100 days 4 h``."""
    return words.span(seconds)


def on_rows(contexts: Sequence[CheckContext]) -> list[CheckResult | EvaluationError | None]:
    """:meth:`CheckKind.run_many` for a kind (or a check) without a query: every context
    is left to the row evaluator."""
    return [None] * len(contexts)


def result(
    check: Any,
    policy: SourcePointer,
    *,
    records: int,
    findings: list[Finding],
    summary: str,
    failed: bool,
    unshown: int = 0,
) -> CheckResult:
    """Build a CheckResult: status from the findings, failures first, long lists cut.

    ``unshown`` counts findings that were never built (a query found them and counted
    them, but only the first :data:`MAX_FINDINGS` of each outcome were worded): they count
    as omitted."""
    status: CheckStatus
    if any(f.outcome == "error" for f in findings):
        status = "error"
    elif failed or any(f.outcome == "fail" for f in findings):
        status = "fail"
    else:
        status = "pass"
    order = {"error": 0, "fail": 1, "pending": 2, "pass": 3}
    ranked = sorted(findings, key=lambda f: (order[f.outcome], _first_pointer(f), f.message))
    shown = ranked[:MAX_FINDINGS]
    return CheckResult(
        id=check.id,
        kind=check.kind,
        description=check.description,
        status=status,
        summary=summary,
        records=records,
        findings=shown,
        omitted=len(ranked) - len(shown) + unshown,
        policy=policy,
        reads=fields_read(check),
    )


def _first_pointer(finding: Finding) -> tuple[str, int]:
    if not finding.evidence:
        return ("", 0)
    first = finding.evidence[0]
    return (first.file, first.line or 0)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def one_line(text: str) -> str:
    """A condition on one line, for a sentence."""
    return " ".join(text.split())


def empty_window_allowed(check: Any) -> str | None:
    """A check that passes on no evidence and looks at an empty window can never fail."""
    window = check.window
    if check.allow_empty and isinstance(window, Duration) and window.amount == 0:
        return "its window is empty and allow_empty is true"
    return None
