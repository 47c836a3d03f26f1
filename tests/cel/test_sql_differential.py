"""CEL compiled to SQL agrees with the row evaluator: every condition (and every
aggregate `value`) of the bundled policies, on random records of each kind and on the
records of the bundled policy-test cases, as each example workflow's class resolves it.

Outcomes compared: true, false, or a runtime error (SQL NULL); a value, null, or an error.
An error never passes a check: the SQL path reports it exactly where the row evaluator
raises.
"""

from __future__ import annotations

import random
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import orjson
import pytest
from pydantic import AwareDatetime, BaseModel

from assay.authoring.policytest.cases import load_cases
from assay.cel import Expression, ExpressionRuntimeError
from assay.cel.sql import NotCompilable, SqlCompiler, compile_condition
from assay.checks.base import CheckContext
from assay.evidence.cache import ObjectFiles
from assay.evidence.engines.columns import record_sql_type
from assay.evidence.engines.duckdb import DuckDBEngine, FileEntry, NewBlob
from assay.evidence.index import Record, SourceFile
from assay.evidence.store import write_objects
from assay.load.project import Project, load_project
from assay.models import codec
from assay.models.evidence_kinds import EVIDENCE_KINDS
from assay.models.policy import CoveredCheck
from assay.resolve import resolve

ROOT = Path(__file__).resolve().parents[2]
AS_OF = datetime.fromisoformat("2026-11-20T12:00:00+00:00")
PER_KIND = 120
WORDS = ["", "prod", "canary", "alice", "bob", "SEV1", "SEV2", "x", "availability", "errors"]


def _value(annotation: Any, rng: random.Random, workflow: str, owners: list[str]) -> Any:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _value(args[0], rng, workflow, owners)
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if len(members) < len(args) and rng.random() < 0.35:
            return None
        return _value(rng.choice(members), rng, workflow, owners)
    if origin is Literal:
        return rng.choice(args)
    if annotation is AwareDatetime:
        when = AS_OF + timedelta(
            hours=rng.choice([-9000, -2200, -700, -48, -3, 0, 2]) + rng.random()
        )
        offset = rng.choice(["Z", "+02:00"])
        text = when.replace(microsecond=0).isoformat().replace("+00:00", "")
        return text + ("Z" if offset == "Z" else "")
    if annotation is bool:
        return rng.random() < 0.5
    if annotation is int:
        return rng.choice([0, 1, 2, 3, 5, 30, 400])
    if annotation is float:
        return rng.choice([-2.0, 0.0, 0.04, 0.05, 0.1, 0.5, 0.86, 0.87, 1.0, 20.0, 99.0])
    if annotation is str:
        return rng.choice(WORDS + owners)
    if origin is list:
        return [_value(args[0], rng, workflow, owners) for _ in range(rng.choice([0, 1, 2, 3]))]
    if origin is tuple:
        return sorted(_value(a, rng, workflow, owners) for a in args)
    if origin is dict:
        keys = rng.sample(["art50_1", "accuracy", "exit", "x"], rng.choice([0, 1, 2]))
        return {k: _value(args[1], rng, workflow, owners) for k in keys}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {
            name: _value(info.annotation, rng, workflow, owners)
            for name, info in annotation.model_fields.items()
        }
    raise AssertionError(f"no generator for {annotation!r}")


def random_records(kind: str, rng: random.Random, workflow: str, owners: list[str]) -> list[Any]:
    model = EVIDENCE_KINDS[kind]
    out: list[Any] = []
    while len(out) < PER_KIND:
        raw = {
            name: _value(info.annotation, rng, workflow, owners)
            for name, info in model.model_fields.items()
            if name not in ("kind", "workflow", "id", "sha256")
        }
        raw.update(kind=kind, workflow=workflow, id=f"{kind}-{len(out)}", sha256="a" * 64)
        try:
            out.append(codec.decode_json(orjson.dumps(raw)))
        except codec.DecodeError:
            continue  # out of a field's bounds: draw again
    return out


def outcome_value(expr: Expression, variables: dict[str, Any], sql_type: str) -> Any:
    """A value as the SQL path gives it: times and durations in microseconds, an error (or
    a null) as None."""
    try:
        value = expr.evaluate(variables)
    except ExpressionRuntimeError:
        return None
    if isinstance(value, timedelta):
        return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    if isinstance(value, datetime):
        return _us(value)
    if sql_type == "double" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _us(value: datetime) -> int:
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def outcome_row(expr: Expression, variables: dict[str, Any]) -> bool | None:
    try:
        return expr.test(variables)
    except ExpressionRuntimeError:
        return None


@pytest.fixture(scope="module")
def project() -> Project:
    return load_project(ROOT / "examples", engine="rows")


def case_records() -> dict[str, list[Any]]:
    """The evidence of every bundled policy-test case, as records of one workflow: they
    sit on the edges the policies draw (a day late, one approver short, ...)."""
    out: dict[str, list[Any]] = {}
    for number, case in enumerate(load_cases(ROOT / "src/assay/bundled/policies/tests")):
        for record in case.records:
            raw = dict(record.data)
            kind = raw.get("kind")
            if kind not in EVIDENCE_KINDS:
                continue
            raw.update(workflow="wf", id=f"case{number}-{raw.get('id', 'x')}")
            try:
                out.setdefault(kind, []).append(codec.decode_json(orjson.dumps(raw)))
            except codec.DecodeError:
                continue
    return out


_ROWS: dict[str, list[Any]] = {}


def store_records(eng: DuckDBEngine, folder: Path, by_kind: dict[str, list[Any]]) -> dict[str, int]:
    """Ingest the records of each kind as one blob; the blob id of each kind."""
    objects = ObjectFiles(folder)
    blobs, ids = [], {}
    for number, (kind, datas) in enumerate(sorted(by_kind.items()), start=1):
        source = SourceFile(f"{kind}.jsonl", "0" * 64)
        records = [Record(d, source, i + 1, "") for i, d in enumerate(datas)]
        sha = f"{number:064d}"
        stored = write_objects(objects, sha, records)
        blobs.append(NewBlob(number, sha, len(records), ("wf",), stored))
        ids[kind] = number
    objects.close()  # the packs are whole before the engine reads them
    eng.write(blobs, [FileEntry(f"{b.id}", 0, 0, 0, 0, 0, b.id) for b in blobs])
    return ids


@pytest.fixture(scope="module")
def engine(project: Project, tmp_path_factory: pytest.TempPathFactory) -> DuckDBEngine:
    rng = random.Random(10)
    owners = sorted({wf.owner for wf in project.workflows.values()})
    eng = DuckDBEngine.open(None, read_only=False)
    eng.create("test")
    cases = case_records()
    assert sum(map(len, cases.values())) > 500  # the cases' records do reach the test
    for kind in sorted(EVIDENCE_KINDS):
        _ROWS[kind] = random_records(kind, rng, "wf", owners) + cases.get(kind, [])
    store_records(eng, tmp_path_factory.mktemp("objects"), _ROWS)
    return eng


def _cases(project: Project) -> list[tuple[str, str, str, str, str | None]]:
    """(workflow, control, check, field, source) for every boolean condition."""
    out = []
    for (control, check_id, name), expr in sorted(project.expressions.items()):
        if name in ("where", "assert", "by.where", "value") and check_id:
            for workflow in project.workflows:
                out.append((workflow, control, check_id, name, expr.source))
    return out


def test_sql_agrees_with_the_row_evaluator(project: Project, engine: DuckDBEngine) -> None:
    compiled = skipped = compared = 0
    unsupported: set[str] = set()
    contexts: dict[str, Any] = {}
    for workflow, control_id, check_id, name, _source in _cases(project):
        if workflow not in contexts:
            contexts[workflow] = resolve(project, workflow, AS_OF, None)
        resolved = contexts[workflow]
        rc = resolved.controls.get(control_id)
        if rc is None:
            continue
        check = next(c for c in rc.control.checks if c.id == check_id)
        ctx = CheckContext(project, resolved, rc)
        expr = project.expressions[(control_id, check_id, name)]
        covered = isinstance(check, CoveredCheck) and name in ("assert", "by.where")
        kind = check.by.evidence if covered else check.evidence
        src_kind = check.evidence if covered else None
        try:
            compiler = SqlCompiler(
                record_sql_type(kind),
                ctx.variables,
                src=record_sql_type(src_kind) if src_kind else None,
            )
            sql = (
                compiler.compile_value(expr.source)
                if name == "value"
                else compiler.compile(expr.source)
            )
        except NotCompilable:
            skipped += 1
            unsupported.add(expr.source)
            continue
        compiled += 1
        rows = _rows(engine, kind)
        if src_kind is None:
            got = engine.query(
                f"SELECT r.ord, {sql.text} FROM ev_{kind} r WHERE r.blob = ? ORDER BY r.ord",
                [_blob(kind)],
            )
            for (order, value), data in zip(got, rows, strict=True):
                variables = {**ctx.variables, "r": data}
                expected = (
                    outcome_value(expr, variables, sql.type.name)
                    if name == "value"
                    else outcome_row(expr, variables)
                )
                assert value == expected, (expr.source, workflow, order, data)
                compared += 1
        else:
            src_rows = _rows(engine, src_kind)[:25]
            got = engine.query(
                f"SELECT s.ord, r.ord, {sql.text} FROM ev_{kind} r, ev_{src_kind} s "
                "WHERE r.blob = ? AND s.blob = ? AND s.ord < 25 ORDER BY s.ord, r.ord",
                [_blob(kind), _blob(src_kind)],
            )
            for s_ord, r_ord, value in got:
                variables = {**ctx.variables, "r": rows[r_ord], "src": src_rows[s_ord]}
                assert value == outcome_row(expr, variables), (expr.source, workflow)
                compared += 1
    # The subset must cover the bulk of what the bundled policies say.
    print(f"compiled {compiled}, outside the subset {skipped}: {sorted(unsupported)}")
    assert compiled >= 3 * skipped, sorted(unsupported)
    assert compared > 10_000


def _blob(kind: str) -> int:
    return sorted(EVIDENCE_KINDS).index(kind) + 1


def _rows(engine: DuckDBEngine, kind: str) -> list[Any]:
    return _ROWS[kind]


@pytest.mark.parametrize(
    ("source", "record", "expected"),
    [
        ("r.triaged_at != null && r.triaged_at > now", {"triaged_at": None}, False),
        ("r.triaged_at > now", {"triaged_at": None}, None),  # null is not ordered: error
        ("r.triaged_at > now || true", {"triaged_at": None}, True),  # absorbed
        ("r.segment == 'a'", {"segment": None}, False),  # null is unequal, never an error
        ("r.segment in ['a', 'b']", {"segment": None}, False),
        ("r.value == 'a'", {}, False),  # different types: unequal
        ("r.value < 'a'", {}, None),  # no overload: error
        ("!(r.value < 'a') && false", {}, False),
        ("size(r.metric) > 0", {}, True),  # strings: outside the subset (UTF-8 bytes)
    ],
)
def test_edge_semantics(
    source: str, record: dict[str, Any], expected: bool | None, tmp_path: Path
) -> None:
    base = {
        "kind": "drift_log",
        "id": "d1",
        "workflow": "wf",
        "created_at": "2026-05-01T00:00:00Z",
        "recorded_by": "x",
        "source_uri": "x",
        "sha256": "a" * 64,
        "run_at": "2026-05-01T00:00:00Z",
        "metric": "psi",
        "segment": "s",
        "value": 0.5,
        "threshold": 0.2,
        "breach": False,
        **record,
    }
    data = codec.decode_json(orjson.dumps(base))
    from assay.cel import compile_expression

    expr = compile_expression(source, allowed_variables=frozenset({"r", "now"}))
    variables = {"now": AS_OF}
    assert outcome_row(expr, {**variables, "r": data}) == expected
    try:
        sql = compile_condition(source, record_sql_type("drift_log"), variables)
    except NotCompilable:
        assert source.startswith("size(r.metric)")
        return
    eng = DuckDBEngine.open(None, read_only=False)
    eng.create("t")
    store_records(eng, tmp_path, {"drift_log": [data]})
    ((value,),) = eng.query(f"SELECT {sql.text} FROM ev_drift_log r")
    assert value == expected
    eng.close()


_POSTMORTEM = {
    "kind": "postmortem",
    "id": "pm1",
    "workflow": "wf",
    "created_at": "2026-05-01T00:00:00Z",
    "recorded_by": "x",
    "source_uri": "x",
    "sha256": "a" * 64,
    "incident_id": "i1",
    "published_at": "2026-05-01T00:00:00Z",
    "blameless": True,
    "root_causes": ["cause"],
    "actions": [
        {
            "owner": "bob",
            "priority": "P1",
            "due": "2026-06-01T00:00:00Z",
            "closed_at": "2026-05-20T00:00:00Z",
        },
        {"owner": "amy", "priority": "P3", "due": "2026-06-01T00:00:00Z"},
    ],
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # filter: the elements whose predicate holds; an error on any element is the error
        ("size(r.actions.filter(a, a.closed_at != null && a.closed_at <= a.due)) == 1", True),
        ("size(r.actions.filter(a, a.closed_at <= a.due)) == 1", None),  # null is not ordered
        ("size(r.actions.filter(a, a.priority == 'P9')) == 0", True),
        # double() of an integer, and * on doubles
        ("double(size(r.actions)) * 0.5 >= 1.0", True),
        ("double(size(r.root_causes)) * 0.5 > 1.0", False),
        # a map literal read by a record's value; a missing key is an error
        ('{"P1": 1, "P2": 2}[r.actions[0].priority] == 1', True),
        ('{"P1": 1, "P2": 2}[r.actions[1].priority] == 3', None),
        # all/exists stop at the first element that decides or errors
        ("r.actions.all(a, a.closed_at != null)", False),
        ("r.actions.exists(a, a.closed_at > a.due)", None),
        ("r.actions.exists(a, a.priority == 'P1' || a.closed_at > a.due)", True),
    ],
)
def test_edge_semantics_of_macros_and_literals(
    source: str, expected: bool | None, tmp_path: Path
) -> None:
    from assay.cel import compile_expression

    data = codec.decode_json(orjson.dumps(_POSTMORTEM))
    expr = compile_expression(source, allowed_variables=frozenset({"r"}))
    assert outcome_row(expr, {"r": data}) == expected
    sql = compile_condition(source, record_sql_type("postmortem"), {})
    eng = DuckDBEngine.open(None, read_only=False)
    eng.create("t")
    store_records(eng, tmp_path, {"postmortem": [data]})
    ((value,),) = eng.query(f"SELECT {sql.text} FROM ev_postmortem r")
    assert value == expected
    eng.close()
