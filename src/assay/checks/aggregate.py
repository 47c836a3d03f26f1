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
from ..cel.sql import SqlType
from ..evidence.engines.columns import record_sql_type
from ..evidence.index import Record
from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.duration import Duration
from ..models.evidence_kinds import EVIDENCE_KINDS
from ..models.policy import AggregateCheck
from ..resolve import midnight
from . import query
from .base import (
    CheckContext,
    EvaluationError,
    Words,
    closest_miss,
    empty_window_allowed,
    error_finding,
    on_rows,
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


def _threshold(check: AggregateCheck, ctx: CheckContext) -> tuple[Any, float, bool]:
    """The threshold as given, in seconds or as a number, and whether it is a duration."""
    threshold_raw = ctx.param(check.threshold)
    is_duration = isinstance(threshold_raw, Duration)
    if is_duration:
        threshold = threshold_raw.approx_seconds()
    elif isinstance(threshold_raw, int | float) and not isinstance(threshold_raw, bool):
        threshold = float(threshold_raw)
    else:
        raise EvaluationError(f"`threshold` must be a number or a duration, got {threshold_raw!r}")
    return threshold_raw, threshold, is_duration


@dataclass
class _Group:
    """One group's statistic (or the error finding that stopped it)."""

    label: str
    count: int
    last: list[Record]
    """Its newest records (three at most), oldest first."""
    members: list[Record] | None = None
    """All its records (on the row evaluator only; a pooled ratio words them)."""
    stat: float | None = None
    error: Finding | None = None


def run(check: AggregateCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
    """Pass when the statistic (of every group) meets the threshold."""
    records, findings = ctx.select(check)
    _threshold(check, ctx)
    groups: dict[str, list[Record]] = {}
    for record in records:
        label = _group_label(getattr(record.data, check.group_by)) if check.group_by else ""
        groups.setdefault(label, []).append(record)

    time_field = check.time_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
    effective_start = _effective_start(check, ctx)
    stats = []
    for label in sorted(groups):
        members = groups[label]
        group = _Group(label, len(members), members[-3:], members)
        try:
            group.stat = _statistic(check, ctx, members, time_field, effective_start)
        except _RecordError as err:
            group.error = err.finding
        stats.append(group)
    return _result(check, ctx, policy, len(records), stats, findings, 0)


def _effective_start(check: AggregateCheck, ctx: CheckContext) -> datetime:
    start = ctx.window_start(check.window)
    launched = midnight(ctx.workflow.workflow.launched)
    return max(start, launched) if start is not None else launched


def _result(
    check: AggregateCheck,
    ctx: CheckContext,
    policy: SourcePointer,
    total: int,
    groups: list[_Group],
    findings: list[Finding],
    unshown: int,
) -> CheckResult:
    """``total`` matching records in ``groups`` (label order); ``findings`` so far (the
    errors of `where`)."""
    threshold_raw, threshold, is_duration = _threshold(check, ctx)
    findings = list(findings)
    compare = OPS[check.op]
    reading = _reading(check, ctx, is_duration or check.function == "max_gap")
    if reading.pooled is not None:
        share_note, share = _share(reading.pooled, ctx)
        target = _required(check.op, f"{words.percent_words(share)}{share_note}")
    else:
        shown = words.duration_words(threshold_raw) if is_duration else reading.show(threshold)
        target = _required(check.op, f"{shown}{param_note(ctx, check.threshold)}")
    failures = 0
    for group in groups:
        label = group.label
        if group.error is not None:
            findings.append(group.error)
            continue
        stat = group.stat
        assert stat is not None
        try:
            over = f"over {words.kind_plural(check.evidence, group.count)}"
            found = _found(reading, ctx, group.members or [], stat, over)
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
                evidence=[r.pointer_model() for r in group.last],
                condition=one_line(check.value) if check.value else None,
            )
        )
    empty = not total and not check.allow_empty
    kind = check.evidence
    if empty:
        findings.append(
            Finding(outcome="fail", message=f"no {words.kind_words(kind)} matches: no evidence")
        )
        closest = closest_miss(check, ctx, [])
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
        records=total,
        findings=findings,
        summary=summary,
        failed=empty or failures > 0,
        unshown=unshown,
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
        return _rate(check, ctx, len(members), effective_start)
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
    return _of_values(fn, values)


def _rate(check: AggregateCheck, ctx: CheckContext, count: int, effective_start: datetime) -> float:
    per = ctx.duration(check.per)
    if per is None or per.business:
        raise EvaluationError("`per` must be a calendar duration for rate")
    span = (ctx.as_of - effective_start).total_seconds()
    expected = span / per.as_timedelta().total_seconds()
    return count / expected if expected > 0 else math.inf


def _of_values(fn: str, values: list[float]) -> float:
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


def run_many(
    check: AggregateCheck, contexts: Sequence[CheckContext], policy: SourcePointer
) -> list[CheckResult | EvaluationError | None]:
    """Every workflow's groups from one query per group of workflows (see
    :mod:`assay.checks.query`): per group its count, the gaps of `max_gap` or the values of
    `value` (in record order; the statistic itself is Python's, as on the row evaluator),
    its three newest rows, and the first rows whose `where` could not be evaluated.

    Left to the row evaluator: a group label of another type than text, a `value` of
    another type than the function takes, or a `value` that is null or an error on some
    record (its error finding, or the error of the check, is the row evaluator's)."""
    evidence = query.stored(contexts, check.evidence)
    label_type = record_sql_type(check.evidence)
    columns = dict(label_type.fields)
    if evidence is None or (
        check.group_by is not None
        and (check.group_by not in columns or columns[check.group_by].name != "string")
    ):
        return on_rows(contexts)
    where = contexts[0].expression(check.id, "where")
    value = contexts[0].expression(check.id, "value")
    fn = check.function
    if fn not in ("count", "rate", "max_gap") and value is None:
        return on_rows(contexts)  # the row evaluator words the missing `value`
    done: dict[int, CheckResult | EvaluationError | None] = {}
    ready = []
    for ctx in contexts:
        try:
            _threshold(check, ctx)
        except EvaluationError as err:
            done[id(ctx)] = err
        else:
            ready.append(ctx)
    conditions = [query.Condition("where", where.source, check.evidence)] if where else []
    valued = fn not in ("count", "rate", "max_gap")
    if valued:
        assert value is not None
        conditions.append(query.Condition("value", value.source, check.evidence, value=True))
    groups, _ = query.plan(ready, conditions)
    moment = query.as_of(contexts)
    time_field = check.time_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
    for group in groups:
        if valued and not _value_type_fits(fn, group.types["value"]):
            continue  # the row evaluator raises what it raises
        w = group.sql["where"].text if where is not None else "TRUE"
        # The raw value: Python words it as the row evaluator does (two values that read
        # alike would make one group there: such a workflow is left to it).
        label = f"r.{query.quote(check.group_by)}" if check.group_by else "''"
        v = group.sql["value"].text if valued else "NULL"
        tt = f"epoch_us(r.{query.quote(time_field)})"
        source = query.selection(
            check, moment, [f"({w}) AS w", f"{label} AS label", f"({v}) AS v", f"{tt} AS tt"]
        )
        params = {"start_us": query.window_start(check)}
        with_clause = f"""{group.params(evidence, params)},
            sel AS MATERIALIZED (SELECT * FROM ({source}) WHERE w IS NULL OR w),
            members AS (SELECT * FROM sel WHERE w)"""
        gap = "NULL"
        if fn == "max_gap":
            with_clause += """,
            gaps AS (
                SELECT wf, label, max(gap) AS gap FROM (
                    SELECT wf, label, tt - lag(tt) OVER (PARTITION BY wf, label ORDER BY tt) AS gap
                    FROM members
                ) GROUP BY wf, label
            )"""
            gap = "(SELECT g.gap FROM gaps g WHERE g.wf = m.wf AND g.label IS NOT DISTINCT FROM m.label)"
        sql = f"""
            WITH {with_clause},
            errors AS (
                SELECT *, {query.pointer_rank("w IS NULL")} AS rk,
                    count(*) OVER (PARTITION BY wf) AS total
                FROM sel WHERE w IS NULL
            )
            SELECT wf, 'g' AS part, label, NULL AS blob, NULL AS ord, NULL AS path,
                count(*) AS n, min(tt) AS first, max(tt) AS last, any_value({gap}) AS gap,
                {"list(v ORDER BY t, id)" if valued else "NULL"} AS vals,
                {"bool_or(v IS NULL)" if valued else "FALSE"} AS nulls,
                {query.newest_column(3)} AS latest
            FROM members m GROUP BY wf, label
            UNION ALL
            SELECT wf, 'e', NULL, blob, ord, path, total, NULL, NULL, NULL, NULL, NULL, NULL
            FROM errors WHERE rk <= {query.FINDING_ROWS}
        """
        names = ["wf", "part", "label", "blob", "ord", "path", "n", "first", "last", "gap"]
        found = query.query(evidence, sql, [*names, "vals", "nulls", "latest"])
        latest = query.settle_newest(
            evidence,
            {
                (i["wf"], i["label"]): i["latest"]
                for f in found.values()
                for i in f
                if i["part"] == "g"
            },
            3,
            with_clause=with_clause,
            table="members",
            keys=["wf", "label"],
        )
        rows = [i for items in found.values() for i in items if i["part"] != "g"]
        rows += [i for items in latest.values() for i in items]
        rebuilt = query.records(evidence, check.evidence, rows)
        if not check.allow_empty:
            counted = {wf for wf, items in found.items() if any(i["part"] == "g" for i in items)}
            empty = [ctx for ctx in group.contexts if ctx.workflow.workflow.id not in counted]
            query.find_closest(evidence, check, empty)
        for ctx in group.contexts:
            wf = ctx.workflow.workflow.id
            items = found.get(wf, [])
            try:
                done[id(ctx)] = _from_rows(check, ctx, policy, items, rebuilt, group.types, latest)
            except query.Mismatch:
                done[id(ctx)] = None
            except EvaluationError as err:
                done[id(ctx)] = err
    return [done.get(id(ctx)) for ctx in contexts]


def _value_type_fits(fn: str, sql_type: SqlType) -> bool:
    """Whether every non-null value of this static type is one the function takes without
    an error (so that the statistic is the one the row evaluator works out)."""
    if fn == "ratio":
        return sql_type.name == "bool"
    return sql_type.name in ("int", "double", "duration")


def _from_rows(
    check: AggregateCheck,
    ctx: CheckContext,
    policy: SourcePointer,
    items: list[dict[str, Any]],
    rebuilt: dict[tuple[int, int], Record],
    types: dict[str, SqlType],
    latest: dict[tuple[Any, ...], list[dict[str, Any]]],
) -> CheckResult:
    fn = check.function
    effective_start = _effective_start(check, ctx)
    wf = ctx.workflow.workflow.id
    groups: list[_Group] = []
    total = 0
    if _reading(check, ctx, False).pooled is not None:
        raise query.Mismatch("a pooled ratio is worded from every record")
    labelled = [
        (_group_label(i["label"]) if check.group_by else "", i) for i in items if i["part"] == "g"
    ]
    if len({label for label, _ in labelled}) != len(labelled):
        raise query.Mismatch("two group values that read alike")
    for label, item in sorted(labelled, key=lambda x: x[0]):
        count = int(item["n"])
        total += count
        last = [rebuilt[(i["blob"], i["ord"])] for i in latest.get((wf, item["label"]), [])]
        group = _Group(label, count, last)
        if fn == "count":
            group.stat = float(count)
        elif fn == "rate":
            group.stat = _rate(check, ctx, count, effective_start)
        elif fn == "max_gap":
            edges = [
                item["first"] - query.us(effective_start),
                query.us(ctx.as_of) - item["last"],
            ]
            if item["gap"] is not None:
                edges.append(item["gap"])
            group.stat = max(edges) / 1_000_000  # as timedelta.total_seconds() gives it
        else:
            if item["nulls"]:
                raise query.Mismatch("a value that is null or an error")
            scale = 1_000_000 if types["value"].name == "duration" else 1
            values = [
                (1.0 if v else 0.0) if fn == "ratio" else (v / scale if scale != 1 else float(v))
                for v in item["vals"]
            ]
            group.stat = _of_values(fn, values)
        groups.append(group)
    where = ctx.expression(check.id, "where")
    wrong = [i for i in items if i["part"] == "e"]
    errors: list[Finding] = []
    for item in wrong:
        if where is None:
            raise query.Mismatch("an error of a `where` the check does not have")
        errors += ctx.filter([rebuilt[(item["blob"], item["ord"])]], where, "where")[1]
    if len(errors) != len(wrong):
        raise query.Mismatch("the row evaluator does not confirm a `where` error")
    error_count = int(wrong[0]["n"]) if wrong else 0
    return _result(check, ctx, policy, total, groups, errors, error_count - len(errors))


class Aggregate:
    model = AggregateCheck

    def run(self, check: AggregateCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
        return run(check, ctx, policy)

    def run_many(
        self, check: AggregateCheck, contexts: Sequence[CheckContext], policy: SourcePointer
    ) -> list[CheckResult | EvaluationError | None]:
        return run_many(check, contexts, policy)

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
