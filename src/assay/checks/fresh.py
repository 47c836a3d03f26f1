"""`fresh`: the newest matching record is no older than `max_age`."""

from __future__ import annotations

from datetime import datetime

from ..cel.words import article, duration_words, kind_words
from ..evidence.index import Record
from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.evidence_kinds import EVIDENCE_KINDS
from ..models.policy import FreshCheck
from .base import (
    CheckContext,
    EvaluationError,
    Words,
    closest_miss,
    fmt_age,
    fmt_time,
    label,
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
    max_age = ctx.duration(check.max_age)
    if max_age is None:
        raise EvaluationError("`max_age` is required")
    records, errors = ctx.select(check)
    field = check.time_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
    dated = [(t, r) for r in records if (t := r.time(field)) is not None]
    oldest_allowed = max_age.before(ctx.as_of)
    findings = list(errors)
    kind = kind_words(check.evidence)
    allowed = f"{duration_words(max_age)}{param_note(ctx, check.max_age)}"
    if not dated:
        closest = closest_miss(check, ctx, [r for _, r in dated])
        summary = f"Expected a {kind} no older than {duration_words(max_age)}; found none" + (
            " that counts." if closest is not None else "."
        )
        findings.append(Finding(outcome="fail", message=f"no {kind} counts"))
        if closest is not None:
            findings.append(closest)
        return result(check, policy, records=0, findings=findings, summary=summary, failed=True)
    newest_time, newest = max(dated, key=lambda item: (item[0], item[1].id))
    age = (ctx.as_of - newest_time).total_seconds()
    ok = newest_time >= oldest_allowed
    summary = (
        f"Expected {article(kind)} no older than {duration_words(max_age)}; the newest "
        f"({newest.id}, {field} {fmt_time(newest_time)}) is {fmt_age(age)} old."
    )
    skipped = _newer_unmatched(check, ctx, field, newest_time)
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
