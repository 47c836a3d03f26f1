"""The fleet generator of the gate benchmark writes a project Assay loads and evaluates.

Correctness only, at a tiny size: no timing here (the benchmark itself measures).
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import orjson
import pytest

from assay import assess, load_project
from assay.models.evidence_kinds import EVIDENCE_KINDS
from assay.models.time import parse_instant

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-20T12:00:00Z"
TINY = [
    "--workflows",
    "8",
    "--drift-records",
    "6000",
    "--deploys",
    "120",
    "--incidents",
    "24",
    "--feedback",
    "80",
    "--seed",
    "3",
    "--as-of",
    AS_OF,
]
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_fleet", ROOT / "benchmarks" / "generate_fleet.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return _load_generator()


@pytest.fixture(scope="module")
def fleet(generator: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fleet") / "fleet"
    assert generator.main(["--out", str(out), *TINY]) == 0
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_fleet_loads_without_errors(fleet: Path) -> None:
    project = load_project(fleet)
    assert len(project.workflows) == 8
    classes = {wf.risk_class for wf in project.workflows.values()}
    assert classes == {"minimal", "limited", "high", "critical"}
    kinds = {f.path.rsplit("/", 1)[-1] for f in project.files if f.role == "evidence"}
    assert "drift_log.jsonl" in kinds and "model_card.yaml" in kinds
    # Every kind the bundled policies read is present in the fleet.
    needed = {kind for control in project.controls.values() for kind in control.evidence}
    present = {
        kind
        for wf in project.workflows
        for kind in EVIDENCE_KINDS
        if project.evidence.records(wf, kind)
    }
    assert needed - {"serious_incident_report"} <= present
    assert len(project.evidence) > 6000


def test_requested_volumes_are_exact(fleet: Path) -> None:
    project = load_project(fleet)
    counts = {
        kind: sum(len(project.evidence.records(wf, kind)) for wf in project.workflows)
        for kind in ("drift_log", "deploy_record", "canary_report", "incident", "feedback_item")
    }
    assert counts == {
        "drift_log": 6000,
        "deploy_record": 120,
        "canary_report": 120,
        "incident": 24,
        "feedback_item": 80,
    }


def test_every_control_is_evaluated(fleet: Path) -> None:
    project = load_project(fleet)
    as_of = parse_instant(AS_OF)
    for workflow in project.workflows:
        assessment = assess(project, workflow, as_of)
        statuses = {c.id: c.status for c in assessment.controls}
        assert "error" not in statuses.values(), (workflow, statuses)
        for control in assessment.controls:
            for check in control.checks:
                assert "no evidence" not in check.summary, (workflow, control.id, check.summary)


def test_records_carry_the_envelope(fleet: Path) -> None:
    for path in sorted(fleet.glob("evidence/*/*.jsonl")):
        first = orjson.loads(path.read_bytes().split(b"\n", 1)[0])
        assert {"id", "kind", "workflow", "created_at", "recorded_by", "source_uri"} <= set(first)
        assert re.fullmatch(r"[0-9a-f]{64}", first["sha256"])
        body = {k: v for k, v in first.items() if k != "sha256"}
        assert hashlib.sha256(orjson.dumps(body)).hexdigest() == first["sha256"]
        assert ISO_Z.match(first["created_at"]), path


def test_generation_is_deterministic(generator: ModuleType, fleet: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert generator.main(["--out", str(again), *TINY]) == 0
    assert _files(again) == _files(fleet)
