"""`every`: every matching record in the window satisfies `assert`."""

from __future__ import annotations

from ..cel import ExpressionRuntimeError
from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.policy import EveryCheck
from .base import (
    CheckContext,
    EvaluationError,
    Words,
    empty_window_allowed,
    error_finding,
    explain_values,
    one_line,
    plural,
    result,
    unmet_part,
)


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
            findings.append(error_finding("assert", record, err))
    for record in failing:
        unmet = unmet_part(condition, ctx, record)
        findings.append(
            Finding(
                outcome="fail",
                message=f"{record.kind} {record.id} does not meet `{unmet}` "
                f"({explain_values(unmet, record, ctx)})",
                evidence=[record.pointer_model()],
            )
        )
    empty = not records
    if empty and not check.allow_empty:
        findings.append(
            Finding(outcome="fail", message=f"no matching {check.evidence} record: no evidence")
        )
        summary = f"Expected {check.evidence} records to check; found none (no evidence)."
    elif failing:
        summary = (
            f"{check.description.rstrip('.')}: {len(failing)} of "
            f"{plural(len(records), check.evidence + ' record')} do not."
        )
    elif any(f.outcome == "error" for f in findings):
        errors = sum(f.outcome == "error" for f in findings)
        summary = (
            f"{check.description.rstrip('.')}: could not be evaluated on "
            f"{plural(errors, check.evidence + ' record')}."
        )
    else:
        summary = (
            f"{check.description.rstrip('.')}: all "
            f"{plural(len(records), 'matching ' + check.evidence + ' record')} do."
        )
        if records:
            findings.append(
                Finding(
                    outcome="pass",
                    message=f"{plural(len(records), check.evidence + ' record')} checked",
                    evidence=[r.pointer_model() for r in records[-5:]],
                )
            )
    return result(
        check,
        policy,
        records=len(records),
        findings=findings,
        summary=summary,
        failed=bool(failing) or (empty and not check.allow_empty),
    )


class Every:
    model = EveryCheck

    def run(self, check: EveryCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
        return run(check, ctx, policy)

    def words(self, check: EveryCheck, records: str, ref: Words) -> str:
        empty = "Having none is acceptable." if check.allow_empty else "Having none is a failure."
        return f"Every one of the {records} satisfies `{one_line(check.assert_)}`. {empty}"

    def never_fails(self, check: EveryCheck) -> str | None:
        return empty_window_allowed(check)


KIND = Every()
