"""`present`: at least `min` matching records exist (within the window)."""

from __future__ import annotations

from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.policy import PresentCheck
from .base import (
    CheckContext,
    EvaluationError,
    Words,
    plural,
    result,
)


def run(check: PresentCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
    """Pass when enough matching records exist."""
    needed = ctx.param(check.min)
    if not isinstance(needed, int) or isinstance(needed, bool):
        raise EvaluationError(f"`min` must be an integer, got {needed!r}")
    records, errors = ctx.select(check)
    scope = f" in the last {ctx.duration(check.window).describe()}" if check.window else ""  # type: ignore[union-attr]
    found = len(records)
    ok = found >= needed
    summary = (
        f"Expected at least {plural(needed, check.evidence + ' record')}{scope}; found {found}."
    )
    findings = list(errors)
    if records:
        findings.append(
            Finding(
                outcome="pass" if ok else "fail",
                message=f"{plural(found, 'matching ' + check.evidence + ' record')}{scope}"
                + ("" if ok else f", fewer than the {needed} required"),
                evidence=[r.pointer_model() for r in records[-5:]],
            )
        )
    elif not ok:
        findings.append(
            Finding(outcome="fail", message=f"no matching {check.evidence} record{scope}")
        )
    return result(check, policy, records=found, findings=findings, summary=summary, failed=not ok)


class Present:
    model = PresentCheck

    def run(self, check: PresentCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
        return run(check, ctx, policy)

    def words(self, check: PresentCheck, records: str, ref: Words) -> str:
        return f"At least {ref(check.min)} {records} exist."

    def never_fails(self, check: PresentCheck) -> str | None:
        return "min is 0" if check.min == 0 else None


KIND = Present()
