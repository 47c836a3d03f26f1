"""`present`: at least `min` matching records exist (within the window)."""

from __future__ import annotations

from collections.abc import Sequence

from ..evidence.index import Record
from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.policy import PresentCheck
from . import query
from .base import (
    CheckContext,
    EvaluationError,
    Words,
    on_rows,
    plural,
    result,
)


def run(check: PresentCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
    """Pass when enough matching records exist."""
    needed = _needed(check, ctx)
    records, errors = ctx.select(check)
    return _result(check, ctx, policy, needed, len(records), records[-5:], errors, len(errors))


def _needed(check: PresentCheck, ctx: CheckContext) -> int:
    needed = ctx.param(check.min)
    if not isinstance(needed, int) or isinstance(needed, bool):
        raise EvaluationError(f"`min` must be an integer, got {needed!r}")
    return needed


def _result(
    check: PresentCheck,
    ctx: CheckContext,
    policy: SourcePointer,
    needed: int,
    found: int,
    last: list[Record],
    errors: list[Finding],
    error_count: int,
) -> CheckResult:
    scope = f" in the last {ctx.duration(check.window).describe()}" if check.window else ""  # type: ignore[union-attr]
    ok = found >= needed
    summary = (
        f"Expected at least {plural(needed, check.evidence + ' record')}{scope}; found {found}."
    )
    findings = list(errors)
    if found:
        findings.append(
            Finding(
                outcome="pass" if ok else "fail",
                message=f"{plural(found, 'matching ' + check.evidence + ' record')}{scope}"
                + ("" if ok else f", fewer than the {needed} required"),
                evidence=[r.pointer_model() for r in last],
            )
        )
    elif not ok:
        findings.append(
            Finding(outcome="fail", message=f"no matching {check.evidence} record{scope}")
        )
    return result(
        check,
        policy,
        records=found,
        findings=findings,
        summary=summary,
        failed=not ok,
        unshown=error_count - len(errors),
    )


def run_many(
    check: PresentCheck, contexts: Sequence[CheckContext], policy: SourcePointer
) -> list[CheckResult | EvaluationError | None]:
    """Every workflow's count from one query per group of workflows (see
    :mod:`assay.checks.query`), with the five newest matching rows and the first rows
    whose `where` could not be evaluated."""
    evidence = query.stored(contexts, check.evidence)
    if evidence is None:
        return on_rows(contexts)
    where = contexts[0].expression(check.id, "where")
    done: dict[int, CheckResult | EvaluationError | None] = {}
    ready = []
    for ctx in contexts:
        try:
            _needed(check, ctx)
        except EvaluationError as err:
            done[id(ctx)] = err
        else:
            ready.append(ctx)
    conditions = [query.Condition("where", where.source, check.evidence)] if where else []
    groups, _ = query.plan(ready, conditions)
    moment = query.as_of(contexts)
    for group in groups:
        w = group.sql["where"].text if where is not None else "TRUE"
        found = query.classify(
            evidence,
            group,
            {"start_us": lambda c: query.window_start(c, check)},
            query.selection(check, moment, [f"({w}) AS w"]),
            "CASE WHEN w IS NULL THEN 'we' WHEN w THEN 'p' END",
            ranked={"we": "e"},
            newest=("p",),
        )
        rebuilt = query.records(
            evidence, check.evidence, [r for f in found.values() for r in f.all_rows()]
        )
        for ctx in group.contexts:
            facts = found.get(ctx.workflow.workflow.id, query.Found())
            errors: list[Finding] = []
            for item in facts.of("we"):
                assert where is not None
                errors += ctx.filter([rebuilt[(item["blob"], item["ord"])]], where, "where")[1]
            if len(errors) != len(facts.of("we")):
                done[id(ctx)] = None  # the row evaluator disagrees: it decides
                continue
            last = [rebuilt[(i["blob"], i["ord"])] for i in facts.latest]
            needed = _needed(check, ctx)
            done[id(ctx)] = _result(
                check, ctx, policy, needed, facts.count("p"), last, errors, facts.count("we")
            )
    return [done.get(id(ctx)) for ctx in contexts]


class Present:
    model = PresentCheck

    def run(self, check: PresentCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
        return run(check, ctx, policy)

    def run_many(
        self, check: PresentCheck, contexts: Sequence[CheckContext], policy: SourcePointer
    ) -> list[CheckResult | EvaluationError | None]:
        return run_many(check, contexts, policy)

    def words(self, check: PresentCheck, records: str, ref: Words) -> str:
        return f"At least {ref(check.min)} {records} exist."

    def never_fails(self, check: PresentCheck) -> str | None:
        return "min is 0" if check.min == 0 else None


KIND = Present()
