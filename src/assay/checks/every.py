"""`every`: every matching record in the window satisfies `assert`."""

from __future__ import annotations

from ..cel import ExpressionRuntimeError
from ..cel.words import kind_plural, kind_words
from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.policy import EveryCheck
from .base import (
    MAX_FINDINGS,
    CheckContext,
    EvaluationError,
    Words,
    closest_miss,
    empty_window_allowed,
    error_finding,
    label,
    one_line,
    result,
    unmet,
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
            findings.append(error_finding("assert", record, err, one_line(condition.source)))
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
    empty = not records
    if empty and not check.allow_empty:
        findings.append(
            Finding(outcome="fail", message=f"no {kind_words(kind)} matches: no evidence")
        )
        closest = closest_miss(check, ctx, records)
        if closest is not None:
            findings.append(closest)
        summary = f"Expected {kind_plural(kind)} to check; found none (no evidence)."
    elif failing:
        summary = (
            f"{check.description.rstrip('.')}: {len(failing)} of "
            f"{kind_plural(kind, len(records))} do not."
        )
    elif any(f.outcome == "error" for f in findings):
        errors = sum(f.outcome == "error" for f in findings)
        summary = (
            f"{check.description.rstrip('.')}: could not be evaluated on "
            f"{kind_plural(kind, errors)}."
        )
    else:
        summary = f"{check.description.rstrip('.')}: " + (
            f"the one matching {kind_words(kind)} does."
            if len(records) == 1
            else f"all {len(records)} matching {kind_plural(kind)} do."
        )
        if records:
            findings.append(
                Finding(
                    outcome="pass",
                    message=f"{kind_plural(kind, len(records))} checked",
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
