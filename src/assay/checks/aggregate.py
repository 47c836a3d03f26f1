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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..cel import ExpressionRuntimeError, words
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
    closest_miss,
    empty_window_allowed,
    error_finding,
    one_line,
    param_note,
    plural,
    result,
)
from .base import scope as base_scope

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


_STATISTICS = {
    "sum": "total",
    "mean": "average",
    "min": "smallest",
    "max": "largest",
    "p50": "median",
    "p95": "95th percentile",
    "p99": "99th percentile",
}


@dataclass(frozen=True)
class _Reading:
    """How the statistic of a check reads: its phrase and how values are shown."""

    phrase: str
    style: str  # "span", "percent" or "number"
    unit: str | None = None
    pooled: words.PooledRatio | None = None

    def show(self, value: float) -> str:
        if self.style == "span":
            return words.span(value)
        if self.style == "percent":
            return words.percent_words(value)
        return words.show(value, self.unit)


def _reading(check: AggregateCheck, ctx: CheckContext, is_duration: bool) -> _Reading:
    kind = check.evidence
    fn = check.function
    if fn == "count":
        return _Reading(f"the number of {words.kind_plural(kind)}", "number")
    if fn == "rate":
        per = ctx.duration(check.per)
        note = param_note(ctx, check.per).strip(" ()")
        every = (
            f" (one every {words.duration_words(per)}{', ' + note if note else ''})" if per else ""
        )
        return _Reading(
            f"the share of the expected {words.kind_plural(kind)}{every} that exist", "percent"
        )
    if fn == "max_gap":
        return _Reading(f"the longest time without {words.article(words.kind_words(kind))}", "span")
    source = check.value or ""
    scope = base_scope(ctx)
    if fn == "ratio":
        return _Reading(
            f"the share of {words.kind_plural(kind)} where {words.requirement(source, scope)}",
            "percent",
        )
    if fn == "sum" and check.op in (">=", ">") and _is_zero(ctx.param(check.threshold)):
        pooled = words.pooled_ratio(source, scope)
        if pooled is not None:
            return _Reading(pooled.phrase, "percent", pooled=pooled)
    style = "span" if is_duration else "number"
    return _Reading(
        f"the {_STATISTICS[fn]} of {words.measure(source, scope)}", style, words.unit(source)
    )


def _is_zero(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def _required(op: str, shown: str) -> str:
    """``at least 95 % is required``, ``at most 2 h is allowed``."""
    if op == "==":
        return f"exactly {shown} is required"
    verdict = "allowed" if op in ("<", "<=") else "required"
    return f"{words.bound_words(op, shown)} is {verdict}"


def _group_label(value: Any) -> str:
    return value if isinstance(value, str) else words.show(value)


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
        label = _group_label(getattr(record.data, check.group_by)) if check.group_by else ""
        groups.setdefault(label, []).append(record)

    time_field = check.time_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
    start = ctx.window_start(check.window)
    launched = midnight(ctx.workflow.workflow.launched)
    effective_start = max(start, launched) if start is not None else launched
    compare = OPS[check.op]
    reading = _reading(check, ctx, is_duration or check.function == "max_gap")
    if reading.pooled is not None:
        share_note, share = _share(reading.pooled, ctx)
        target = _required(check.op, f"{words.percent_words(share)}{share_note}")
    else:
        shown = words.duration_words(threshold_raw) if is_duration else reading.show(threshold)
        target = _required(check.op, f"{shown}{param_note(ctx, check.threshold)}")
    failures = 0
    for label in sorted(groups):
        members = groups[label]
        try:
            stat = _statistic(check, ctx, members, time_field, effective_start)
            over = f"over {words.kind_plural(check.evidence, len(members))}"
            found = _found(reading, ctx, members, stat, over)
        except _RecordError as err:
            findings.append(err.finding)
            continue
        ok = compare(stat, threshold)
        failures += not ok
        prefix = f"for {check.group_by} {label}: " if check.group_by else ""
        findings.append(
            Finding(
                outcome="pass" if ok else "fail",
                message=f"{prefix}{reading.phrase} is {found}; {target}",
                evidence=[r.pointer_model() for r in members[-3:]],
                condition=one_line(check.value) if check.value else None,
            )
        )
    empty = not records and not check.allow_empty
    kind = check.evidence
    if empty:
        findings.append(
            Finding(outcome="fail", message=f"no {words.kind_words(kind)} matches: no evidence")
        )
        closest = closest_miss(check, ctx, records)
        if closest is not None:
            findings.append(closest)
        summary = f"Expected {words.kind_plural(kind)} to aggregate; found none (no evidence)."
    else:
        per_group = f", for every {check.group_by}," if check.group_by else ""
        expected = target.rsplit(" is ", 1)[0]
        summary = f"Expected {reading.phrase}{per_group} to be {expected}; " + (
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


def _share(pooled: words.PooledRatio, ctx: CheckContext) -> tuple[str, float]:
    """The share a pooled ratio is held to, and the note naming its parameter."""
    value = words.evaluate(pooled.share, base_scope(ctx))
    name = pooled.share.strip()
    note = ""
    if name.startswith("params.") and name[7:].isidentifier():
        note = f" ({words.param_note(name[7:], ctx.control.param_sources)})"
    return note, float(value)


def _found(
    reading: _Reading, ctx: CheckContext, members: list[Record], stat: float, over: str
) -> str:
    """The statistic in words; a pooled ratio as its share and its counts."""
    if reading.pooled is None:
        return f"{reading.show(stat)} ({over})"
    top = bottom = 0.0
    for record in members:
        scope = base_scope(ctx, record)
        try:
            top += float(words.evaluate(reading.pooled.numerator, scope))
            bottom += float(words.evaluate(reading.pooled.denominator, scope))
        except ExpressionRuntimeError as err:
            raise _RecordError(error_finding("value", record, err)) from None
    if bottom == 0:
        return f"undefined: there is nothing to count ({over})"
    share = words.percent_words(top / bottom)
    return f"{share} ({words.number_words(top)} of {words.number_words(bottom)}, {over})"


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
