"""`covered`: every matching record has a linked record of another kind, in time.

E.g. every SEV1 incident has a blameless postmortem within 5 business days of its
resolution. A record whose deadline has not passed yet at the as-of time is *pending*,
not failing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..cel import Expression, ExpressionRuntimeError
from ..cel.parser import Parser
from ..cel.sql import SqlType
from ..cel.words import Unmet, duration_words, kind_plural, kind_words, show
from ..evidence.engines.base import table_name
from ..evidence.engines.columns import kind_columns, record_sql_type
from ..evidence.index import Record
from ..models.assessment import CheckResult, Finding, SourcePointer
from ..models.evidence_kinds import EVIDENCE_KINDS
from ..models.policy import CoveredCheck
from . import query
from .base import (
    CheckContext,
    EvaluationError,
    Words,
    closest_miss,
    empty_window_allowed,
    error_finding,
    fmt_time,
    label,
    on_rows,
    one_line,
    param_note,
    result,
    unmet,
)

if TYPE_CHECKING:
    from ..evidence.store import StoredEvidence

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
    # A record that covers itself (e.g. a drift breach triaged on the same record) needs no
    # key table: building one over a million records would dominate the check.
    self_cover = link.evidence == check.evidence and link.key == link.source_key == "id"
    table = (
        {getattr(r.data, link.key): [r] for r in sources}
        if self_cover
        else ctx.by_key(link.evidence, link.key)
    )
    counts = {"pass": 0, "fail": 0, "pending": 0}
    for src in sources:
        key = getattr(src.data, link.source_key)
        outcome, finding, errors = _cover(
            check, ctx, src, table.get(key, ()) if key is not None else []
        )
        findings.extend(errors)
        findings.append(finding)
        counts[outcome] += 1
    return _result(check, ctx, policy, len(sources), counts, findings)


def _same(a: Record, b: Record) -> bool:
    """The same record (two rebuilds of it are equal, not identical)."""
    return a is b or (
        a.source.path == b.source.path
        and a.line == b.line
        and a.pointer == b.pointer
        and a.data.kind == b.data.kind
        and a.data.id == b.data.id
    )


def _test(ctx: CheckContext, expr: Expression | None) -> Callable[[dict[str, Any]], bool]:
    """``expr.test`` for the records of one control: its record-independent operands
    decided once (a constant answer, or the chain of the operands that read a record)."""
    if expr is None:
        return lambda scope: True
    key = ("residual", ctx.control.control.id, expr.source)
    found = ctx.cache.get(key)
    if found is None:
        residual = ctx.residual(expr)
        if isinstance(residual, bool):
            found = ctx.cache[key] = lambda scope: residual
        else:
            part = residual

            def test(scope: dict[str, Any]) -> bool:
                try:
                    return part.test(scope)
                except ExpressionRuntimeError:
                    # The error in the words of the whole condition, exactly as before.
                    return expr.test(scope)

            found = ctx.cache[key] = test
    return found


def _cover(
    check: CoveredCheck, ctx: CheckContext, src: Record, linked: Iterable[Record]
) -> tuple[str, Finding, list[Finding]]:
    """Whether one record is covered (pass, fail or pending), its finding, and the error
    findings of linked records the conditions could not be evaluated on. ``linked``: the
    records whose key matches, in index order."""
    link = check.by
    to_field = check.to_field or EVIDENCE_KINDS[link.evidence].TIME_FIELD
    self_cover = link.evidence == check.evidence and link.key == link.source_key == "id"
    where = ctx.expression(check.id, "by.where")
    condition = ctx.expression(check.id, "assert")
    as_of = ctx.as_of
    errors: list[Finding] = []
    key = getattr(src.data, link.source_key)
    due = _due(check, ctx, src)
    candidates = (
        [
            r
            for r in linked
            if r.data.created_at <= as_of and ((t := r.time(to_field)) is None or t <= as_of)
        ]
        if key is not None
        else []
    )
    usable: list[Record] = []
    rejected: _Rejected | None = None
    # The variables of ctx.test(..., cand, {"src": src.data}), made once for the candidates,
    # and the conditions with what reads neither record worked out once (see
    # CheckContext.residual: `!params.require_x || ...` is often true for every record).
    scope = dict(ctx.variables)
    scope["src"] = src.data
    where_test = _test(ctx, where)
    condition_test = _test(ctx, condition)
    for cand in candidates:
        scope["r"] = cand.data
        try:
            # A record never covers itself unless the check says so (self_cover): it is
            # no reason worth naming when it is among its own candidates.
            itself = _same(cand, src) and not self_cover
            if where is not None and not where_test(scope):
                if rejected is None and not itself:
                    rejected = _Rejected(cand, where, False)
                continue
            if condition is not None and not condition_test(scope):
                if (rejected is None or not rejected.matched) and not itself:
                    rejected = _Rejected(cand, condition, True)
                continue
        except ExpressionRuntimeError as err:
            errors.append(error_finding("assert", cand, err))
            continue
        usable.append(cand)
    on_time = next(
        (c for c in usable if due is None or ((t := c.time(to_field)) is not None and t <= due)),
        None,
    )
    first = usable[0] if usable else None
    outcome, finding = _word(check, ctx, src, due, on_time, first, rejected)
    return outcome, finding, errors


def _due(check: CoveredCheck, ctx: CheckContext, src: Record) -> datetime | None:
    """When ``src`` must be covered by: None without a deadline, or without a start."""
    deadline = ctx.duration(check.deadline)
    start = getattr(src.data, check.from_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD)
    return deadline.after(start) if (deadline is not None and isinstance(start, datetime)) else None


def _word(
    check: CoveredCheck,
    ctx: CheckContext,
    src: Record,
    due: datetime | None,
    on_time: Record | None,
    usable: Record | None,
    rejected: _Rejected | None,
) -> tuple[str, Finding]:
    """The outcome and finding of ``src``, due by ``due`` (:func:`_due`), from what its
    candidates came to: the first that covers it in time (``on_time``), the first that
    meets the conditions (``usable``), and the first that did not count (``rejected``),
    each in index order."""
    link = check.by
    deadline = ctx.duration(check.deadline)
    from_field = check.from_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
    to_field = check.to_field or EVIDENCE_KINDS[link.evidence].TIME_FIELD
    self_cover = link.evidence == check.evidence and link.key == link.source_key == "id"
    linked_words = kind_words(link.evidence)
    within = (
        f"within {duration_words(deadline)} of {from_field}{param_note(ctx, check.deadline)}"
        if deadline is not None
        else ""
    )
    verb = _verb(to_field)
    key = getattr(src.data, link.source_key)
    start = getattr(src.data, from_field)
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
    if on_time is not None:
        best = on_time
        t = best.time(to_field)
        if self_cover:
            done = f"was {verb}" if verb else f"has {to_field}"
            message = f"{name} {done} at {fmt_time(t)}" if t else f"{name} is covered"
            if t and due:
                message += f", in time (due by {fmt_time(due)})"
        else:
            message = f"{name} is covered by {linked_words} {best.id}" + (
                f" ({to_field} {fmt_time(t)}, due {fmt_time(due)})" if due and t else ""
            )
        return (
            "pass",
            Finding(
                outcome="pass",
                message=message,
                evidence=pointers + ([] if self_cover else [best.pointer_model()]),
            ),
        )
    if deadline is not None and not isinstance(start, datetime) and usable is None:
        return (
            "pending",
            Finding(
                outcome="pending",
                message=f"{name} has no {from_field} yet, so its {linked_words} is not due",
                evidence=pointers,
            ),
        )
    due_words = (
        f"; it was due {within}, by {fmt_time(due)}"
        if due is not None and deadline is not None and deadline.amount > 0
        else f"; it was due by {from_field}, {fmt_time(due)}"
        if due is not None
        else ""
    )
    if usable is not None:
        late = usable
        t = late.time(to_field)
        when = fmt_time(t) if t else "missing"
        if self_cover and verb:
            message = f"{subject} was {verb} too late: {to_field} is {when}"
            if due is not None:
                message += f"; it had to be {verb} {within}, by {fmt_time(due)}"
        elif self_cover:
            message = f"{subject}: {to_field} is {when}, too late{due_words}"
        else:
            message = (
                f"{name}: {linked_words} {late.id} came too late: {to_field} is {when}{due_words}"
            )
        return (
            "fail",
            Finding(
                outcome="fail",
                message=message,
                evidence=pointers + ([] if self_cover else [late.pointer_model()]),
            ),
        )
    if due is not None and ctx.as_of < due:
        return (
            "pending",
            Finding(
                outcome="pending",
                message=f"{name} has no {linked_words} yet; it is due {within}, by {fmt_time(due)}",
                evidence=pointers,
            ),
        )
    cel: str | None = None
    if rejected is not None and self_cover:
        missed = rejected.why(ctx, src)
        if verb:
            text = f"{subject} has not been {verb} ({missed.text()})"
            if due is not None:
                text += f"; it had to be {verb} {within}, by {fmt_time(due)}"
        else:
            text = f"{subject}: {missed.text()}{due_words}"
        return (
            "fail",
            Finding(outcome="fail", message=text, evidence=pointers, condition=missed.condition),
        )
    if key is None:
        why = f"{link.source_key} is missing, so no {linked_words} can link to it"
    elif rejected is not None:
        missed = rejected.why(ctx, src)
        why = f"{linked_words} {rejected.record.id} does not count: {missed.text()}"
        cel = missed.condition
        pointers.append(rejected.record.pointer_model())
    elif due is not None:
        why = f"no {linked_words} links to it{due_words}"
    else:
        why = f"no {linked_words} links to it ({link.key} {show(key)})"
    return (
        "fail",
        Finding(outcome="fail", message=f"{name}: {why}", evidence=pointers, condition=cel),
    )


def _result(
    check: CoveredCheck,
    ctx: CheckContext,
    policy: SourcePointer,
    total: int,
    counts: dict[str, int],
    findings: list[Finding],
    unshown: int = 0,
) -> CheckResult:
    empty = total == 0 and not check.allow_empty
    kind = check.evidence
    findings = list(findings)
    if empty:
        findings.append(
            Finding(outcome="fail", message=f"no {kind_words(kind)} matches: no evidence")
        )
        closest = closest_miss(check, ctx, [])
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
        unshown=unshown,
    )


def run_many(
    check: CoveredCheck, contexts: Sequence[CheckContext], policy: SourcePointer
) -> list[CheckResult | EvaluationError | None]:
    """Every workflow's coverage from one query per group of workflows (see
    :mod:`assay.checks.query`): each matching record joined with its linked records, the
    conditions evaluated per pair, each record classed pass, fail or pending; counts, and
    the records (and the pairs whose conditions could not be evaluated) that rank first by
    file and line, each with its first usable candidate. :func:`_word` words them exactly
    as on the row evaluator: a pass or a late failure from that candidate (its deadline
    checked again in Python), a pending record from nothing; a failure no candidate met
    goes through :func:`_cover` on its candidates, for the reason none counted (their
    conditions evaluated again: ~60 microseconds a record, most of a query's Python time
    before passes were worded from the query).

    A business-day deadline keeps the clock time of its start in the start's own UTC
    offset, which the tables do not hold: those deadlines are worked out in Python, on the
    matching records rebuilt. Keys of another type than text run on the row evaluator."""
    link = check.by
    evidence = query.stored(contexts, check.evidence, link.evidence)
    if evidence is None:
        return on_rows(contexts)
    source_type = dict(record_sql_type(check.evidence).fields)
    link_type = dict(record_sql_type(link.evidence).fields)
    if (
        source_type.get(link.source_key, SqlType("missing")).name != "string"
        or link_type.get(link.key, SqlType("missing")).name != "string"
    ):
        return on_rows(contexts)
    where = contexts[0].expression(check.id, "where")
    by_where = contexts[0].expression(check.id, "by.where")
    condition = contexts[0].expression(check.id, "assert")
    conditions = []
    if where is not None:
        conditions.append(query.Condition("where", where.source, check.evidence))
    if by_where is not None:
        conditions.append(
            query.Condition("by.where", by_where.source, link.evidence, check.evidence)
        )
    if condition is not None:
        conditions.append(
            query.Condition("assert", condition.source, link.evidence, check.evidence)
        )
    done: dict[int, CheckResult | EvaluationError | None] = {}
    ready = []
    for ctx in contexts:
        try:
            ctx.duration(check.deadline)
        except EvaluationError as err:
            done[id(ctx)] = err
        else:
            ready.append(ctx)
    groups, _ = query.plan(ready, conditions)
    moment = query.as_of(contexts)
    for group in groups:
        found = _query(evidence, check, group, moment, where is not None)
        for parts in found.values():
            # Only what a result can list is rebuilt and worded (errors, then failures,
            # pending, passes).
            counts = {i["cat"]: int(i["n"]) for i in parts.get("n", [])}
            parts["s"] = query.needed(
                parts.get("s", []),
                [counts.get(c, 0) for c in ("e", "fail", "pending", "pass")],
                [(), ("fail",), ("pending",), ("pass",)],
                rank="n",
            )
        wanted = []
        for parts in found.values():
            wanted += [
                (i["s_blob"], check.evidence, i["s_ord"], i["s_path"])
                for e in "es"
                for i in parts.get(e, [])
            ]
            wanted += [
                (i["c_blob"], link.evidence, i["c_ord"], i["c_path"])
                for e in "es"
                for i in parts.get(e, [])
                if i["c_blob"] is not None
            ]
        rebuilt = evidence.rebuild(wanted)
        if link.evidence == check.evidence and link.key == link.source_key == "id":
            # A record that covers itself: its only candidate is itself.
            linked = {}
            for wf, parts in found.items():
                for i in parts.get("s", []):
                    record = rebuilt[(i["s_blob"], check.evidence, i["s_ord"])]
                    linked[(wf, record.data.id)] = [record]
        else:
            linked = _linked(evidence, check, _shown_keys(found, rebuilt, check))
        if not check.allow_empty:
            query.find_closest(
                evidence, check, [c for c in group.contexts if not _counted(found, c)]
            )
        for ctx in group.contexts:
            wf = ctx.workflow.workflow.id
            try:
                done[id(ctx)] = _from_rows(check, ctx, policy, found.get(wf, {}), rebuilt, linked)
            except query.Mismatch:
                done[id(ctx)] = None
    return [done.get(id(ctx)) for ctx in contexts]


def _counted(found: dict[str, dict[str, list[dict[str, Any]]]], ctx: CheckContext) -> bool:
    """Whether any record of the workflow counted (passed, failed or is pending)."""
    parts = found.get(ctx.workflow.workflow.id, {})
    return any(i["cat"] != "e" and int(i["n"]) for i in parts.get("n", []))


def _shown_keys(
    found: dict[str, dict[str, list[dict[str, Any]]]],
    rebuilt: dict[tuple[int, str, int], Record],
    check: CoveredCheck,
) -> set[tuple[str, Any]]:
    link = check.by
    return {
        (wf, key)
        for wf, parts in found.items()
        for i in parts.get("s", [])
        if not _from_query(i)
        and (
            key := getattr(rebuilt[(i["s_blob"], check.evidence, i["s_ord"])].data, link.source_key)
        )
        is not None
    }


def _from_query(item: dict[str, Any]) -> bool:
    """Whether a source row the query classed is worded from what the query found: a pass
    or a late failure from its first usable candidate, a pending one from nothing; only a
    failure that no candidate met needs its candidates checked again, for the reason."""
    return item["cat"] != "fail" or item["c_blob"] is not None


def _deadline_us(ctx: CheckContext, check: CoveredCheck) -> int | None:
    deadline = ctx.duration(check.deadline)
    if deadline is None or deadline.business:
        return None
    return query.us(deadline.after(query.EPOCH))


def _business(ctx: CheckContext, check: CoveredCheck) -> bool:
    deadline = ctx.duration(check.deadline)
    return deadline is not None and deadline.business


def _query(
    evidence: StoredEvidence,
    check: CoveredCheck,
    group: query.Group,
    moment: datetime,
    has_where: bool,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    link = check.by
    from_field = check.from_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
    to_field = check.to_field or EVIDENCE_KINDS[link.evidence].TIME_FIELD
    index_time = EVIDENCE_KINDS[link.evidence].TIME_FIELD
    now = query.us(moment)
    q = query.quote
    # `firsts`: each record's first usable candidate in index order (time, then id), one in
    # time first: what covers it, or what came too late (its finding is worded from it).
    columns: dict[str, query.Param] = {
        "start_us": query.window_start(check),
        "dl_us": ("BIGINT", lambda c: _deadline_us(c, check)),
        "has_deadline": ("BOOLEAN", lambda c: bool(c.duration(check.deadline))),
    }
    params = group.params(evidence, columns)
    business = [c for c in group.contexts if _business(c, check)]
    w = group.sql["where"].text if has_where else "TRUE"
    _business_dues(evidence, check, moment, business, params, w)
    if business:
        # Rebuilding their records may have recovered the store on a new connection,
        # which does not have the parameters table.
        params = group.params(evidence, columns)
    start = f"epoch_us(r.{q(from_field)})"
    source = query.selection(
        check,
        moment,
        [
            f"({w}) AS _w",
            f"r.{q(link.source_key)} AS _key",
            f"{start} AS _start",
            f"coalesce(d.due_us, CASE WHEN {start} IS NOT NULL THEN {start} + p.dl_us END) AS _due",
            "p.has_deadline AS _has_deadline",
            # The record's own columns, for `src.<field>` in the link's conditions
            # (`id` is there already).
            *(f"r.{q(c.name)}" for c in kind_columns(check.evidence) if c.name != "id"),
        ],
        join="LEFT JOIN assay_dues d ON d.blob = r.blob AND d.ord = r.ord",
    )
    cw = group.sql["by.where"].text if "by.where" in group.sql else "TRUE"
    ca = group.sql["assert"].text if "assert" in group.sql else "TRUE"
    to = f"epoch_us(r.{q(to_field)})"
    pair = (
        "CASE WHEN cw IS NULL THEN 'err' WHEN NOT cw THEN NULL WHEN ca IS NULL THEN 'err' "
        "WHEN NOT ca THEN NULL ELSE 'use' END"
    )
    sql = f"""
        WITH {params},
        s0 AS MATERIALIZED ({source}),
        pairs AS MATERIALIZED (
            SELECT * FROM (
                SELECT s.wf, s.blob AS s_blob, s.ord AS s_ord, s.path AS s_path,
                    s.line AS s_line, s._due, r.blob AS c_blob, r.ord AS c_ord,
                    cf.path AS c_path, r.line AS c_line, {to} AS c_to,
                    epoch_us(r.{q(index_time)}) AS c_t0, r.id AS c_id,
                    ({cw}) AS cw, ({ca}) AS ca
                FROM s0 s
                JOIN {table_name(link.evidence)} r
                    ON r.workflow = s.workflow AND r.{q(link.key)} = s._key
                JOIN files cf ON cf.blob = r.blob
                JOIN p ON p.wf = s.wf
                WHERE s._w AND epoch_us(r.created_at) <= {now}
                    AND ({to} IS NULL OR {to} <= {now})
            ) WHERE NOT (cw IS NOT NULL AND NOT cw)
        ),
        classed AS (
            SELECT *, {pair} AS cat,
                (_due IS NULL OR (c_to IS NOT NULL AND c_to <= _due)) AS c_on_time
            FROM pairs
        ),
        covered AS (
            SELECT wf, s_blob, s_ord,
                count(*) FILTER (WHERE cat = 'use') AS usable,
                count(*) FILTER (WHERE cat = 'use' AND c_on_time) AS on_time
            FROM classed GROUP BY wf, s_blob, s_ord
        ),
        firsts AS (
            SELECT * FROM (
                SELECT wf, s_blob, s_ord, c_blob, c_ord, c_path, row_number() OVER (
                    PARTITION BY wf, s_blob, s_ord ORDER BY c_on_time DESC, c_t0, c_id
                ) AS k
                FROM classed WHERE cat = 'use'
            ) WHERE k = 1
        ),
        outcomes AS (
            SELECT s.wf, s.blob, s.ord, s.path, s.line,
                b.c_blob, b.c_ord, b.c_path,
                CASE
                    WHEN coalesce(c.on_time, 0) > 0 THEN 'pass'
                    WHEN s._has_deadline AND s._start IS NULL AND coalesce(c.usable, 0) = 0
                        THEN 'pending'
                    WHEN coalesce(c.usable, 0) > 0 THEN 'fail'
                    WHEN s._due IS NOT NULL AND {now} < s._due THEN 'pending'
                    ELSE 'fail'
                END AS outcome
            FROM s0 s LEFT JOIN covered c
                ON c.wf = s.wf AND c.s_blob = s.blob AND c.s_ord = s.ord
            LEFT JOIN firsts b ON b.wf = s.wf AND b.s_blob = s.blob AND b.s_ord = s.ord
            WHERE s._w
        ),
        errors AS (
            SELECT wf, 'we' AS cat, blob AS s_blob, ord AS s_ord, path AS s_path,
                NULL AS c_blob, NULL AS c_ord, NULL AS c_path, path, line
            FROM s0 WHERE _w IS NULL
            UNION ALL
            SELECT wf, 'pe', s_blob, s_ord, s_path, c_blob, c_ord, c_path, c_path, c_line
            FROM classed WHERE cat = 'err'
        ),
        ranked_errors AS (
            SELECT *, {query.pointer_rank("TRUE")} AS rk FROM errors
        ),
        ranked AS (
            SELECT *, {query.pointer_rank("outcome")} AS rk FROM outcomes
        )
        SELECT wf, 'n' AS part, outcome AS cat, NULL AS s_blob, NULL AS s_ord,
            NULL AS s_path, NULL AS c_blob, NULL AS c_ord, NULL AS c_path, count(*) AS n
        FROM outcomes GROUP BY wf, outcome
        UNION ALL
        SELECT wf, 'n', 'e', NULL, NULL, NULL, NULL, NULL, NULL, count(*)
        FROM errors GROUP BY wf
        UNION ALL
        SELECT wf, 'e', cat, s_blob, s_ord, s_path, c_blob, c_ord, c_path, rk
        FROM ranked_errors WHERE rk <= {query.FINDING_ROWS}
        UNION ALL
        SELECT wf, 's', outcome, blob, ord, path, c_blob, c_ord, c_path, rk
        FROM ranked WHERE rk <= {query.FINDING_ROWS}
    """
    names = ["wf", "part", "cat", "s_blob", "s_ord", "s_path", "c_blob", "c_ord", "c_path", "n"]
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for wf, items in query.query(evidence, sql, names).items():
        parts = out[wf] = {}
        for item in items:
            parts.setdefault(item["part"], []).append(item)
    return out


def _business_dues(
    evidence: StoredEvidence,
    check: CoveredCheck,
    moment: datetime,
    business: list[CheckContext],
    params: str,
    where: str,
) -> None:
    """The deadlines of the matching records of workflows whose deadline is in business
    days, worked out by :meth:`Duration.after` on the records themselves (it keeps the
    start's own UTC offset), into the temporary table ``assay_dues``."""
    rows: list[tuple[int, int, int]] = []
    if business:
        wanted = {c.workflow.workflow.id: c for c in business}
        sql = (
            f"WITH {params} SELECT * FROM ("
            + query.selection(check, moment, [f"({where}) AS w"])
            + ") WHERE w"
        )
        found = query.query(evidence, sql, ["wf", "blob", "ord", "path", "line", "t", "id", "w"])
        items = [i for wf, its in found.items() if wf in wanted for i in its]
        rebuilt = query.records(evidence, check.evidence, items)
        from_field = check.from_field or EVIDENCE_KINDS[check.evidence].TIME_FIELD
        for item in items:
            ctx = wanted[item["wf"]]
            deadline = ctx.duration(check.deadline)
            start = getattr(rebuilt[(item["blob"], item["ord"])].data, from_field)
            if deadline is not None and isinstance(start, datetime):
                rows.append((item["blob"], item["ord"], query.us(deadline.after(start))))
    evidence.engine.temp_table(
        "assay_dues", [("blob", "INTEGER"), ("ord", "INTEGER"), ("due_us", "BIGINT")], rows
    )


def _from_rows(
    check: CoveredCheck,
    ctx: CheckContext,
    policy: SourcePointer,
    parts: dict[str, list[dict[str, Any]]],
    rebuilt: dict[tuple[int, str, int], Record],
    linked: dict[tuple[str, Any], list[Record]],
) -> CheckResult:
    link = check.by
    counts = {"pass": 0, "fail": 0, "pending": 0}
    error_count = 0
    for item in parts.get("n", []):
        if item["cat"] == "e":
            error_count = int(item["n"])
        else:
            counts[item["cat"]] = int(item["n"])
    total = sum(counts.values())
    shown_errors = parts.get("e", [])
    shown_sources = parts.get("s", [])  # those the result can list (see run_many)
    wf = ctx.workflow.workflow.id
    to_field = check.to_field or EVIDENCE_KINDS[link.evidence].TIME_FIELD

    def source(item: dict[str, Any]) -> Record:
        return rebuilt[(item["s_blob"], check.evidence, item["s_ord"])]

    findings: list[Finding] = []
    where = ctx.expression(check.id, "where")
    by_where = ctx.expression(check.id, "by.where")
    condition = ctx.expression(check.id, "assert")
    for item in shown_errors:
        src = source(item)
        if item["cat"] == "we":
            if where is None:
                raise query.Mismatch("an error of a `where` the check does not have")
            failed = ctx.filter([src], where, "where")[1]
            if not failed:
                raise query.Mismatch(f"`where` on {src}")
            findings.extend(failed)
            continue
        cand = rebuilt[(item["c_blob"], link.evidence, item["c_ord"])]
        extra = {"src": src.data}
        try:
            if by_where is not None and not ctx.test(by_where, cand, extra):
                raise query.Mismatch(f"`by.where` on {cand}")
            if condition is not None and not ctx.test(condition, cand, extra):
                raise query.Mismatch(f"`assert` on {cand}")
        except ExpressionRuntimeError as err:
            findings.append(error_finding("assert", cand, err))
        else:
            raise query.Mismatch(f"the conditions on {cand}")
    for item in shown_sources:
        src = source(item)
        if _from_query(item):
            due = _due(check, ctx, src)
            first = (
                None
                if item["c_blob"] is None
                else rebuilt[(item["c_blob"], link.evidence, item["c_ord"])]
            )
            if first is not None:
                # The deadline in Python's own words (business days, UTC offsets) must
                # agree with the query's.
                t = first.time(to_field)
                if (due is None or (t is not None and t <= due)) != (item["cat"] == "pass"):
                    raise query.Mismatch(f"{first} and the deadline of {src}")
            on_time = first if item["cat"] == "pass" else None
            outcome, finding = _word(check, ctx, src, due, on_time, first, None)
        else:
            key = getattr(src.data, link.source_key)
            outcome, finding, _ = _cover(check, ctx, src, linked.get((wf, key), []))
        if outcome != item["cat"]:
            raise query.Mismatch(f"{src} is {outcome}, not {item['cat']}")
        findings.append(finding)
    unshown = error_count - len(shown_errors) + total - len(shown_sources)
    return _result(check, ctx, policy, total, counts, findings, unshown)


def _linked(
    evidence: StoredEvidence, check: CoveredCheck, keys: set[tuple[str, Any]]
) -> dict[tuple[str, Any], list[Record]]:
    """The records of the link kind with one of the (workflow, key) ``keys``, in index order
    (time, then id): what the row evaluator's key table holds for them. One query."""
    link = check.by
    if not keys:
        return {}
    q = query.quote
    default = EVIDENCE_KINDS[link.evidence].TIME_FIELD
    evidence.engine.temp_table("assay_keys", [("wf", "VARCHAR"), ("k", "VARCHAR")], sorted(keys))
    sql = (
        f"SELECT r.workflow AS wf, r.blob, r.ord, f.path, r.{q(link.key)} AS k, "
        f"epoch_us(r.{q(default)}) AS t, r.id "
        f"FROM {table_name(link.evidence)} r JOIN files f ON f.blob = r.blob "
        f"JOIN assay_keys keys ON keys.k = r.{q(link.key)} AND keys.wf = r.workflow"
    )
    found = query.query(evidence, sql, ["wf", "blob", "ord", "path", "k", "t", "id"])
    rows = sorted(
        (i for items in found.values() for i in items), key=lambda i: (i["wf"], i["t"], i["id"])
    )
    rebuilt = query.records(evidence, link.evidence, rows)
    out: dict[tuple[str, Any], list[Record]] = {}
    for item in rows:
        out.setdefault((item["wf"], item["k"]), []).append(rebuilt[(item["blob"], item["ord"])])
    return out


class Covered:
    model = CoveredCheck

    def run(self, check: CoveredCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
        return run(check, ctx, policy)

    def run_many(
        self, check: CoveredCheck, contexts: Sequence[CheckContext], policy: SourcePointer
    ) -> list[CheckResult | EvaluationError | None]:
        return run_many(check, contexts, policy)

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
