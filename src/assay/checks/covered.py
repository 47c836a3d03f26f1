"""`covered`: every matching record has a linked record of another kind, in time.

E.g. every SEV1 incident has a blameless postmortem within 5 business days of its
resolution. A record whose deadline has not passed yet at the as-of time is *pending*,
not failing.
"""

from __future__ import annotations

from datetime import datetime

from ..cel import ExpressionRuntimeError
from ..evidence.index import Record
from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.evidence_kinds import EVIDENCE_KINDS
from ..models.policy import CoveredCheck
from .base import (
    CheckContext,
    Words,
    empty_window_allowed,
    error_finding,
    explain_values,
    fmt_time,
    one_line,
    plural,
    result,
    unmet_part,
)


def run(check: CoveredCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
    """Pass when every matching record is covered in time (pending ones do not fail)."""
    sources, findings = ctx.select(check)
    link = check.by
    deadline = ctx.duration(check.deadline)
    from_field = check.from_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
    to_field = check.to_field or EVIDENCE_KINDS[link.evidence].TIME_FIELD
    # A record that covers itself (e.g. a drift breach triaged on the same record) needs no
    # key table: building one over a million records would dominate the check.
    self_cover = link.evidence == check.evidence and link.key == link.source_key == "id"
    table = (
        {getattr(r.data, link.key): [r] for r in sources}
        if self_cover
        else ctx.project.evidence.by_key(ctx.workflow.workflow.id, link.evidence, link.key)
    )
    where = ctx.expression(check.id, "by.where")
    condition = ctx.expression(check.id, "assert")
    as_of = ctx.as_of
    counts = {"pass": 0, "fail": 0, "pending": 0}

    for src in sources:
        key = getattr(src.data, link.source_key)
        start = getattr(src.data, from_field)
        due = (
            deadline.after(start)
            if (deadline is not None and isinstance(start, datetime))
            else None
        )
        candidates = (
            [
                r
                for r in table.get(key, ())
                if r.data.created_at <= as_of and ((t := r.time(to_field)) is None or t <= as_of)
            ]
            if key is not None
            else []
        )
        usable: list[Record] = []
        failed_reason = ""
        rejected: Record | None = None
        for cand in candidates:
            extra = {"src": src.data}
            try:
                if where is not None and not ctx.test(where, cand, extra):
                    continue
                if condition is not None and not ctx.test(condition, cand, extra):
                    rejected = cand
                    unmet = unmet_part(condition, ctx, cand, src)
                    failed_reason = (
                        f"{link.evidence} {cand.id} does not meet `{unmet}` "
                        f"({explain_values(unmet, cand, ctx, src)})"
                    )
                    continue
            except ExpressionRuntimeError as err:
                findings.append(error_finding("assert", cand, err))
                continue
            usable.append(cand)
        on_time = [
            c for c in usable if due is None or ((t := c.time(to_field)) is not None and t <= due)
        ]
        label = f"{src.kind} {src.id}"
        pointers = [src.pointer_model()]
        if on_time:
            best = on_time[0]
            counts["pass"] += 1
            findings.append(
                Finding(
                    outcome="pass",
                    message=f"{label} is covered by {link.evidence} {best.id}"
                    + (
                        f" ({to_field} {fmt_time(t)}, due {fmt_time(due)})"
                        if due and (t := best.time(to_field))
                        else ""
                    ),
                    evidence=pointers + [best.pointer_model()],
                )
            )
            continue
        if deadline is not None and not isinstance(start, datetime) and not usable:
            counts["pending"] += 1
            findings.append(
                Finding(
                    outcome="pending",
                    message=f"{label} has no {from_field} yet, so its {link.evidence} is not due",
                    evidence=pointers,
                )
            )
            continue
        if usable:
            late = usable[0]
            t = late.time(to_field)
            counts["fail"] += 1
            findings.append(
                Finding(
                    outcome="fail",
                    message=f"{label}: {link.evidence} {late.id} came too late ({to_field} "
                    f"{fmt_time(t) if t else 'not set'}, due {fmt_time(due) if due else '?'}: "
                    f"{deadline.describe() if deadline else ''} after {from_field})",
                    evidence=pointers + [late.pointer_model()],
                )
            )
            continue
        if due is not None and as_of < due:
            counts["pending"] += 1
            findings.append(
                Finding(
                    outcome="pending",
                    message=f"{label} has no {link.evidence} yet; it is due by {fmt_time(due)}",
                    evidence=pointers,
                )
            )
            continue
        counts["fail"] += 1
        if key is None:
            why = f"it has no {link.source_key}"
        elif failed_reason:
            why = failed_reason
        elif due is not None:
            why = f"no {link.evidence} within {deadline.describe() if deadline else ''} of its {from_field} (due {fmt_time(due)})"
        else:
            why = f"no {link.evidence} links to it ({link.key} = {key!r})"
        if rejected is not None and failed_reason:
            pointers.append(rejected.pointer_model())
        findings.append(Finding(outcome="fail", message=f"{label}: {why}", evidence=pointers))

    total = len(sources)
    empty = total == 0 and not check.allow_empty
    if empty:
        findings.append(
            Finding(outcome="fail", message=f"no matching {check.evidence} record: no evidence")
        )
        summary = f"Expected {check.evidence} records to check; found none (no evidence)."
    else:
        summary = (
            f"{check.description.rstrip('.')}: {counts['pass']} of "
            f"{plural(total, check.evidence + ' record')} covered"
            + (f", {counts['fail']} not" if counts["fail"] else "")
            + (f", {counts['pending']} not yet due" if counts["pending"] else "")
            + "."
        )
    return result(
        check,
        policy,
        records=total,
        findings=findings,
        summary=summary,
        failed=empty or counts["fail"] > 0,
    )


class Covered:
    model = CoveredCheck

    def run(self, check: CoveredCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
        return run(check, ctx, policy)

    def words(self, check: CoveredCheck, records: str, ref: Words) -> str:
        link = (
            f"a `{check.by.evidence}` record whose `{check.by.key}` equals its "
            f"`{check.by.source_key}`"
        )
        if check.by.where:
            link += f" and matching `{one_line(check.by.where)}`"
        text = f"Every one of the {records} has {link}"
        if check.deadline is not None:
            start = f" of its `{check.from_field}`" if check.from_field else ""
            text += f", within {ref(check.deadline)}{start}"
        if check.assert_:
            text += f", satisfying `{one_line(check.assert_)}`"
        empty = " Nothing to cover is acceptable." if check.allow_empty else ""
        return text + "." + empty

    def never_fails(self, check: CoveredCheck) -> str | None:
        return empty_window_allowed(check)


KIND = Covered()
