"""`covered`: every matching record has a linked record of another kind, in time.

E.g. every SEV1 incident has a blameless postmortem within 5 business days of its
resolution. A record whose deadline has not passed yet at the as-of time is *pending*,
not failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..cel import Expression, ExpressionRuntimeError
from ..cel.parser import Parser
from ..cel.words import Unmet, duration_words, kind_plural, kind_words, show
from ..evidence.index import Record
from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.evidence_kinds import EVIDENCE_KINDS
from ..models.policy import CoveredCheck
from .base import (
    CheckContext,
    Words,
    closest_miss,
    empty_window_allowed,
    error_finding,
    fmt_time,
    label,
    one_line,
    param_note,
    result,
    unmet,
)

TOPIC_FIELDS = ("metric",)
"""Fields that say what a record is about, for a record that must cover itself (``the
breach at 03:15 on psi_income``)."""


@dataclass
class _Rejected:
    """A linked record that did not count, and the condition it did not meet (put in words
    only when the record it should have covered fails: most are never needed)."""

    record: Record
    condition: Expression
    matched: bool
    """True when it matched `by.where` and failed only `assert`."""

    def why(self, ctx: CheckContext, src: Record) -> Unmet:
        return unmet(self.condition, ctx, self.record, src)


def _noun(check: CoveredCheck) -> str | None:
    """What a covered record is, from a `where` that is one boolean field (``r.breach``)."""
    if check.where is not None:
        try:
            tree = Parser(check.where.strip()).parse()
        except Exception:  # noqa: BLE001 - any text the parser cannot read gets the kind
            tree = None
        if (
            tree is not None
            and tree.kind == "select"
            and tree.target is not None
            and tree.target.kind == "ident"
            and tree.target.value == "r"
        ):
            return str(tree.value).replace("_", " ")
    return None


def _verb(field: str) -> str | None:
    """``triaged_at`` -> ``triaged``: the deed a time field records (one plain word only:
    ``si_screened_at`` reads better as the field)."""
    stem = field[:-3]
    return stem if field.endswith("ed_at") and "_" not in stem else None


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
    linked = kind_words(link.evidence)
    within = (
        f"within {duration_words(deadline)} of {from_field}{param_note(ctx, check.deadline)}"
        if deadline is not None
        else ""
    )
    verb = _verb(to_field)

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
        rejected: _Rejected | None = None
        for cand in candidates:
            extra = {"src": src.data}
            try:
                # A record never covers itself unless the check says so (self_cover): it is
                # no reason worth naming when it is among its own candidates.
                itself = cand is src and not self_cover
                if where is not None and not ctx.test(where, cand, extra):
                    if rejected is None and not itself:
                        rejected = _Rejected(cand, where, False)
                    continue
                if condition is not None and not ctx.test(condition, cand, extra):
                    if (rejected is None or not rejected.matched) and not itself:
                        rejected = _Rejected(cand, condition, True)
                    continue
            except ExpressionRuntimeError as err:
                findings.append(error_finding("assert", cand, err))
                continue
            usable.append(cand)
        on_time = [
            c for c in usable if due is None or ((t := c.time(to_field)) is not None and t <= due)
        ]
        name = label(src)
        pointers = [src.pointer_model()]
        noun = _noun(check) if self_cover else None
        if noun is not None:
            topic = next(
                (v for f in TOPIC_FIELDS if isinstance(v := getattr(src.data, f, None), str)),
                None,
            )
            when = f" at {fmt_time(start)}" if isinstance(start, datetime) else ""
            # "drift log X: the breach at 03:15 on psi_income has not been triaged"
            subject = f"{name}: the {noun}{when}" + (f" on {topic}" if topic else "")
        else:
            subject = name
        if on_time:
            best = on_time[0]
            counts["pass"] += 1
            t = best.time(to_field)
            if self_cover:
                done = f"was {verb}" if verb else f"has {to_field}"
                message = f"{name} {done} at {fmt_time(t)}" if t else f"{name} is covered"
                if t and due:
                    message += f", in time (due by {fmt_time(due)})"
            else:
                message = f"{name} is covered by {linked} {best.id}" + (
                    f" ({to_field} {fmt_time(t)}, due {fmt_time(due)})" if due and t else ""
                )
            findings.append(
                Finding(
                    outcome="pass",
                    message=message,
                    evidence=pointers + ([] if self_cover else [best.pointer_model()]),
                )
            )
            continue
        if deadline is not None and not isinstance(start, datetime) and not usable:
            counts["pending"] += 1
            findings.append(
                Finding(
                    outcome="pending",
                    message=f"{name} has no {from_field} yet, so its {linked} is not due",
                    evidence=pointers,
                )
            )
            continue
        due_words = (
            f"; it was due {within}, by {fmt_time(due)}"
            if due is not None and deadline is not None and deadline.amount > 0
            else f"; it was due by {from_field}, {fmt_time(due)}"
            if due is not None
            else ""
        )
        if usable:
            late = usable[0]
            t = late.time(to_field)
            counts["fail"] += 1
            when = fmt_time(t) if t else "missing"
            if self_cover and verb:
                message = f"{subject} was {verb} too late: {to_field} is {when}"
                if due is not None:
                    message += f"; it had to be {verb} {within}, by {fmt_time(due)}"
            elif self_cover:
                message = f"{subject}: {to_field} is {when}, too late{due_words}"
            else:
                message = (
                    f"{name}: {linked} {late.id} came too late: {to_field} is {when}{due_words}"
                )
            findings.append(
                Finding(
                    outcome="fail",
                    message=message,
                    evidence=pointers + ([] if self_cover else [late.pointer_model()]),
                )
            )
            continue
        if due is not None and as_of < due:
            counts["pending"] += 1
            findings.append(
                Finding(
                    outcome="pending",
                    message=f"{name} has no {linked} yet; it is due {within}, by {fmt_time(due)}",
                    evidence=pointers,
                )
            )
            continue
        counts["fail"] += 1
        cel: str | None = None
        if rejected is not None and self_cover:
            missed = rejected.why(ctx, src)
            if verb:
                text = f"{subject} has not been {verb} ({missed.text()})"
                if due is not None:
                    text += f"; it had to be {verb} {within}, by {fmt_time(due)}"
            else:
                text = f"{subject}: {missed.text()}{due_words}"
            findings.append(
                Finding(outcome="fail", message=text, evidence=pointers, condition=missed.condition)
            )
            continue
        if key is None:
            why = f"{link.source_key} is missing, so no {linked} can link to it"
        elif rejected is not None:
            missed = rejected.why(ctx, src)
            why = f"{linked} {rejected.record.id} does not count: {missed.text()}"
            cel = missed.condition
            pointers.append(rejected.record.pointer_model())
        elif due is not None:
            why = f"no {linked} links to it{due_words}"
        else:
            why = f"no {linked} links to it ({link.key} {show(key)})"
        findings.append(
            Finding(outcome="fail", message=f"{name}: {why}", evidence=pointers, condition=cel)
        )

    total = len(sources)
    empty = total == 0 and not check.allow_empty
    kind = check.evidence
    if empty:
        findings.append(
            Finding(outcome="fail", message=f"no {kind_words(kind)} matches: no evidence")
        )
        closest = closest_miss(check, ctx, sources)
        if closest is not None:
            findings.append(closest)
        summary = f"Expected {kind_plural(kind)} to check; found none (no evidence)."
    else:
        summary = (
            f"{check.description.rstrip('.')}: {counts['pass']} of "
            f"{kind_plural(kind, total)} covered"
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
