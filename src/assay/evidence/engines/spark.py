"""The Spark engine: the same compiled checks, run by Apache Spark.

The checks write their queries once, in DuckDB's dialect, through one seam
(:meth:`EvidenceEngine.query`); here each query is transpiled by sqlglot to Spark SQL and
run by ``spark.sql``. Evidence is read and validated exactly as for the other engines
(through the store, so every finding still names file, line and JSON pointer); the
store's tables are then handed to Spark as Parquet, written by DuckDB into a scratch
folder and registered as temporary views, each the first time a query reads it.

A few DuckDB constructs have no Spark spelling that sqlglot knows, and are rewritten on
the syntax tree (see :func:`to_spark`): ``epoch_us``, a top-N ``arg_max``, ordered
``list()`` aggregates, map literals and ``len`` of a list. Spark runs with ANSI mode off, so an
index out of range or a missing map key is NULL, as in DuckDB: NULL is "could not
evaluate" to the checks, which hand such rows to the row evaluator (fail closed).

pyspark and sqlglot are imported only here, and only when this engine is chosen.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import UsageError
from ..store import EvidenceStore, StoredEvidence, SyncReport
from .base import EngineName, StoreCorrupt

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from sqlglot import exp

    from .duckdb import DuckDBEngine

JAVA_MIN = 17
MASTER_VARIABLE = "ASSAY_SPARK_MASTER"
"""Overrides the Spark master (default ``local[2]``: this machine, two cores)."""

INSTALL_HINT = "pip install 'assay[spark]'"


def _java_version(java: str) -> int | None:
    """The major version of the ``java`` executable, or None when it does not run."""
    try:
        done = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if found is None:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major  # "1.8" is Java 8


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        if candidate.is_file():
            return str(candidate)
    return shutil.which("java")


@lru_cache(maxsize=1)
def require() -> None:
    """Check that this machine can run the Spark engine; a UsageError (exit 2) naming
    what is missing otherwise."""
    missing = [name for name in ("pyspark", "sqlglot") if find_spec(name) is None]
    if missing:
        raise UsageError(
            f"--engine spark needs the spark extra ({', '.join(missing)} not installed): "
            f"{INSTALL_HINT}"
        )
    java = _java()
    if java is None:
        raise UsageError(
            f"--engine spark needs Java {JAVA_MIN} or later: Java not found "
            "(install openjdk-17-jre-headless, or set JAVA_HOME)"
        )
    version = _java_version(java)
    if version is None or version < JAVA_MIN:
        found = "an unreadable version" if version is None else f"Java {version}"
        raise UsageError(
            f"--engine spark needs Java {JAVA_MIN} or later: {java} is {found} "
            "(install openjdk-17-jre-headless, or set JAVA_HOME)"
        )


def session() -> SparkSession:
    """The process's Spark session: the active one (an application that embeds Assay
    brings its own), else a local one started now, bound to this machine only."""
    require()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # The driver and the block manager listen on the loopback interface only.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers (if a plan ever needs one) run this interpreter, not the PATH's python3,
    # which may be another version or lack the packages.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(os.environ.get(MASTER_VARIABLE, "local[2]"))
        .appName("assay")
        .config("spark.driver.memory", "2g")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.log.level", "ERROR")
        .config("spark.sql.session.timeZone", "UTC")
        # NULL for an index out of range or a missing key, as in DuckDB (see the module).
        .config("spark.sql.ansi.enabled", "false")
        # A gate's tables are small per partition: few shuffle partitions, few tasks.
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.adaptive.enabled", "true")
    )
    try:
        return builder.getOrCreate()
    except Exception as err:  # the JVM did not start: say so, never a traceback
        raise UsageError(f"--engine spark: Spark did not start: {_first_line(err)}") from None


_BROADCAST_FAILED = "Not enough memory to build and broadcast the table"


def _first_line(err: BaseException) -> str:
    java = getattr(err, "java_exception", None)  # py4j: the JVM's own message says what
    text = str(java.toString() if java is not None else err).strip()
    return text.splitlines()[0] if text else type(err).__name__


# -- DuckDB SQL to Spark SQL ------------------------------------------------------------


@lru_cache(maxsize=2048)
def _transpile(sql: str) -> str:
    import sqlglot

    tree = sqlglot.parse_one(sql, read="duckdb")
    # Children before their parents (a reversed pre-order): a rewritten node is built
    # from parts that are already Spark's.
    for node in reversed(list(tree.walk(bfs=False))):
        new = _rewrite(node)
        if new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    return tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)


def to_spark(sql: str, views: Mapping[str, str] | None = None) -> str:
    """The Spark SQL of a query written in DuckDB's dialect; ``views`` renames tables (the
    store's table names to this engine's views)."""
    text = _transpile(sql)
    if views:
        text = _rename_tables(text, tuple(sorted(views.items())))
    return text


@lru_cache(maxsize=2048)
def _rename_tables(text: str, views: tuple[tuple[str, str], ...]) -> str:
    import sqlglot
    from sqlglot import exp

    names = dict(views)
    tree = sqlglot.parse_one(text, read="spark")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.name in names and table.name not in ctes and not table.db:
            table.set("this", exp.to_identifier(names[table.name]))
    return tree.sql(dialect="spark")


def tables_of(sql: str) -> set[str]:
    """The tables (not CTEs) a DuckDB query reads."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}


def _rewrite(node: exp.Expr) -> exp.Expr:
    from sqlglot import exp

    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)  # a hint to DuckDB's planner; Spark has no such CTE
        return node
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "epoch_us":
            return exp.Anonymous(this="unix_micros", expressions=node.expressions)
        if name == "map_contains":
            return exp.Anonymous(this="map_contains_key", expressions=node.expressions)
        if name == "cardinality":
            return exp.Anonymous(this="size", expressions=node.expressions)
        return node
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        index = node.expressions[0]
        if (
            isinstance(index, exp.Add)
            and isinstance(index.expression, exp.Literal)
            and index.expression.this == "1"
        ):
            # The CEL compiler's list index `l[i + 1]` (DuckDB counts from 1): sqlglot
            # shifts literal indexes only, so `i + 1` is left as it is; Spark counts from 0,
            # which is `i` itself (NULL out of range, with ANSI mode off).
            node.set("expressions", [index.this])
        return node
    if isinstance(node, exp.Length):
        # The CEL compiler uses `len` for lists only (the size of a string is not compiled).
        return exp.Anonymous(this="size", expressions=[node.this])
    if isinstance(node, exp.ArgMax) and node.args.get("count") is not None:
        return _top_n(node)
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _ordered_list(node)
    if isinstance(node, exp.ToMap) and isinstance(node.this, exp.Struct):
        return _map_literal(node.this)
    return node


def _top_n(node: exp.ArgMax) -> exp.Expr:
    """``arg_max(x, t, n)`` (the ``n`` values of ``x`` with the largest ``t``): the pairs
    collected, sorted by ``t`` descending, the first ``n`` kept. Ties at the cut come in
    any order, as in DuckDB (the checks settle ties themselves)."""
    import sqlglot

    value = node.this.sql(dialect="spark")
    key = node.expression.sql(dialect="spark")
    count = node.args["count"].sql(dialect="spark")
    text = (
        f"transform(slice(sort_array(collect_list(named_struct('k', {key}, 'v', {value})), "
        f"false), 1, {count}), e -> e.v)"
    )
    return sqlglot.parse_one(text, read="spark")


def _ordered_list(node: exp.ArrayAgg) -> exp.Expr:
    """``list(v ORDER BY a, b)``: Spark's ``collect_list`` keeps no order and drops NULLs;
    the values are collected inside structs (never NULL), sorted by the keys, unwrapped."""
    import sqlglot
    from sqlglot import exp

    order = node.this
    assert isinstance(order, exp.Order)
    value = order.this.sql(dialect="spark")
    keys = []
    for i, ordered in enumerate(order.expressions):
        if ordered.args.get("desc") or ordered.args.get("nulls_first"):
            raise ValueError("descending or NULLS FIRST list order is not translated")
        keys.append(f"'k{i}', {ordered.this.sql(dialect='spark')}")
    packed = f"named_struct({', '.join(keys)}, 'v', {value})"
    text = f"transform(array_sort(collect_list({packed})), e -> e.v)"
    return sqlglot.parse_one(text, read="spark")


def _map_literal(struct: exp.Struct) -> exp.Expr:
    from sqlglot import exp

    args: list[exp.Expr] = []
    for item in struct.expressions:
        if isinstance(item, exp.PropertyEQ):
            key = item.this
            args += [exp.Literal.string(key.name) if not isinstance(key, exp.Literal) else key]
            args.append(item.expression)
        elif isinstance(item, exp.Slice):
            args += [item.this, item.expression]
        else:
            raise ValueError(f"map literal entry {item.sql()!r} is not translated")
    return exp.Anonymous(this="map", expressions=args)


def _spark_type(duckdb_type: str) -> str:
    from sqlglot import exp

    return exp.DataType.build(duckdb_type, dialect="duckdb").sql(dialect="spark")


# -- the engine -------------------------------------------------------------------------


class SparkEngine:
    """Queries of the checks, run on Spark over the store's tables (as Parquet)."""

    name = EngineName.SPARK
    dialect = "spark"
    bound_parameters = False

    def __init__(self, store: Callable[[], DuckDBEngine], scratch: Path | None = None):
        """``store`` gives the store's DuckDB engine (a new one after the store recovers
        from damage)."""
        require()
        self._store = store
        self._session: SparkSession | None = None
        self._own_scratch = scratch is None
        self._scratch = scratch or Path(tempfile.mkdtemp(prefix="assay-spark-"))
        self._tag = uuid.uuid4().hex[:8]
        self._views: dict[str, str] = {}
        """Store table (or temporary table) -> this engine's Spark view."""
        self._tables: set[str] | None = None
        self.queries = 0

    @property
    def spark(self) -> SparkSession:
        if self._session is None:
            self._session = session()
        return self._session

    def _view(self, table: str) -> str:
        return f"assay_{self._tag}_{table}"

    def _register(self, sql: str) -> None:
        """Hand the store tables ``sql`` reads to Spark, each the first time."""
        store = self._store()
        if self._tables is None:
            self._tables = {name for (name,) in store.query("SHOW TABLES")}
        for table in sorted(tables_of(sql)):
            if table in self._views or table not in self._tables:
                continue
            path = self._scratch / f"{table}.parquet"
            store.query(f'COPY (SELECT * FROM "{table}") TO ? (FORMAT parquet)', [os.fspath(path)])
            frame = self.spark.read.parquet(os.fspath(path))
            frame.createOrReplaceTempView(self._view(table))
            self._views[table] = self._view(table)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._register(sql)
        text = to_spark(sql, self._views)
        self.queries += 1
        for attempt in range(2):
            try:
                frame = self.spark.sql(text, args=list(params) if params else None)
                rows = frame.collect()
                break
            except Exception as err:
                if type(err).__name__ in ("ParseException", "AnalysisException"):
                    raise  # a query Spark cannot read is a bug in the translation: never hidden
                message = _first_line(err)
                if attempt == 0 and _BROADCAST_FAILED in message:
                    # The driver ran short of memory building a broadcast join (seen in a
                    # 2 GB local driver on a small fleet): Spark's own advice is to join
                    # without broadcasting, which needs no table in one JVM's memory.
                    self.spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
                    self.spark.conf.set("spark.sql.adaptive.autoBroadcastJoinThreshold", "-1")
                    continue
                raise StoreCorrupt(f"Spark could not run a query: {message}") from None
        return [tuple(_python(value) for value in row) for row in rows]

    def temp_table(
        self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """(Re)create the view ``name`` of ``columns`` (name, DuckDB type) holding ``rows``."""
        schema = ", ".join(f"`{c}` {_spark_type(t)}" for c, t in columns)
        frame = self.spark.createDataFrame([tuple(row) for row in rows], schema=schema)
        frame.createOrReplaceTempView(self._view(name))
        self._views[name] = self._view(name)

    def close(self) -> None:
        if self._session is not None:
            catalog = self._session.catalog
            for view in self._views.values():
                catalog.dropTempView(view)
        self._views.clear()
        if self._own_scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)


def _python(value: Any) -> Any:
    """A Spark value as DuckDB's Python client gives it: structs as dicts, instants as
    aware datetimes in UTC."""
    from pyspark.sql import Row

    if isinstance(value, Row):
        return {k: _python(v) for k, v in value.asDict(recursive=False).items()}
    if isinstance(value, list):
        return [_python(v) for v in value]
    if isinstance(value, dict):
        return {k: _python(v) for k, v in value.items()}
    if isinstance(value, datetime) and value.tzinfo is None:
        # pyspark makes a naive datetime in the process's local zone.
        return value.astimezone(UTC)
    return value


class SparkEvidence(StoredEvidence):
    """The project's stored evidence, its queries run on Spark: records, findings and
    duplicates come from the store as for the duckdb engine, the checks' queries from
    Spark."""

    def __init__(self, store: EvidenceStore, report: SyncReport):
        super().__init__(store, report)
        self.spark_engine = SparkEngine(lambda: self.store.engine)

    @property
    def engine(self) -> SparkEngine:  # type: ignore[override]
        return self.spark_engine

    def close(self) -> None:
        self.spark_engine.close()
        super().close()
