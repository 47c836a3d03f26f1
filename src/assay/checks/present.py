"""`present`: at least `min` matching records exist (within the window)."""

from __future__ import annotations

from ..cel.words import duration_words, kind_plural, kind_words
from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.policy import PresentCheck
from .base import (
    CheckContext,
    EvaluationError,
    Words,
    closest_miss,
    param_note,
    result,
)


def run(check: PresentCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
    """Pass when enough matching records exist."""
    needed = ctx.param(check.min)
    if not isinstance(needed, int) or isinstance(needed, bool):
        raise EvaluationError(f"`min` must be an integer, got {needed!r}")
    records, errors = ctx.select(check)
    window = ctx.duration(check.window) if check.window else None
    scope = f" in the last {duration_words(window)}" if window is not None else ""
    found = len(records)
    ok = found >= needed
    kind = check.evidence
    summary = f"Expected at least {kind_plural(kind, needed)}{scope}; found {found}."
    findings = list(errors)
    required = (
        f"at least {needed} {'is' if needed == 1 else 'are'} required{param_note(ctx, check.min)}"
    )
    if records:
        findings.append(
            Finding(
                outcome="pass" if ok else "fail",
                message=f"{found} matching {kind_plural(kind) if found != 1 else kind_words(kind)}"
                f"{scope}" + ("" if ok else f"; {required}"),
                evidence=[r.pointer_model() for r in records[-5:]],
            )
        )
    elif not ok:
        findings.append(
            Finding(outcome="fail", message=f"no {kind_words(kind)} matches{scope}; {required}")
        )
    if not ok:
        closest = closest_miss(check, ctx, records)
        if closest is not None:
            findings.append(closest)
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
