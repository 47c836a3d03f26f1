"""`every`: every matching record in the window satisfies `assert`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..cel import ExpressionRuntimeError
from ..cel.words import kind_plural, kind_words
from ..evidence.index import Record
from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.policy import EveryCheck
from . import query
from .base import (
    MAX_FINDINGS,
    CheckContext,
    EvaluationError,
    Words,
    closest_miss,
    empty_window_allowed,
    error_finding,
    label,
    on_rows,
    one_line,
    result,
    unmet,
)


@dataclass
class _Facts:
    """What the findings and the summary are made of: counts, and the records to name
    (all of them on the row evaluator; the first by file and line from a query)."""

    total: int
    """Matching records."""
    failing: list[Record]
    failing_count: int
    errors: list[Finding]
    error_count: int
    last: list[Record] = field(default_factory=list)
    """The newest matching records (five at most)."""


def run(check: EveryCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
    """Pass when no matching record violates the assertion (and some exist, unless allowed)."""
    records, findings = ctx.select(check)
    condition = ctx.expression(check.id, "assert")
    if condition is None:
        raise EvaluationError("`assert` is missing")
    failing = []
    for record in records:
        try:
            if not ctx.test(condition, record):
                failing.append(record)
        except ExpressionRuntimeError as err:
            findings.append(error_finding("assert", record, err, one_line(condition.source)))
    facts = _Facts(len(records), failing, len(failing), findings, len(findings), records[-5:])
    return _result(check, ctx, policy, facts)


def _result(
    check: EveryCheck, ctx: CheckContext, policy: SourcePointer, facts: _Facts
) -> CheckResult:
    condition = ctx.expression(check.id, "assert")
    assert condition is not None
    findings = list(facts.errors)
    failing = list(facts.failing)
    # Only the first failures (in the order a report lists them) are put in words: the
    # others are counted as omitted, and a million failing records must not cost a
    # million sentences.
    failing.sort(key=lambda r: (r.source.path, r.line or 0, r.id))
    for index, record in enumerate(failing):
        if index < MAX_FINDINGS:
            missed = unmet(condition, ctx, record)
            message, cel = f"{label(record)}: {missed.text()}", missed.condition
        else:
            message, cel = f"{label(record)} does not meet the condition", None
        findings.append(
            Finding(
                outcome="fail",
                message=message,
                evidence=[record.pointer_model()],
                condition=cel,
            )
        )
    kind = check.evidence
    empty = not facts.total
    if empty and not check.allow_empty:
        findings.append(
            Finding(outcome="fail", message=f"no {kind_words(kind)} matches: no evidence")
        )
        closest = closest_miss(check, ctx, [])
        if closest is not None:
            findings.append(closest)
        summary = f"Expected {kind_plural(kind)} to check; found none (no evidence)."
    elif facts.failing_count:
        summary = (
            f"{check.description.rstrip('.')}: {facts.failing_count} of "
            f"{kind_plural(kind, facts.total)} do not."
        )
    elif facts.error_count:
        summary = (
            f"{check.description.rstrip('.')}: could not be evaluated on "
            f"{kind_plural(kind, facts.error_count)}."
        )
    else:
        summary = f"{check.description.rstrip('.')}: " + (
            f"the one matching {kind_words(kind)} does."
            if facts.total == 1
            else f"all {facts.total} matching {kind_plural(kind)} do."
        )
        if facts.total:
            findings.append(
                Finding(
                    outcome="pass",
                    message=f"{kind_plural(kind, facts.total)} checked",
                    evidence=[r.pointer_model() for r in facts.last],
                )
            )
    return result(
        check,
        policy,
        records=facts.total,
        findings=findings,
        summary=summary,
        failed=bool(facts.failing_count) or (empty and not check.allow_empty),
        unshown=facts.error_count - len(facts.errors) + facts.failing_count - len(failing),
    )


def run_many(
    check: EveryCheck, contexts: Sequence[CheckContext], policy: SourcePointer
) -> list[CheckResult | EvaluationError | None]:
    """Every workflow's result from one query per group of workflows (see
    :mod:`assay.checks.query`): the counts, the first error and failing rows by file and
    line, and the five newest matching rows."""
    evidence = query.stored(contexts, check.evidence)
    where = contexts[0].expression(check.id, "where") if contexts else None
    condition = contexts[0].expression(check.id, "assert") if contexts else None
    if evidence is None or condition is None:
        return on_rows(contexts)
    conditions = [query.Condition("assert", condition.source, check.evidence)]
    if where is not None:
        conditions.append(query.Condition("where", where.source, check.evidence))
    groups, _ = query.plan(contexts, conditions)
    done: dict[int, CheckResult | EvaluationError | None] = {}
    moment = query.as_of(contexts)
    for group in groups:
        w = group.sql["where"].text if where is not None else "TRUE"
        source = query.selection(
            check, moment, [f"({w}) AS w", f"({group.sql['assert'].text}) AS a"]
        )
        # we, ae: `where` or `assert` could not be evaluated (an error finding each);
        # f: fails `assert`; p: passes. Rows not matching `where` are dropped.
        category = (
            "CASE WHEN w IS NULL THEN 'we' WHEN NOT w THEN NULL WHEN a IS NULL THEN 'ae' "
            "WHEN NOT a THEN 'f' ELSE 'p' END"
        )
        found = query.classify(
            evidence,
            group,
            {"start_us": query.window_start(check)},
            source,
            category,
            ranked={"we": "e", "ae": "e", "f": "f"},
            newest=("ae", "f", "p"),
        )
        rebuilt = query.records(
            evidence, check.evidence, [r for f in found.values() for r in f.all_rows()]
        )
        if not check.allow_empty:
            empty = [
                ctx
                for ctx in group.contexts
                if found.get(ctx.workflow.workflow.id, query.Found()).count("ae", "f", "p") == 0
            ]
            query.find_closest(evidence, check, empty)
        for ctx in group.contexts:
            facts = found.get(ctx.workflow.workflow.id, query.Found())
            try:
                done[id(ctx)] = _from_rows(check, ctx, policy, facts, rebuilt)
            except query.Mismatch:
                done[id(ctx)] = None
    return [done.get(id(ctx)) for ctx in contexts]


def _from_rows(
    check: EveryCheck,
    ctx: CheckContext,
    policy: SourcePointer,
    found: query.Found,
    rebuilt: dict[tuple[int, int], Record],
) -> CheckResult:
    def record(item: dict[str, Any]) -> Record:
        return rebuilt[(item["blob"], item["ord"])]

    errors: list[Finding] = []
    where = ctx.expression(check.id, "where")
    condition = ctx.expression(check.id, "assert")
    assert condition is not None
    for item in found.of("we"):
        if where is None:
            raise query.Mismatch("an error of a `where` the check does not have")
        _, failed = ctx.filter([record(item)], where, "where")
        if not failed:
            raise query.Mismatch(f"`where` on {record(item)}")
        errors.extend(failed)
    for item in found.of("ae"):
        try:
            ctx.test(condition, record(item))
        except ExpressionRuntimeError as err:
            errors.append(error_finding("assert", record(item), err, one_line(condition.source)))
        else:
            raise query.Mismatch(f"`assert` on {record(item)}")
    facts = _Facts(
        found.count("ae", "f", "p"),
        [record(i) for i in found.of("f")],
        found.count("f"),
        errors,
        found.count("we", "ae"),
        [record(i) for i in found.latest],
    )
    return _result(check, ctx, policy, facts)


class Every:
    model = EveryCheck

    def run(self, check: EveryCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
        return run(check, ctx, policy)

    def run_many(
        self, check: EveryCheck, contexts: Sequence[CheckContext], policy: SourcePointer
    ) -> list[CheckResult | EvaluationError | None]:
        return run_many(check, contexts, policy)

    def words(self, check: EveryCheck, records: str, ref: Words) -> str:
        empty = "Having none is acceptable." if check.allow_empty else "Having none is a failure."
        return f"Every one of the {records} satisfies `{one_line(check.assert_)}`. {empty}"

    def never_fails(self, check: EveryCheck) -> str | None:
        return empty_window_allowed(check)


KIND = Every()
