"""`present`: at least `min` matching records exist (within the window)."""

from __future__ import annotations

from collections.abc import Sequence

from ..cel.words import duration_words, kind_plural, kind_words
from ..evidence.index import Record
from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.policy import PresentCheck
from . import query
from .base import (
    CheckContext,
    EvaluationError,
    Words,
    closest_miss,
    on_rows,
    param_note,
    result,
)


def run(check: PresentCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
    """Pass when enough matching records exist."""
    needed = _needed(check, ctx)
    records, errors = ctx.select(check)
    found = len(records)
    findings = _findings(check, ctx, needed, found, records[-5:], errors)
    if found < needed:
        closest = closest_miss(check, ctx, records)
        if closest is not None:
            findings.append(closest)
    return _result(check, ctx, policy, needed, found, findings, 0)


def _needed(check: PresentCheck, ctx: CheckContext) -> int:
    needed = ctx.param(check.min)
    if not isinstance(needed, int) or isinstance(needed, bool):
        raise EvaluationError(f"`min` must be an integer, got {needed!r}")
    return needed


def _findings(
    check: PresentCheck,
    ctx: CheckContext,
    needed: int,
    found: int,
    last: list[Record],
    errors: list[Finding],
) -> list[Finding]:
    """The findings of ``found`` matching records, the newest ``last``."""
    window = ctx.duration(check.window) if check.window else None
    scope = f" in the last {duration_words(window)}" if window is not None else ""
    ok = found >= needed
    kind = check.evidence
    findings = list(errors)
    required = (
        f"at least {needed} {'is' if needed == 1 else 'are'} required{param_note(ctx, check.min)}"
    )
    if found:
        findings.append(
            Finding(
                outcome="pass" if ok else "fail",
                message=f"{found} matching {kind_plural(kind) if found != 1 else kind_words(kind)}"
                f"{scope}" + ("" if ok else f"; {required}"),
                evidence=[r.pointer_model() for r in last],
            )
        )
    elif not ok:
        findings.append(
            Finding(outcome="fail", message=f"no {kind_words(kind)} matches{scope}; {required}")
        )
    return findings


def _result(
    check: PresentCheck,
    ctx: CheckContext,
    policy: SourcePointer,
    needed: int,
    found: int,
    findings: list[Finding],
    unshown: int,
) -> CheckResult:
    window = ctx.duration(check.window) if check.window else None
    scope = f" in the last {duration_words(window)}" if window is not None else ""
    ok = found >= needed
    summary = f"Expected at least {kind_plural(check.evidence, needed)}{scope}; found {found}."
    return result(
        check,
        policy,
        records=found,
        findings=findings,
        summary=summary,
        failed=not ok,
        unshown=unshown,
    )


def run_many(
    check: PresentCheck, contexts: Sequence[CheckContext], policy: SourcePointer
) -> list[CheckResult | EvaluationError | None]:
    """Every workflow's count from one query per group of workflows (see
    :mod:`assay.checks.query`), with the five newest matching rows and the first rows
    whose `where` could not be evaluated. A workflow with too few records is left to the
    row evaluator: its finding names the closest miss among all the kind's records."""
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
            {"start_us": query.window_start(check)},
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
            needed = _needed(check, ctx)
            if facts.count("p") < needed:
                continue  # the row evaluator words the closest miss
            errors: list[Finding] = []
            for item in facts.of("we"):
                assert where is not None
                errors += ctx.filter([rebuilt[(item["blob"], item["ord"])]], where, "where")[1]
            if len(errors) != len(facts.of("we")):
                continue  # the row evaluator disagrees: it decides
            last = [rebuilt[(i["blob"], i["ord"])] for i in facts.latest]
            count = facts.count("p")
            findings = _findings(check, ctx, needed, count, last, errors)
            done[id(ctx)] = _result(
                check, ctx, policy, needed, count, findings, facts.count("we") - len(errors)
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
