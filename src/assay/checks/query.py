"""Checks as queries over the evidence store: one query per check for every workflow it
applies to.

What differs from workflow to workflow (the window, the class's parameters, the parts of a
condition that read no record: ``params``, ``workflow``, ``now``, ``release``) is worked
out per workflow in Python, by the row evaluator itself, and joined from a parameters table
(``p``, one row per workflow); the conditions are compiled to SQL once per variant of those
values' types (:func:`assay.cel.sql.compile_batched`). A query answers counts and the few
rows a result shows (the first failures by file and line, the newest records); those rows
are rebuilt as records and the kind's own Python code words the findings, so a result is
the one the row evaluator gives. A workflow whose condition falls outside the SQL subset
runs on the row evaluator (its records rebuilt from the store).

CEL errors are SQL NULL (see :mod:`assay.cel.sql`): a row where a condition is NULL is
re-evaluated by the row evaluator to word the error, exactly as without the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from ..cel.sql import Sql, SqlType, compile_batched
from ..evidence.engines.base import table_name
from ..evidence.engines.columns import record_sql_type
from ..evidence.index import Record
from ..models.evidence_kinds import EVIDENCE_KINDS

if TYPE_CHECKING:
    from ..evidence.store import StoredEvidence  # imports duckdb: only where it is used
    from .base import CheckContext

FINDING_ROWS = 20
"""Rows fetched per kind of finding and workflow (ties at the cut included): what
:func:`assay.checks.base.result` can show of them."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def us(when: datetime) -> int:
    """Microseconds since the epoch, as the store's queries compare instants."""
    delta = when - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def bigint(value: int | None) -> str:
    return "CAST(NULL AS BIGINT)" if value is None else f"CAST({value} AS BIGINT)"


MIN_ROWS = 20_000
"""Below this many records of the kinds a check reads (over the workflows asked for), the
row evaluator runs it on the records rebuilt from the store: a query costs a few
milliseconds to plan and run whatever its size, a record ~5-10 microseconds to rebuild
and check (measured on the benchmark fleet), and the records of a workflow's kind are
rebuilt once for all its checks. One workflow of a large fleet is then a matter of its own
records, the fleet a matter of one query per check."""


def stored(contexts: Sequence[CheckContext], *kinds: str) -> StoredEvidence | None:
    """The store the contexts' project reads, when the check (on records of ``kinds``) is
    to run as a query for them."""
    if not contexts:
        return None
    evidence = cast("StoredEvidence", contexts[0].project.evidence)
    if not getattr(evidence, "queryable", False):
        return None  # in memory (the rows engine), or records the tables do not hold
    workflows = [ctx.workflow.workflow.id for ctx in contexts]
    if sum(evidence.count(workflows, kind) for kind in kinds) < MIN_ROWS:
        return None
    return evidence


@dataclass(frozen=True)
class Condition:
    """A CEL expression of a check, compiled for records of ``kind`` (and ``src``)."""

    name: str
    source: str
    kind: str
    src_kind: str | None = None
    value: bool = False
    """An expression of any type (an aggregate's `value`), not a condition."""


Param = tuple[str, Callable[["CheckContext"], Any]]
"""A column of the parameters table a check adds: its type (BIGINT or BOOLEAN) and its
value for a workflow."""

PARAMS_TABLE = "assay_params"


@dataclass
class Group:
    """Workflows whose conditions compile to the same SQL: one query answers them all."""

    contexts: list[CheckContext]
    sql: dict[str, Sql]
    """The SQL of each condition, reading its per-workflow values from ``p``."""
    types: dict[str, SqlType]
    columns: list[str] = field(default_factory=list)
    values: list[list[str]] = field(default_factory=list)
    """Per context, the SQL literal of each column."""
    parameters: list[list[Any]] = field(default_factory=list)
    """Per context, the value of each column."""
    column_types: list[str] | None = field(default_factory=list)
    """The type of each column; None when the values have only their literals."""

    def params(self, evidence: StoredEvidence, extra: dict[str, Param] | None = None) -> str:
        """The parameters table as a CTE: ``p(wf, <extra...>, <columns...>)``, valid until
        the next call. Its values are bound into a temporary table where the engine is
        faster for it (:attr:`EvidenceEngine.bound_parameters`; DuckDB: planning them as
        literals, a row per workflow, cost ~20 ms a query against ~3 ms bound, for 200
        workflows), else written as literals."""
        extra = extra or {}
        names = ["wf", *extra, *self.columns]
        if self.column_types is not None and evidence.engine.bound_parameters:
            types = ["VARCHAR", *(t for t, _ in extra.values()), *self.column_types]
            rows = [
                (ctx.workflow.workflow.id, *(f(ctx) for _, f in extra.values()), *values)
                for ctx, values in zip(self.contexts, self.parameters, strict=True)
            ]
            evidence.engine.temp_table(PARAMS_TABLE, list(zip(names, types, strict=True)), rows)
            return f"p AS (SELECT * FROM {quote(PARAMS_TABLE)})"
        cells = []
        for ctx, values in zip(self.contexts, self.values, strict=True):
            given = [_typed_literal(t, f(ctx)) for t, f in extra.values()]
            cells.append("(" + ", ".join([text(ctx.workflow.workflow.id), *given, *values]) + ")")
        return f"p({', '.join(quote(n) for n in names)}) AS (VALUES {', '.join(cells)})"


def _typed_literal(sql_type: str, value: Any) -> str:
    if value is None:
        return f"CAST(NULL AS {sql_type})"
    if sql_type == "BOOLEAN":
        return "TRUE" if value else "FALSE"
    return bigint(value)


def plan(
    contexts: Sequence[CheckContext], conditions: Sequence[Condition]
) -> tuple[list[Group], list[CheckContext]]:
    """Compile ``conditions`` for every context: the groups that run as one query each, and
    the contexts that run on the row evaluator (a condition outside the SQL subset)."""
    environments = [ctx.variables for ctx in contexts]
    compiled = []
    for index, condition in enumerate(conditions):
        compiled.append(
            compile_batched(
                condition.source,
                record_sql_type(condition.kind),
                environments,
                src=record_sql_type(condition.src_kind) if condition.src_kind else None,
                prefix=f"k{index}_",
                value=condition.value,
            )
        )
    where: list[dict[int, tuple[int, int]]] = []  # per condition: context -> (variant, member)
    for batched in compiled:
        seen: dict[int, tuple[int, int]] = {}
        for v, variant in enumerate(batched.variants):
            for m, member in enumerate(variant.members):
                seen[member] = (v, m)
        where.append(seen)
    groups: dict[tuple[int, ...], Group] = {}
    rows: list[CheckContext] = []
    for index, ctx in enumerate(contexts):
        if any(index not in seen for seen in where):
            rows.append(ctx)
            continue
        key = tuple(seen[index][0] for seen in where)
        group = groups.get(key)
        if group is None:
            variants = [batched.variants[v] for batched, v in zip(compiled, key, strict=True)]
            typed = [v.column_types for v in variants]
            group = groups[key] = Group(
                [],
                {c.name: variant.sql for c, variant in zip(conditions, variants, strict=True)},
                {c.name: variant.sql.type for c, variant in zip(conditions, variants, strict=True)},
                [name for variant in variants for name in variant.columns],
                column_types=(
                    None
                    if any(t is None for t in typed)
                    else [t for types in typed if types is not None for t in types]
                ),
            )
        group.contexts.append(ctx)
        values: list[str] = []
        parameters: list[Any] = []
        for batched, seen in zip(compiled, where, strict=True):
            v, m = seen[index]
            values.extend(batched.variants[v].values[m])
            parameters.extend(batched.variants[v].parameters[m])
        group.values.append(values)
        group.parameters.append(parameters)
    return list(groups.values()), rows


def as_of(contexts: Sequence[CheckContext]) -> datetime:
    """The as-of time (one for every workflow of a run)."""
    times = {ctx.as_of for ctx in contexts}
    if len(times) != 1:
        raise ValueError("the workflows of one batch must share their as-of time")
    return times.pop()


def window_start(check: Any) -> Param:
    """The ``start_us`` parameter: where the check's window starts, per workflow."""

    def start_us(ctx: CheckContext) -> int | None:
        start = ctx.window_start(check.window)
        return us(start) if start is not None else None

    return ("BIGINT", start_us)


def time_field(check: Any) -> tuple[str, str]:
    """(the check's time field, the kind's own time field)."""
    default = EVIDENCE_KINDS[check.evidence].TIME_FIELD
    return check.time_field or default, default


def in_window(check: Any, moment: datetime) -> str:
    """SQL over ``r`` and ``p``: the record lies in the check's window (as
    :meth:`CheckContext.select` cuts it: by the kind's time field, or by the check's own)."""
    field_name, default = time_field(check)
    if field_name == default:
        return f"(p.start_us IS NULL OR epoch_us(r.{quote(default)}) > p.start_us)"
    tf = f"epoch_us(r.{quote(field_name)})"
    return (
        f"({tf} IS NOT NULL AND {tf} <= {us(moment)} AND (p.start_us IS NULL OR {tf} > p.start_us))"
    )


def selection(
    check: Any,
    moment: datetime,
    columns: Iterable[str] = (),
    *,
    windowed: bool = True,
    join: str = "",
) -> str:
    """The rows a check considers before `where` (visible at the as-of time, in its
    window unless not ``windowed``), with ``columns`` (SQL over ``r``, ``p`` and what
    ``join`` adds) added. Each row names its workflow, blob, order, file, line, time (the
    kind's time field) and id."""
    kind = check.evidence
    _, default = time_field(check)
    now = us(moment)
    t = f"epoch_us(r.{quote(default)})"
    conditions = [f"{t} <= {now}", f"epoch_us(r.created_at) <= {now}"]
    if windowed:
        conditions.append(in_window(check, moment))
    extra = "".join(f", {c}" for c in columns)
    return (
        f"SELECT p.wf AS wf, r.blob AS blob, r.ord AS ord, f.path AS path, r.line AS line, "
        f"{t} AS t, r.id AS id{extra} "
        f"FROM {table_name(kind)} r JOIN files f ON f.blob = r.blob JOIN p ON p.wf = r.workflow "
        f"{join} WHERE {' AND '.join(conditions)}"
    )


@dataclass
class Row:
    """A row a query found: where its record is, and the query's columns."""

    wf: str
    blob: int
    ord: int
    path: str
    line: int | None
    values: dict[str, Any]

    def key(self, kind: str) -> tuple[int, str, int, str]:
        return (self.blob, kind, self.ord, self.path)


def query(
    evidence: StoredEvidence, sql: str, names: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Run ``sql`` and return its rows as dicts of ``names``, by workflow (column ``wf``)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for values in evidence.engine.query(sql):
        item = dict(zip(names, values, strict=True))
        out.setdefault(item["wf"], []).append(item)
    return out


def records(
    evidence: StoredEvidence, kind: str, items: Iterable[dict[str, Any]]
) -> dict[tuple[int, int], Record]:
    """The records of query rows (with ``blob``, ``ord``, ``path``), by (blob, order)."""
    keys = [(item["blob"], kind, item["ord"], item["path"]) for item in items]
    rebuilt = evidence.rebuild(keys)
    return {(blob, order): rebuilt[(blob, k, order)] for blob, k, order, _ in keys}


def find_closest(evidence: StoredEvidence, check: Any, contexts: Sequence[CheckContext]) -> None:
    """For workflows none of whose records counted: the record
    :func:`assay.checks.base.closest_miss` names (the newest visible record of the kind by
    the check's time field, undated ones last, then by id), one query for all of them, set
    on each context. A workflow whose two first tie (the same id twice) is left to
    ``closest_miss`` itself, which goes by the row evaluator's order."""
    if not contexts:
        return
    field_name, default = time_field(check)
    column = dict(record_sql_type(check.evidence).fields).get(field_name)
    if column is None or column.name != "timestamp":
        return  # `closest_miss` reads no time from it: no order to reproduce here
    now = us(as_of(contexts))
    ft = f"epoch_us(r.{quote(field_name)})"
    workflows = ", ".join(text(ctx.workflow.workflow.id) for ctx in contexts)
    sql = f"""
        WITH vis AS (
            SELECT r.workflow AS wf, r.blob AS blob, r.ord AS ord, f.path AS path,
                {ft} IS NOT NULL AS dated, coalesce({ft}, {now}) AS ft, r.id AS id
            FROM {table_name(check.evidence)} r JOIN files f ON f.blob = r.blob
            WHERE r.workflow IN ({workflows}) AND epoch_us(r.{quote(default)}) <= {now}
                AND epoch_us(r.created_at) <= {now}
        )
        SELECT wf, blob, ord, path, dated, ft, id FROM vis
        QUALIFY row_number() OVER (PARTITION BY wf ORDER BY dated DESC, ft DESC, id DESC) <= 2
    """
    found = query(evidence, sql, ["wf", "blob", "ord", "path", "dated", "ft", "id"])
    chosen: dict[str, dict[str, Any]] = {}
    for wf, rows in found.items():
        rows.sort(key=lambda i: (i["dated"], i["ft"], i["id"]), reverse=True)
        ranks = [(i["dated"], i["ft"], i["id"]) for i in rows]
        if len(ranks) < 2 or ranks[0] != ranks[1]:
            chosen[wf] = rows[0]
    rebuilt = records(evidence, check.evidence, chosen.values())
    for ctx in contexts:
        wf = ctx.workflow.workflow.id
        if wf in chosen:
            ctx.closest[check.id] = rebuilt[(chosen[wf]["blob"], chosen[wf]["ord"])]
        elif wf not in found:
            ctx.closest[check.id] = None  # no visible record of the kind at all


@dataclass
class Found:
    """What a classifying query found for one workflow: rows per category, with a count of
    each and the rows a result names."""

    counts: dict[str, int] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    """Rows ranked first by file and line in their class."""
    latest: list[dict[str, Any]] = field(default_factory=list)
    """The newest rows of the pooled categories, oldest first."""

    def count(self, *categories: str) -> int:
        return sum(self.counts.get(c, 0) for c in categories)

    def of(self, *categories: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["cat"] in categories]

    def all_rows(self) -> list[dict[str, Any]]:
        return self.rows + self.latest


ROW_FIELDS = ("blob", "ord", "path", "line", "t", "id")


def newest_column(limit: int, extra: Sequence[str] = ()) -> str:
    """An aggregate over rows with the columns of :data:`ROW_FIELDS` (and ``extra``): the
    ``limit`` newest of a group (by time; one more, to see a tie at the cut), packed, for
    :func:`settle_newest`. A top-N by time alone is cheap (DuckDB's ``arg_max(x, t, n)``
    keeps a heap), and as a column of a query's grouped part it costs no second scan."""
    fields = [*ROW_FIELDS, *extra]
    packed = "{" + ", ".join(f"{text(f)}: {f}" for f in fields) + "}"
    return f"arg_max({packed}, t, {limit + 1})"


def settle_newest(
    evidence: StoredEvidence,
    packed: dict[tuple[Any, ...], list[Any]],
    limit: int,
    *,
    with_clause: str,
    table: str,
    keys: Sequence[str],
    extra: Sequence[str] = (),
) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    """The ``limit`` newest rows (by time, then id) of each group of ``keys``, oldest first,
    from what :func:`newest_column` found for it (``packed``). Ties at the cut are settled
    exactly by a second look at the rows of that instant in ``table`` (a CTE of
    ``with_clause``)."""
    fields = [*ROW_FIELDS, *extra]
    out: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    ties: list[tuple[tuple[Any, ...], int]] = []
    for key, found in packed.items():
        items = [dict(x) for x in found]
        items.sort(key=lambda i: (i["t"], i["id"]), reverse=True)
        if len(items) > limit and items[limit - 1]["t"] == items[limit]["t"]:
            ties.append((key, items[limit - 1]["t"]))
        out[key] = items[:limit]
    if ties:
        # Which of the rows of the cut's instant come first goes by id: fetch them all.
        match = " OR ".join(
            "("
            + " AND ".join(
                f"{k} IS NOT DISTINCT FROM {_sql_value(v)}" for k, v in zip(keys, key, strict=True)
            )
            + f" AND t >= {cut})"
            for key, cut in ties
        )
        group = ", ".join(keys)
        sql = f"WITH {with_clause} SELECT {group}, {', '.join(fields)} FROM {table} WHERE {match}"
        tied: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for row in evidence.engine.query(sql):
            tied.setdefault(tuple(row[: len(keys)]), []).append(
                dict(zip(fields, row[len(keys) :], strict=True))
            )
        for key, items in tied.items():
            items.sort(key=lambda i: (i["t"], i["id"]), reverse=True)
            out[key] = items[:limit]
    return {key: items[::-1] for key, items in out.items()}


def _sql_value(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return text(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"no SQL literal for {value!r}")


def classify(
    evidence: StoredEvidence,
    group: Group,
    params: dict[str, Param],
    source: str,
    category: str,
    *,
    ranked: dict[str, str],
    newest: Sequence[str] = (),
    newest_limit: int = 5,
) -> dict[str, Found]:
    """Run the rows of ``source`` (a selection, with columns ``category`` may read) through
    ``category`` (SQL giving each row's category, NULL to drop it) and return, per
    workflow: the count of each category, the rows of the categories in ``ranked`` (a
    category -> the class whose findings are ranked together) that rank first by file and
    line in their class (:data:`FINDING_ROWS`, ties included), and the ``newest_limit``
    newest rows of the ``newest`` categories pooled."""
    classes = " ".join(f"WHEN {text(c)} THEN {text(k)}" for c, k in ranked.items())
    rank_class = f"CASE cat {classes} END" if ranked else "CAST(NULL AS VARCHAR)"
    with_clause = f"""{group.params(evidence, params)},
        sel AS MATERIALIZED (
            SELECT * FROM (SELECT *, {category} AS cat FROM ({source})) WHERE cat IS NOT NULL
        )"""
    pooled, latest = with_clause, ""
    if newest:
        pool = ", ".join(text(c) for c in newest)
        pooled += f", pooled AS (SELECT * FROM sel WHERE cat IN ({pool}))"
        latest = f"""
        UNION ALL
        SELECT wf, 'latest', NULL, NULL, NULL, NULL, NULL, NULL,
            {newest_column(newest_limit, ["cat"])}
        FROM pooled GROUP BY wf"""
    sql = f"""
        WITH {pooled},
        marked AS (SELECT * FROM (SELECT *, {rank_class} AS cls FROM sel) WHERE cls IS NOT NULL),
        ranked AS (
            SELECT *, rank() OVER (PARTITION BY wf, cls ORDER BY path, coalesce(line, 0)) AS rk
            FROM marked
        )
        SELECT wf, 'n' AS part, cat, NULL AS blob, NULL AS ord, NULL AS path, NULL AS line,
            count(*) AS rk, NULL AS latest
        FROM sel GROUP BY wf, cat
        UNION ALL
        SELECT wf, 'row', cat, blob, ord, path, line, rk, NULL
        FROM ranked WHERE rk <= {FINDING_ROWS}{latest}
    """
    names = ["wf", "part", "cat", "blob", "ord", "path", "line", "rk", "latest"]
    out: dict[str, Found] = {ctx.workflow.workflow.id: Found() for ctx in group.contexts}
    packed: dict[tuple[Any, ...], list[Any]] = {}
    for wf, items in query(evidence, sql, names).items():
        found = out[wf]
        for item in items:
            if item["part"] == "n":
                found.counts[item["cat"]] = int(item["rk"])
            elif item["part"] == "latest":
                packed[(wf,)] = item["latest"]
            else:
                found.rows.append(item)
    if newest:
        settled = settle_newest(
            evidence, packed, newest_limit, with_clause=pooled, table="pooled", keys=["wf"],
            extra=["cat"],
        )  # fmt: skip
        for (wf,), items in settled.items():
            out[wf].latest = items
    return out


def needed(
    rows: Sequence[dict[str, Any]],
    counts: Sequence[int],
    classes: Sequence[Any],
    rank: str = "rk",
) -> list[dict[str, Any]]:
    """Of ``rows`` (each with its class in ``cat`` and its rank by file and line in
    ``rank``),
    those a result can show: :func:`assay.checks.base.result` lists findings class after
    class (``classes`` in that order, ``counts`` the findings of each) up to
    :data:`FINDING_ROWS`; a rank at the cut keeps its ties (the message decides)."""
    left = FINDING_ROWS
    out: list[dict[str, Any]] = []
    for cls, count in zip(classes, counts, strict=True):
        if left > 0:
            out += [r for r in rows if r["cat"] in cls and r[rank] <= left]
        left -= count
    return out


def pointer_rank(column: str = "e") -> str:
    """A window rank by file and line within a workflow and finding class: the order in
    which :func:`assay.checks.base.result` ranks findings (ties share the rank)."""
    return f"rank() OVER (PARTITION BY wf, {column} ORDER BY path, coalesce(line, 0))"


class Mismatch(Exception):
    """The row evaluator does not confirm what a query found for a row (a gap in the
    CEL-to-SQL contract): that workflow's check runs on the row evaluator instead."""
