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

from ..cel import ExpressionRuntimeError
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
    empty_window_allowed,
    error_finding,
    fmt_age,
    on_rows,
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
    stat: float | None = None
    error: Finding | None = None


def run(check: AggregateCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
    """Pass when the statistic (of every group) meets the threshold."""
    records, findings = ctx.select(check)
    _threshold(check, ctx)
    groups: dict[str, list[Record]] = {}
    for record in records:
        label = str(getattr(record.data, check.group_by)) if check.group_by else ""
        groups.setdefault(label, []).append(record)

    time_field = check.time_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
    effective_start = _effective_start(check, ctx)
    stats = []
    for label in sorted(groups):
        members = groups[label]
        group = _Group(label, len(members), members[-3:])
        try:
            group.stat = _statistic(check, ctx, members, time_field, effective_start)
        except _RecordError as err:
            group.error = err.finding
        stats.append(group)
    return _result(check, ctx, policy, len(records), stats, findings, len(findings))


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
    errors: list[Finding],
    error_count: int,
) -> CheckResult:
    threshold_raw, threshold, is_duration = _threshold(check, ctx)
    findings = list(errors)
    compare = OPS[check.op]
    failures = 0
    for group in groups:
        label = group.label
        if group.error is not None:
            findings.append(group.error)
            continue
        stat = group.stat
        assert stat is not None
        ok = compare(stat, threshold)
        failures += not ok
        name = (
            f"{check.function} for {check.group_by} {label}" if check.group_by else check.function
        )
        shown_duration = is_duration or check.function == "max_gap"
        findings.append(
            Finding(
                outcome="pass" if ok else "fail",
                message=f"{name} = {_show(stat, shown_duration)} over {plural(group.count, 'record')}; "
                f"expected {check.op} {_show(threshold, shown_duration) if not is_duration else threshold_raw.describe()}",
                evidence=[r.pointer_model() for r in group.last],
            )
        )
    empty = not total and not check.allow_empty
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
        records=total,
        findings=findings,
        summary=summary,
        failed=empty or failures > 0,
        unshown=error_count - len(errors),
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
        label = f"coalesce(r.{query.quote(check.group_by)}, 'None')" if check.group_by else "''"
        v = group.sql["value"].text if valued else "NULL"
        tt = f"epoch_us(r.{query.quote(time_field)})"
        source = query.selection(
            check, moment, [f"({w}) AS w", f"{label} AS label", f"({v}) AS v", f"{tt} AS tt"]
        )
        params = {"start_us": lambda c: query.window_start(c, check)}
        with_clause = f"""{group.params(params)},
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
            gap = "(SELECT g.gap FROM gaps g WHERE g.wf = m.wf AND g.label = m.label)"
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
                {"bool_or(v IS NULL)" if valued else "FALSE"} AS nulls
            FROM members m GROUP BY wf, label
            UNION ALL
            SELECT wf, 'e', NULL, blob, ord, path, total, NULL, NULL, NULL, NULL, NULL
            FROM errors WHERE rk <= {query.FINDING_ROWS}
        """
        names = ["wf", "part", "label", "blob", "ord", "path", "n", "first", "last", "gap"]
        found = query.query(evidence, sql, [*names, "vals", "nulls"])
        latest = query.newest_rows(evidence, with_clause, "members", ["wf", "label"], 3)
        rows = [i for items in found.values() for i in items if i["part"] != "g"]
        rows += [i for items in latest.values() for i in items]
        rebuilt = query.records(evidence, check.evidence, rows)
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
    for item in sorted((i for i in items if i["part"] == "g"), key=lambda i: str(i["label"])):
        count = int(item["n"])
        total += count
        last = [rebuilt[(i["blob"], i["ord"])] for i in latest.get((wf, item["label"]), [])]
        group = _Group(str(item["label"]), count, last)
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
    return _result(check, ctx, policy, total, groups, errors, error_count)


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
