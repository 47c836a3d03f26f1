"""The Spark engine gives the duckdb engine's Assessments byte for byte: the examples and
a small benchmark fleet (against the reviewed golden the rows and duckdb engines match).

Every check is forced through its query (``MIN_ROWS = 0``), and each test counts the
queries Spark ran, so a pass cannot come from the row evaluator alone. One local Spark
session serves the whole test session (starting one costs seconds).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from projectkit import Kit, check, control, copy_project, drift, risk_class, workflow

from assay.checks import query
from assay.cli.main import main
from assay.evaluate import assess_fleet
from assay.evidence.engines import spark as spark_engine
from assay.evidence.engines.spark import SparkEngine, to_spark
from assay.load.project import load_project
from assay.models.time import parse_instant

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
AS_OF = "2026-11-20T12:00:00Z"
TINY = [
    "--workflows", "8", "--drift-records", "6000", "--deploys", "120", "--incidents", "24",
    "--feedback", "80", "--seed", "3", "--as-of", AS_OF,
]  # fmt: skip


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The one Spark session of the test run (local[2], 1 GB driver, no UI)."""
    session = spark_engine.session()
    yield session
    session.stop()


@pytest.fixture
def spark_queries(monkeypatch: pytest.MonkeyPatch, spark: Any) -> Iterator[list[str]]:
    """Every check as a query; the SQL Spark ran."""
    monkeypatch.setattr(query, "MIN_ROWS", 0)
    ran: list[str] = []
    original = SparkEngine.query

    def counted(self: SparkEngine, sql: str, params: Any = ()) -> Any:
        ran.append(sql)
        return original(self, sql, params)

    monkeypatch.setattr(SparkEngine, "query", counted)
    yield ran


def _copy(folder: Path, tmp_path: Path) -> Path:
    root = tmp_path / folder.name
    copy_project(folder, root)
    return root


# -- the translation (no Spark needed) ----------------------------------------------------


@pytest.mark.parametrize(
    ("duckdb_sql", "spark_sql"),
    [
        ("SELECT epoch_us(r.t) FROM x r", "SELECT UNIX_MICROS(r.t) FROM x AS r"),
        # The CEL compiler's list index (DuckDB counts from 1) and a literal index.
        ("SELECT l[p.k + 1], l[1] FROM x", "SELECT l[p.k], l[0] FROM x"),
        ("SELECT m['a'], m[p.k] FROM x", "SELECT m['a'], m[p.k] FROM x"),
        ("SELECT CAST(len(l) AS BIGINT) FROM x", "SELECT CAST(SIZE(l) AS BIGINT) FROM x"),
        ("SELECT map_contains(m, 'a') FROM x", "SELECT MAP_CONTAINS_KEY(m, 'a') FROM x"),
        ("SELECT MAP {'a': 1, 'b': 2}", "SELECT MAP('a', 1, 'b', 2)"),
        (
            "WITH s AS MATERIALIZED (SELECT 1 AS a) SELECT a FROM s",
            "WITH s AS (SELECT 1 AS a) SELECT a FROM s",
        ),
        (
            "SELECT arg_max({'id': id}, t, 3) FROM x",
            "SELECT TRANSFORM(SLICE(SORT_ARRAY(COLLECT_LIST(STRUCT(t AS k, STRUCT(id AS id) AS v)), "
            "FALSE), 1, 3), e -> e.v) FROM x",
        ),
        (
            "SELECT list(v ORDER BY t, id) FROM x",
            "SELECT TRANSFORM(ARRAY_SORT(COLLECT_LIST(STRUCT(t AS k0, id AS k1, v AS v))), "
            "e -> e.v) FROM x",
        ),
        # Inside a lambda too (children are rewritten before their parents).
        (
            "SELECT list_filter(r.a, lambda v: epoch_us(v.t) < 3) FROM x r",
            "SELECT FILTER(r.a, v -> UNIX_MICROS(v.t) < 3) FROM x AS r",
        ),
    ],
)
def test_duckdb_sql_becomes_spark_sql(duckdb_sql: str, spark_sql: str) -> None:
    assert to_spark(duckdb_sql) == spark_sql


def test_store_tables_are_renamed_to_the_engines_views_but_ctes_are_not() -> None:
    sql = "WITH files AS (SELECT 1 AS blob) SELECT * FROM ev_drift_log r JOIN files f ON TRUE"
    out = to_spark(sql, {"ev_drift_log": "v_ev_drift_log", "files": "v_files"})
    assert "FROM v_ev_drift_log AS r" in out
    assert "JOIN files AS f" in out


# -- Spark SQL semantics the checks rely on ----------------------------------------------


def test_spark_reads_a_list_index_and_a_missing_key_as_duckdb_does(spark: Any) -> None:
    """Out of range and a missing key are NULL (ANSI mode off), as in DuckDB."""
    duck = (
        "SELECT l[CAST(1 AS BIGINT) + 1], l[CAST(5 AS BIGINT) + 1], l[k + 1], l[j + 1], "
        "(MAP {'a': 1})['b'], (MAP {'a': 1})['a'] "
        "FROM (SELECT [10, 20] AS l, CAST(1 AS BIGINT) AS k, CAST(7 AS BIGINT) AS j)"
    )
    (row,) = spark.sql(to_spark(duck)).collect()
    assert tuple(row) == (20, None, 20, None, None, 1)


# -- whole Assessments --------------------------------------------------------------------


def _assessed(root: Path, engine: str, as_of: datetime) -> list[str]:
    """Every workflow's Assessment JSON, on ``engine``."""
    with load_project(root, engine=engine) as project:
        assert project.evidence.engine.name == engine  # type: ignore[attr-defined]
        return [a.model_dump_json() for a in assess_fleet(project, None, as_of)]


def test_the_examples_on_spark_match_duckdb(spark_queries: list[str], tmp_path: Path) -> None:
    root = _copy(ROOT / "examples", tmp_path)
    as_of = parse_instant(AS_OF)
    expected = _assessed(root, "duckdb", as_of)
    assert _assessed(root, "spark", as_of) == expected
    assert len(spark_queries) > 30


def test_a_closest_miss_and_a_tie_at_the_cut_on_spark_match_duckdb(
    kit: Kit, spark_queries: list[str]
) -> None:
    """The queries that name a check's closest miss (a window function over the kind's
    rows, QUALIFY in DuckDB) and settle the newest records at a tie give DuckDB's result."""
    tied = [drift(i, "2026-05-20T00:00:00Z") for i in ["d-e", "d-b", "d-h", "d-a", "d-g"]]
    month = {"window": "30d"}
    kit.setup(
        controls=[
            control(
                "C-1",
                check(
                    "aggregate", "drift_log", "n", function="count", op=">=", threshold=1, **month
                ),
                check("fresh", "drift_log", "f", max_age="7d", time_field="triaged_at"),
            )
        ],
        classes=[risk_class("high", 3, ["C-1"])],
        workflows=[workflow(), workflow("wf2")],
        evidence=[*tied, drift("d-x", "2026-01-20T00:00:00Z", workflow="wf2")],
    )
    as_of = parse_instant("2026-06-01T00:00:00Z")
    expected = _assessed(kit.root, "duckdb", as_of)
    assert _assessed(kit.root, "spark", as_of) == expected
    assert any("QUALIFY" in sql for sql in spark_queries)
    assert expected[0].count("the closest drift log, d-h") == 1  # fresh: undated, by id
    assert expected[1].count("the closest drift log, d-x") == 2


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "generate_fleet", ROOT / "benchmarks" / "generate_fleet.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_small_fleet_on_spark_matches_the_reviewed_golden(
    spark_queries: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The golden the rows and duckdb engines match (tests/evidence/test_engine_parity.py)."""
    out = tmp_path / "fleet"
    assert _generator().main(["--out", str(out), *TINY]) == 0
    (out / "assay.yaml").write_text(
        "policies: [bundled]\nworkflows: [workflows]\nwaivers: [waivers]\nevidence: [evidence]\n"
    )
    capsys.readouterr()
    gate = ["gate", "--project", str(out), "--all", "--as-of", AS_OF, "--engine", "spark"]
    assert main([*gate, "--format", "json"]) == 1
    data = capsys.readouterr().out.encode()
    (digest, _) = (GOLDEN / "tiny-fleet.json.sha256").read_text().split()
    assert hashlib.sha256(data).hexdigest() == digest
    assert len(spark_queries) > 30


# -- what is missing is named -------------------------------------------------------------


def _gate_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    root = _copy(ROOT / "tests/scenarios/basic", tmp_path)
    code = main(["gate", "--project", str(root), "--all", "--as-of", AS_OF, "--engine", "spark"])
    assert code == 2
    return capsys.readouterr().err


def test_without_pyspark_the_gate_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        spark_engine, "find_spec", lambda name: None if name == "pyspark" else real(name)
    )
    spark_engine.require.cache_clear()
    try:
        err = _gate_missing(tmp_path, capsys)
    finally:
        spark_engine.require.cache_clear()
    assert "--engine spark needs the spark extra (pyspark not installed)" in err
    assert "pip install 'assay[spark]'" in err
    assert "Traceback" not in err


def test_without_java_the_gate_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(spark_engine.shutil, "which", lambda name: None)
    spark_engine.require.cache_clear()
    try:
        err = _gate_missing(tmp_path, capsys)
    finally:
        spark_engine.require.cache_clear()
    assert "needs Java 17 or later: Java not found" in err
    assert "openjdk-17-jre-headless" in err


def test_an_old_java_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"1.8.0_292\"' >&2\n")
    fake.chmod(0o755)
    assert spark_engine._java_version(str(fake)) == 8


def test_the_engine_can_come_from_assay_yaml(tmp_path: Path, spark: Any) -> None:
    root = _copy(ROOT / "tests/scenarios/basic", tmp_path)
    config = root / "assay.yaml"
    config.write_text((config.read_text() if config.exists() else "") + "engine: spark\n")
    with load_project(root) as project:
        assert project.evidence.engine.name == "spark"  # type: ignore[attr-defined]


def test_an_unknown_engine_in_assay_yaml_is_refused_with_its_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy(ROOT / "tests/scenarios/basic", tmp_path)
    config = root / "assay.yaml"
    text = config.read_text() if config.exists() else ""
    config.write_text(text + "engine: sparkle\n")
    assert main(["gate", "--project", str(root), "--all", "--as-of", AS_OF]) == 2
    err = capsys.readouterr().err
    assert "assay.yaml" in err and "engine" in err


def test_a_gate_imports_neither_pyspark_nor_sqlglot_unless_asked(tmp_path: Path) -> None:
    # A copy: the duckdb gate writes its cache (.assay/) into the project.
    root = _copy(ROOT / "tests/scenarios/basic", tmp_path)
    probe = (
        "import json, sys\nfrom assay.cli.main import main\n"
        "code = main(sys.argv[1:])\nprint(json.dumps(sorted(sys.modules)))\n"
    )
    for engine in ("rows", "duckdb"):
        run = subprocess.run(
            [sys.executable, "-c", probe, "gate", "--project", str(root), "--all",
             "--as-of", "2026-06-01T00:00:00Z", "--engine", engine],
            capture_output=True, text=True, cwd=ROOT, check=False,
        )  # fmt: skip
        modules = set(json.loads(run.stdout.strip().splitlines()[-1]))
        assert not {m for m in modules if m.split(".")[0] in ("pyspark", "py4j", "sqlglot")}


class _Conf:
    def __init__(self) -> None:
        self.set_to: dict[str, str] = {}

    def set(self, key: str, value: str) -> None:
        self.set_to[key] = value


class _Frame:
    def collect(self) -> list[tuple[int]]:
        return [(1,)]


class _ShortOfMemory:
    """A Spark session whose first ``failures`` queries fail building a broadcast join."""

    def __init__(self, failures: int) -> None:
        self.conf = _Conf()
        self.failures = failures
        self.asked = 0

    def sql(self, text: str, args: Any = None) -> _Frame:
        self.asked += 1
        if self.asked <= self.failures:
            raise RuntimeError(
                "org.apache.spark.SparkException: Not enough memory to build and broadcast "
                "the table to all worker nodes. As a workaround, you can either disable "
                "broadcast by setting spark.sql.autoBroadcastJoinThreshold to -1"
            )
        return _Frame()


class _NoTables:
    def query(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        return []


def _engine(session: _ShortOfMemory) -> SparkEngine:
    engine = SparkEngine(lambda: _NoTables(), scratch=Path("/nonexistent"))  # type: ignore[arg-type, return-value]
    engine._session = session  # type: ignore[assignment]
    return engine


def test_a_broadcast_that_runs_out_of_memory_is_run_again_without_broadcasting() -> None:
    session = _ShortOfMemory(failures=1)
    assert _engine(session).query("SELECT 1 AS x") == [(1,)]
    assert session.asked == 2
    assert session.conf.set_to == {
        "spark.sql.autoBroadcastJoinThreshold": "-1",
        "spark.sql.adaptive.autoBroadcastJoinThreshold": "-1",
    }


def test_a_query_that_fails_again_without_broadcasting_fails_closed() -> None:
    from assay.evidence.engines.base import StoreCorrupt

    session = _ShortOfMemory(failures=2)
    with pytest.raises(StoreCorrupt, match="Not enough memory to build and broadcast"):
        _engine(session).query("SELECT 1 AS x")
    assert session.asked == 2
