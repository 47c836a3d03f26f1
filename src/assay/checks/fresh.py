"""`fresh`: the newest matching record is no older than `max_age`."""

from __future__ import annotations

from datetime import datetime

from ..evidence.index import Record
from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.evidence_kinds import EVIDENCE_KINDS
from ..models.policy import FreshCheck
from .base import (
    CheckContext,
    EvaluationError,
    Words,
    explain_values,
    fmt_age,
    fmt_time,
    result,
    unmet_part,
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
    max_age = ctx.duration(check.max_age)
    if max_age is None:
        raise EvaluationError("`max_age` is required")
    records, errors = ctx.select(check)
    field = check.time_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
    dated = [(t, r) for r in records if (t := r.time(field)) is not None]
    oldest_allowed = max_age.before(ctx.as_of)
    findings = list(errors)
    if not dated:
        summary = f"Expected a {check.evidence} no older than {max_age.describe()}; found none."
        findings.append(Finding(outcome="fail", message=f"no matching {check.evidence} record"))
        return result(check, policy, records=0, findings=findings, summary=summary, failed=True)
    newest_time, newest = max(dated, key=lambda item: (item[0], item[1].id))
    age = (ctx.as_of - newest_time).total_seconds()
    ok = newest_time >= oldest_allowed
    summary = (
        f"Expected a {check.evidence} no older than {max_age.describe()}; the newest "
        f"({newest.id}, {field} {fmt_time(newest_time)}) is {fmt_age(age)} old."
    )
    skipped = _newer_unmatched(check, ctx, field, newest_time)
    skipped_time = skipped.time(field) if skipped is not None else None
    if skipped is not None and skipped_time is not None and not ok:
        where = ctx.expression(check.id, "where")
        unmet = unmet_part(where, ctx, skipped) if where is not None else ""
        findings.append(
            Finding(
                outcome="fail",
                message=f"a newer {check.evidence}, {skipped.id} ({field} "
                f"{fmt_time(skipped_time)}), does not count: it does not meet "
                f"`{unmet}` ({explain_values(unmet, skipped, ctx)})",
                evidence=[skipped.pointer_model()],
            )
        )
    findings.append(
        Finding(
            outcome="pass" if ok else "fail",
            message=f"newest {check.evidence} {newest.id} has {field} {fmt_time(newest_time)}, "
            f"{fmt_age(age)} before the as-of time"
            + ("" if ok else f" (older than the {max_age.describe()} allowed)"),
            evidence=[newest.pointer_model()],
        )
    )
    return result(
        check, policy, records=len(dated), findings=findings, summary=summary, failed=not ok
    )


class Fresh:
    model = FreshCheck

    def run(self, check: FreshCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
        return run(check, ctx, policy)

    def words(self, check: FreshCheck, records: str, ref: Words) -> str:
        return f"The newest of the {records} is no older than {ref(check.max_age)}."

    def never_fails(self, check: FreshCheck) -> str | None:
        return None


KIND = Fresh()
