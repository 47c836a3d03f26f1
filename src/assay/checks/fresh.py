"""`fresh`: the newest matching record is no older than `max_age`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..cel.words import article, duration_words, kind_words
from ..evidence.index import Record
from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.duration import Duration
from ..models.evidence_kinds import EVIDENCE_KINDS
from ..models.policy import FreshCheck
from . import query
from .base import (
    CheckContext,
    EvaluationError,
    Words,
    closest_miss,
    fmt_age,
    fmt_time,
    label,
    on_rows,
    param_note,
    result,
    unmet,
)


def _newer_unmatched(
    check: FreshCheck, ctx: CheckContext, field: str, newest: datetime
) -> Record | None:
    """The newest record of the kind that is newer than ``newest`` but fails `where`: the
    reader's first question when a review or audit "exists" yet the check is stale."""
    if check.where is None:
        return None
    later = [
        r for r in ctx.visible(check.evidence) if (t := r.time(field)) is not None and t > newest
    ]
    return max(later, key=lambda r: (r.time(field), r.id)) if later else None


def run(check: FreshCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
    """Pass when the newest matching record is recent enough."""
    _max_age(check, ctx)  # a bad `max_age` is the error, whatever the records
    records, errors = ctx.select(check)
    field = check.time_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
    dated = [(t, r) for r in records if (t := r.time(field)) is not None]
    findings = list(errors)
    if not dated:
        return _none_counts(check, ctx, policy, findings, 0)
    newest_time, newest = max(dated, key=lambda item: (item[0], item[1].id))
    skipped = _newer_unmatched(check, ctx, field, newest_time)
    return _result(check, ctx, policy, len(dated), newest, skipped, findings, 0)


def _none_counts(
    check: FreshCheck,
    ctx: CheckContext,
    policy: SourcePointer,
    findings: list[Finding],
    unshown: int,
) -> CheckResult:
    """No dated record matches: the result names the closest miss; ``findings`` so far
    (the errors of `where`)."""
    max_age = _max_age(check, ctx)
    kind = kind_words(check.evidence)
    closest = closest_miss(check, ctx, [])
    summary = f"Expected a {kind} no older than {duration_words(max_age)}; found none" + (
        " that counts." if closest is not None else "."
    )
    findings = [*findings, Finding(outcome="fail", message=f"no {kind} counts")]
    if closest is not None:
        findings.append(closest)
    return result(
        check, policy, records=0, findings=findings, summary=summary, failed=True, unshown=unshown
    )


def _max_age(check: FreshCheck, ctx: CheckContext) -> Duration:
    max_age = ctx.duration(check.max_age)
    if max_age is None:
        raise EvaluationError("`max_age` is required")
    return max_age


def _result(
    check: FreshCheck,
    ctx: CheckContext,
    policy: SourcePointer,
    count: int,
    newest: Record,
    skipped: Record | None,
    findings: list[Finding],
    unshown: int,
) -> CheckResult:
    """``count`` dated matching records, the newest of them, and the newest record of the
    kind that is newer yet does not match; ``findings`` so far (the errors of `where`)."""
    max_age = _max_age(check, ctx)
    field = check.time_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
    newest_time = newest.time(field)
    assert newest_time is not None
    oldest_allowed = max_age.before(ctx.as_of)
    kind = kind_words(check.evidence)
    allowed = f"{duration_words(max_age)}{param_note(ctx, check.max_age)}"
    age = (ctx.as_of - newest_time).total_seconds()
    ok = newest_time >= oldest_allowed
    summary = (
        f"Expected {article(kind)} no older than {duration_words(max_age)}; the newest "
        f"({newest.id}, {field} {fmt_time(newest_time)}) is {fmt_age(age)} old."
    )
    skipped_time = skipped.time(field) if skipped is not None else None
    if skipped is not None and skipped_time is not None and not ok:
        where = ctx.expression(check.id, "where")
        missed = unmet(where, ctx, skipped) if where is not None else None
        findings.append(
            Finding(
                outcome="fail",
                message=f"a newer {kind}, {skipped.id} ({field} {fmt_time(skipped_time)}), "
                f"does not count: {missed.text() if missed else 'it does not match'}",
                evidence=[skipped.pointer_model()],
                condition=missed.condition if missed else None,
            )
        )
    findings.append(
        Finding(
            outcome="pass" if ok else "fail",
            message=f"the newest {label(newest)} has {field} {fmt_time(newest_time)}, "
            f"{fmt_age(age)} before the as-of time; "
            + (
                f"at most {allowed} is allowed"
                if ok
                else f"it must be no older than {allowed}, so no older than "
                f"{fmt_time(oldest_allowed)}"
            ),
            evidence=[newest.pointer_model()],
        )
    )
    return result(
        check,
        policy,
        records=count,
        findings=findings,
        summary=summary,
        failed=not ok,
        unshown=unshown,
    )


def run_many(
    check: FreshCheck, contexts: Sequence[CheckContext], policy: SourcePointer
) -> list[CheckResult | EvaluationError | None]:
    """Every workflow's newest matching record from one query per group of workflows (see
    :mod:`assay.checks.query`), with the newest record that is newer but does not match,
    and the first rows whose `where` could not be evaluated."""
    evidence = query.stored(contexts, check.evidence)
    if evidence is None:
        return on_rows(contexts)
    where = contexts[0].expression(check.id, "where")
    done: dict[int, CheckResult | EvaluationError | None] = {}
    ready = []
    for ctx in contexts:
        try:
            _max_age(check, ctx)
        except EvaluationError as err:
            done[id(ctx)] = err
        else:
            ready.append(ctx)
    conditions = [query.Condition("where", where.source, check.evidence)] if where else []
    groups, _ = query.plan(ready, conditions)
    moment = query.as_of(contexts)
    field = check.time_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
    ft = f"epoch_us(r.{query.quote(field)})"
    for group in groups:
        none_count: list[tuple[CheckContext, list[Finding], int]] = []
        w = group.sql["where"].text if where is not None else "TRUE"
        source = query.selection(
            check, moment,
            [f"({w}) AS w", f"{ft} AS ft", f"{query.in_window(check, moment)} AS inwin"],
            windowed=False,
        )  # fmt: skip
        # Per workflow: the errors of `where` in the window (ranked by file and line), the
        # newest dated match (by time, then id), and the newest visible record newer than it.
        sql = f"""
            WITH {group.params(evidence, {"start_us": query.window_start(check)})},
            vis AS MATERIALIZED ({source}),
            dated AS (
                SELECT *, row_number() OVER (PARTITION BY wf ORDER BY ft DESC, id DESC) AS n,
                    count(*) OVER (PARTITION BY wf) AS total
                FROM vis WHERE inwin AND w AND ft IS NOT NULL
            ),
            newest AS (SELECT * FROM dated WHERE n = 1),
            later AS (
                SELECT v.*, row_number() OVER (
                    PARTITION BY v.wf ORDER BY v.ft DESC, v.id DESC
                ) AS n
                FROM vis v JOIN newest m ON m.wf = v.wf WHERE v.ft > m.ft
            ),
            errors AS (
                SELECT *, {query.pointer_rank("inwin")} AS rk, count(*) OVER (PARTITION BY wf) AS total
                FROM vis WHERE inwin AND w IS NULL
            )
            SELECT wf, 'newest' AS cat, blob, ord, path, total FROM newest
            UNION ALL SELECT wf, 'later', blob, ord, path, NULL FROM later WHERE n = 1
            UNION ALL SELECT wf, 'we', blob, ord, path, total FROM errors
                WHERE rk <= {query.FINDING_ROWS}
        """
        found = query.query(evidence, sql, ["wf", "cat", "blob", "ord", "path", "total"])
        rebuilt = query.records(evidence, check.evidence, [r for f in found.values() for r in f])
        for ctx in group.contexts:
            items = found.get(ctx.workflow.workflow.id, [])

            newest = _one(items, rebuilt, "newest")
            count = next((int(i["total"]) for i in items if i["cat"] == "newest"), 0)
            wrong = [i for i in items if i["cat"] == "we"]
            errors: list[Finding] = []
            for item in wrong:
                assert where is not None
                errors += ctx.filter([rebuilt[(item["blob"], item["ord"])]], where, "where")[1]
            if len(errors) != len(wrong):
                done[id(ctx)] = None  # the row evaluator disagrees: it decides
                continue
            error_count = int(wrong[0]["total"]) if wrong else 0
            if newest is None:
                none_count.append((ctx, errors, error_count - len(errors)))
                continue
            skipped = _one(items, rebuilt, "later") if where is not None else None
            done[id(ctx)] = _result(
                check, ctx, policy, count, newest, skipped, errors, error_count - len(errors)
            )
        query.find_closest(evidence, check, [ctx for ctx, _, _ in none_count])
        for ctx, errors, unshown in none_count:
            done[id(ctx)] = _none_counts(check, ctx, policy, errors, unshown)
    return [done.get(id(ctx)) for ctx in contexts]


def _one(
    items: list[dict[str, Any]], rebuilt: dict[tuple[int, int], Record], cat: str
) -> Record | None:
    hit = [rebuilt[(i["blob"], i["ord"])] for i in items if i["cat"] == cat]
    return hit[0] if hit else None


class Fresh:
    model = FreshCheck

    def run(self, check: FreshCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
        return run(check, ctx, policy)

    def run_many(
        self, check: FreshCheck, contexts: Sequence[CheckContext], policy: SourcePointer
    ) -> list[CheckResult | EvaluationError | None]:
        return run_many(check, contexts, policy)

    def words(self, check: FreshCheck, records: str, ref: Words) -> str:
        return f"The newest of the {records} is no older than {ref(check.max_age)}."

    def never_fails(self, check: FreshCheck) -> str | None:
        return None


KIND = Fresh()
