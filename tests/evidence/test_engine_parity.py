"""The duckdb engine gives the Assessments of the rows engine, byte for byte: the examples,
every scenario, a small benchmark fleet (against a reviewed golden), and every hostile
input still exits 2 with its location.

Every check is forced through its query here (``MIN_ROWS = 0``): by default small selections
run on the row evaluator, which would leave the query path untested on small projects.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from projectkit import Kit, check, control, copy_project, drift, risk_class, workflow

from assay.checks import covered, query
from assay.cli.main import main
from assay.evaluate import assess_fleet
from assay.evidence.store import StoredEvidence
from assay.load.project import load_project
from assay.models.time import parse_instant

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
AS_OF = "2026-11-20T12:00:00Z"
SCENARIOS = sorted(p.parent for p in (ROOT / "tests/scenarios").glob("*/expected.yaml"))
TINY = [
    "--workflows", "8", "--drift-records", "6000", "--deploys", "120", "--incidents", "24",
    "--feedback", "80", "--seed", "3", "--as-of", AS_OF,
]  # fmt: skip


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every check as a query; the SQL each ran, to show the query path did run."""
    monkeypatch.setattr(query, "MIN_ROWS", 0)
    ran: list[str] = []
    original = query.query

    def counted(evidence: Any, sql: str, names: Any) -> Any:
        ran.append(sql)
        return original(evidence, sql, names)

    monkeypatch.setattr(query, "query", counted)
    yield ran


def _copy(folder: Path, tmp_path: Path) -> Path:
    root = tmp_path / folder.name
    copy_project(folder, root)
    return root


def _both(root: Path, as_of: datetime) -> tuple[list[str], list[str]]:
    rows = load_project(root, engine="rows")
    expected = [a.model_dump_json() for a in assess_fleet(rows, None, as_of)]
    with load_project(root, engine="duckdb") as stored:
        got = [a.model_dump_json() for a in assess_fleet(stored, None, as_of)]
    return expected, got


def test_the_examples_on_both_engines(queries: list[str], tmp_path: Path) -> None:
    expected, got = _both(_copy(ROOT / "examples", tmp_path), parse_instant(AS_OF))
    assert got == expected
    assert len(queries) > 30


@pytest.mark.parametrize("folder", SCENARIOS, ids=[f.name for f in SCENARIOS])
def test_every_scenario_on_both_engines(folder: Path, queries: list[str], tmp_path: Path) -> None:
    spec = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
    as_of = spec["as_of"]
    when = as_of if isinstance(as_of, datetime) else parse_instant(str(as_of))
    expected, got = _both(_copy(folder, tmp_path), when)
    assert got == expected
    assert queries


@pytest.mark.parametrize("shift_days", [-3650, 3650], ids=["python-earlier", "python-later"])
def test_a_covered_record_the_deadline_in_python_disagrees_on_runs_on_rows(
    shift_days: int, queries: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A covered check words a pass or a late failure from the first candidate its query
    found, but only when Python's own deadline for the record agrees on whether that
    candidate was in time: here Python's deadline is moved ten years (what a gap between
    the two would look like), so the query's pass (or late failure) is not confirmed, and
    those workflows run on the row evaluator, which words them with the same deadline."""
    root = _copy(ROOT / "examples", tmp_path)
    as_of = parse_instant(AS_OF)
    unmoved, _ = _both(root, as_of)
    original = covered._due

    def moved(check: Any, ctx: Any, src: Any) -> datetime | None:
        due = original(check, ctx, src)
        return None if due is None else due + timedelta(days=shift_days)

    monkeypatch.setattr(covered, "_due", moved)
    expected, got = _both(root, as_of)
    assert expected != unmoved  # the moved deadline changes findings
    assert got == expected


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_fleet", ROOT / "benchmarks" / "generate_fleet.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fleet") / "fleet"
    assert _generator().main(["--out", str(out), *TINY]) == 0
    # The bundled policies by name: paths in the Assessment do not depend on where it is.
    (out / "assay.yaml").write_text(
        "policies: [bundled]\nworkflows: [workflows]\nwaivers: [waivers]\nevidence: [evidence]\n"
    )
    return out


@pytest.mark.parametrize("engine", ["rows", "duckdb"])
def test_a_small_fleet_matches_its_reviewed_golden(
    engine: str, tiny_fleet: Path, queries: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The golden was written by the rows engine before the store existed (and reviewed:
    every workflow fails, mostly on drift cadence, since 6,000 drift runs over 8 workflows
    cannot keep an hourly cadence). The JSON is pinned by its SHA-256, its text rendering
    is kept in full."""
    gate = ["gate", "--project", str(tiny_fleet), "--all", "--as-of", AS_OF, "--engine", engine]
    capsys.readouterr()
    assert main([*gate, "--format", "json"]) == 1
    data = capsys.readouterr().out.encode()
    (digest, _) = (GOLDEN / "tiny-fleet.json.sha256").read_text().split()
    assert main([*gate, "--format", "text", "--width", "100", "--no-color"]) == 1
    text = capsys.readouterr().out
    assert text == (GOLDEN / "tiny-fleet.txt").read_text(encoding="utf-8")
    assert hashlib.sha256(data).hexdigest() == digest
    assert bool(queries) == (engine == "duckdb")


def test_a_gap_in_a_group_without_a_value_is_measured(kit: Kit, queries: list[str]) -> None:
    """`max_gap` grouped by a field some records leave empty: the empty group's gaps are
    its own (a join on the group must match the null group too)."""
    gaps = check(
        "aggregate",
        "drift_log",
        function="max_gap",
        group_by="segment",
        op="<=",
        threshold="2d",
        window="30d",
    )
    kit.setup(
        controls=[control("C-1", gaps)],
        classes=[risk_class("high", 3, ["C-1"])],
        workflows=[workflow()],
        evidence=[
            drift(f"d{i}", f"2026-05-{day:02d}T00:00:00Z") for i, day in enumerate((2, 3, 10, 28))
        ]
        + [drift("s1", "2026-05-20T00:00:00Z", segment="eu")],
    )
    expected, got = _both(kit.root, parse_instant("2026-06-01T00:00:00Z"))
    assert got == expected
    assert "for segment missing: the longest time without a drift log is 18 days" in expected[0]
    assert queries


def _hostile() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "hostile_cases", ROOT / "tests" / "hostile" / "test_hostile_inputs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


HOSTILE = _hostile()


@pytest.mark.parametrize("case", sorted(HOSTILE.CASES))
def test_hostile_input_still_exits_2_with_location_through_the_store(
    kit: Kit, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_ENGINE", "duckdb")
    HOSTILE.test_hostile_input(kit, case)


def test_the_closest_miss_of_a_check_nothing_counts_for_is_found_by_a_query(
    kit: Kit, queries: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When none of a workflow's records count, each kind names the closest miss: the
    newest visible record by the check's time field (undated ones last, ties by id). The
    query path finds it with one query for every such workflow, without rebuilding the
    workflow's records; it must name the record the row evaluator names."""
    old = {"created_at": "2026-04-01T00:00:00Z"}
    evidence = [
        drift("d-1", "2026-04-02T00:00:00Z", breach=True, **old),
        drift("d-3", "2026-04-20T00:00:00Z", triaged_at="2026-04-21T00:00:00Z"),
        drift("d-2", "2026-04-20T00:00:00Z", triaged_at="2026-04-21T00:00:00Z"),
        drift("d-0", "2026-04-10T00:00:00Z", triaged_at="2026-04-15T00:00:00Z"),
        drift("d-undated", "2026-05-30T00:00:00Z"),
        drift("d-future", "2026-06-02T00:00:00Z"),  # after the as-of time: not visible
        drift("d-late", "2026-05-02T00:00:00Z", created_at="2026-06-05T00:00:00Z"),
        drift("d-other", "2026-05-31T00:00:00Z", workflow="wf2"),
    ]
    week = {"window": "7d", "where": "r.breach"}
    checks = [
        check("aggregate", "drift_log", "few", function="count", op=">=", threshold=1, **week),
        check("every", "drift_log", "all", assert_="r.value < r.threshold", **week),
        check("fresh", "drift_log", "new", max_age="7d", time_field="triaged_at", where="r.breach"),
        check("fresh", "drift_log", "triaged", max_age="3d", time_field="triaged_at"),
        check(
            "covered",
            "drift_log",
            "covers",
            by={"evidence": "drift_log", "key": "id"},
            deadline="1d",
            allow_empty=False,
            **week,
        ),
    ]
    kit.setup(
        controls=[control("C-1", *checks)],
        classes=[risk_class("high", 3, ["C-1"])],
        workflows=[workflow(), workflow("wf2"), workflow("wf3")],
        evidence=evidence,
    )
    loaded: list[tuple[str, str]] = []
    every_record = StoredEvidence.records

    def spied(self: StoredEvidence, workflow: str, kind: str) -> Any:
        loaded.append((workflow, kind))
        return every_record(self, workflow, kind)

    monkeypatch.setattr(StoredEvidence, "records", spied)
    expected, got = _both(kit.root, parse_instant("2026-06-01T00:00:00Z"))
    assert got == expected
    assert any("QUALIFY row_number()" in sql for sql in queries)
    # No workflow's drift logs were all rebuilt to pick one (other kinds may be: the
    # workflow's resolution reads its reviews).
    assert [kind for _, kind in loaded if kind == "drift_log"] == []
    wf = expected[0]
    # By run_at, the newest visible record; by triaged_at, d-undated ranks below every dated
    # record, and d-3 beats d-2 (the same time) on its id.
    assert wf.count("the closest drift log, d-undated (run_at 2026-05-30") == 3
    assert "the closest drift log, d-3 (triaged_at 2026-04-21" in wf
    assert "d-future" not in wf and "d-late" not in wf
    assert expected[1].count("the closest drift log, d-other") == 5  # every check
    assert "closest" not in expected[2]  # no drift log at all


def test_the_newest_records_a_result_names_are_settled_by_id_at_a_tie(
    kit: Kit, queries: list[str]
) -> None:
    """A query keeps a group's few newest records by time alone, one more than it shows:
    when records of the same instant straddle the cut, the ones named are those the row
    evaluator names (by id), not whichever the engine's top-N kept."""
    ids = ["d-e", "d-b", "d-h", "d-a", "d-g", "d-c", "d-f", "d-d"]  # file order is no order
    evidence = [drift(i, "2026-05-20T00:00:00Z") for i in ids]
    evidence += [drift("d-old", "2026-05-10T00:00:00Z")]
    month = {"window": "30d"}
    kit.setup(
        controls=[
            control(
                "C-1",
                check(
                    "aggregate",
                    "drift_log",
                    "many",
                    function="count",
                    op=">=",
                    threshold=1,
                    **month,
                ),
                check("every", "drift_log", "low", assert_="r.value < r.threshold", **month),
            )
        ],
        classes=[risk_class("high", 3, ["C-1"])],
        workflows=[workflow()],
        evidence=evidence,
    )
    expected, got = _both(kit.root, parse_instant("2026-06-01T00:00:00Z"))
    assert got == expected
    assert sum("arg_max" in sql for sql in queries) == 2  # the top-N ran in both queries
    for newest in ("d-h", "d-g", "d-f"):
        assert f'"record_id":"{newest}"' in expected[0]
    assert '"record_id":"d-a"' not in expected[0]
