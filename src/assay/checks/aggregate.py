"""`aggregate`: a statistic over matching records, compared with a threshold.

Durations aggregate as seconds. Percentiles use the nearest-rank method. `rate` counts
records per expected period (`per`) over the part of the window after launch; `max_gap`
is the longest stretch without a record, including from the window start to the first
record and from the last record to the as-of time.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from ..cel import ExpressionRuntimeError
from ..evidence.index import Record
from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.duration import Duration
from ..models.evidence_kinds import EVIDENCE_KINDS
from ..models.policy import AggregateCheck
from ..resolve import midnight
from .base import (
    CheckContext,
    EvaluationError,
    Words,
    empty_window_allowed,
    error_finding,
    fmt_age,
    plural,
    result,
)

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}


def _percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _number(value: Any, record: Record) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EvaluationError(
            f"`value` must give a number or a duration, got {value!r} on {record.kind} {record.id}"
        )
    return float(value)


def _show(value: float, is_duration: bool) -> str:
    if is_duration:
        return fmt_age(value)
    return f"{value:.4g}"


def run(check: AggregateCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
    """Pass when the statistic (of every group) meets the threshold."""
    records, findings = ctx.select(check)
    threshold_raw = ctx.param(check.threshold)
    is_duration = isinstance(threshold_raw, Duration)
    if is_duration:
        threshold = threshold_raw.approx_seconds()
    elif isinstance(threshold_raw, int | float) and not isinstance(threshold_raw, bool):
        threshold = float(threshold_raw)
    else:
        raise EvaluationError(f"`threshold` must be a number or a duration, got {threshold_raw!r}")
    groups: dict[str, list[Record]] = {}
    for record in records:
        label = str(getattr(record.data, check.group_by)) if check.group_by else ""
        groups.setdefault(label, []).append(record)

    time_field = check.time_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
    start = ctx.window_start(check.window)
    launched = midnight(ctx.workflow.workflow.launched)
    effective_start = max(start, launched) if start is not None else launched
    compare = OPS[check.op]
    failures = 0
    for label in sorted(groups):
        members = groups[label]
        try:
            stat = _statistic(check, ctx, members, time_field, effective_start)
        except _RecordError as err:
            findings.append(err.finding)
            continue
        ok = compare(stat, threshold)
        failures += not ok
        name = (
            f"{check.function} for {check.group_by} {label}" if check.group_by else check.function
        )
        shown_duration = is_duration or check.function == "max_gap"
        findings.append(
            Finding(
                outcome="pass" if ok else "fail",
                message=f"{name} = {_show(stat, shown_duration)} over {plural(len(members), 'record')}; "
                f"expected {check.op} {_show(threshold, shown_duration) if not is_duration else threshold_raw.describe()}",
                evidence=[r.pointer_model() for r in members[-3:]],
            )
        )
    empty = not records and not check.allow_empty
    if empty:
        findings.append(
            Finding(outcome="fail", message=f"no matching {check.evidence} record: no evidence")
        )
        summary = f"Expected {check.evidence} records to aggregate; found none (no evidence)."
    else:
        target = threshold_raw.describe() if is_duration else f"{threshold:g}"
        per_group = f" for every {check.group_by}" if check.group_by else ""
        summary = f"Expected {check.function}{per_group} {check.op} {target}; " + (
            f"{failures} of {plural(len(groups), 'group')} do not meet it."
            if check.group_by and failures
            else "it is not met."
            if failures
            else "it is met."
        )
    return result(
        check,
        policy,
        records=len(records),
        findings=findings,
        summary=summary,
        failed=empty or failures > 0,
    )


class _RecordError(Exception):
    def __init__(self, finding: Finding):
        self.finding = finding


def _statistic(
    check: AggregateCheck,
    ctx: CheckContext,
    members: list[Record],
    time_field: str,
    effective_start: datetime,
) -> float:
    fn = check.function
    if fn == "count":
        return float(len(members))
    if fn == "rate":
        per = ctx.duration(check.per)
        if per is None or per.business:
            raise EvaluationError("`per` must be a calendar duration for rate")
        span = (ctx.as_of - effective_start).total_seconds()
        expected = span / per.as_timedelta().total_seconds()
        return len(members) / expected if expected > 0 else math.inf
    if fn == "max_gap":
        times = sorted(t for r in members if (t := r.time(time_field)) is not None)
        points = [effective_start, *times, ctx.as_of]
        return max((b - a).total_seconds() for a, b in zip(points, points[1:], strict=False))
    expr = ctx.expression(check.id, "value")
    if expr is None:
        raise EvaluationError("`value` is required")
    values: list[float] = []
    variables = dict(ctx.variables)
    for record in members:
        variables["r"] = record.data
        try:
            raw = expr.evaluate(variables)
        except ExpressionRuntimeError as err:
            raise _RecordError(error_finding("value", record, err)) from None
        if fn == "ratio":
            if not isinstance(raw, bool):
                raise EvaluationError(f"`value` must be a boolean for ratio, got {raw!r}")
            values.append(1.0 if raw else 0.0)
        else:
            values.append(_number(raw, record))
    if not values:
        return math.nan
    if fn in ("sum",):
        return math.fsum(values)
    if fn == "min":
        return min(values)
    if fn == "max":
        return max(values)
    if fn in ("mean", "ratio"):
        return math.fsum(values) / len(values)
    return _percentile(values, {"p50": 50, "p95": 95, "p99": 99}[fn])


class Aggregate:
    model = AggregateCheck

    def run(self, check: AggregateCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
        return run(check, ctx, policy)

    def words(self, check: AggregateCheck, records: str, ref: Words) -> str:
        stat = check.function if check.value is None else f"{check.function} of `{check.value}`"
        if check.function == "rate" and check.per is not None:
            stat += f" per {ref(check.per)}"
        group = f", for every `{check.group_by}`," if check.group_by else ""
        empty = " Having none is acceptable." if check.allow_empty else ""
        return f"The {stat} over the {records}{group} is {check.op} {ref(check.threshold)}.{empty}"

    def never_fails(self, check: AggregateCheck) -> str | None:
        return empty_window_allowed(check)


KIND = Aggregate()
