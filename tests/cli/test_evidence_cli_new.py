"""`assay evidence new KIND`: a record from its template, filled in, validated, never
overwriting; every template goes through it and comes out valid (templates stay tested
against the models)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from assay.authoring.records import new_record
from assay.authoring.templates import template_path
from assay.cli import main
from assay.errors import UsageError
from assay.evidence.index import SourceFile, validate_records
from assay.evidence.ledger import record_digest
from assay.evidence.readers import ReaderLimits, reader_for
from assay.models.evidence_kinds import EVIDENCE_KINDS

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WF = "fraud-scoring"
LIMITS = ReaderLimits(5_000_000, 1_000_000_000)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "evidence").mkdir()
    return tmp_path


def _loaded(path: Path, shown: str) -> dict[str, Any]:
    """The record as the loader reads and validates it (no error allowed)."""
    reader = reader_for(path.suffix)
    assert reader is not None
    raws = list(reader(path.read_bytes(), shown, LIMITS))
    good, errors = validate_records(iter(raws), SourceFile(shown, ""), {WF})
    assert errors == []
    assert len(good) == 1
    data: dict[str, Any] = raws[0].data
    return data


def _instants(value: Any, pointer: str = "") -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(_instants(item, f"{pointer}/{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.update(_instants(item, f"{pointer}/{index}"))
    elif isinstance(value, str) and len(value) >= 20 and value[4] == "-" and value[10] == "T":
        try:
            out[pointer] = datetime.fromisoformat(value)
        except ValueError:
            pass
    return out


def _template_record(kind: str) -> dict[str, Any]:
    path = template_path(kind)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        text = text.split("\n---\n", 1)[0].removeprefix("---\n")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


@pytest.mark.parametrize("kind", sorted(EVIDENCE_KINDS))
def test_every_template_makes_a_valid_record(kind: str, project: Path) -> None:
    made = new_record(kind, workflow=WF, project=project, now=NOW)
    assert made.path.is_file()
    assert made.shown == f"evidence/{WF}/{kind}/{kind}-20260601T120000Z{made.path.suffix}"
    record = _loaded(made.path, made.shown)
    assert (record["id"], record["kind"], record["workflow"]) == (
        f"{kind}-20260601T120000Z",
        kind,
        WF,
    )
    assert record["created_at"] == "2026-06-01T12:00:00Z"
    time_field = EVIDENCE_KINDS[kind].TIME_FIELD
    assert record[time_field] == "2026-06-01T12:00:00Z"
    # The content digest, Markdown body included, is the record's own.
    assert record["sha256"] == record_digest(record)
    # Every other timestamp moved by the same amount: the template's intervals stay.
    template = _template_record(kind)
    before, after = _instants(template), _instants(record)
    assert set(before) == set(after)
    delta = NOW - before[f"/{time_field}"]
    for pointer, moment in before.items():
        if pointer != "/created_at":
            assert after[pointer] == moment + delta, pointer
    # The template's comments are kept: the file is the template, filled in.
    text = made.path.read_text(encoding="utf-8")
    original = template_path(kind).read_text(encoding="utf-8")
    comments = [line.split("#", 1)[1] for line in original.splitlines() if " # " in line]
    assert all(c in text for c in comments)


def test_a_yaml_record_points_the_editor_at_the_installed_schema(project: Path) -> None:
    made = new_record("incident", workflow=WF, project=project, now=NOW)
    first = made.path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    target = first.split("=", 1)[1]
    schema = (made.path.parent / target) if not target.startswith("/") else Path(target)
    assert schema.is_file() and schema.name == "incident.schema.json"


def test_set_values_are_typed_and_validated(project: Path) -> None:
    made = new_record(
        "incident",
        workflow=WF,
        project=project,
        now=NOW,
        fields={
            "id": "INC-77",
            "severity": "SEV1",
            "budget_burn_pct": "3",
            "resolved_at": None,
            "users_affected": "false",
        },
    )
    assert made.path.name == "INC-77.yaml"
    record = _loaded(made.path, made.shown)
    assert (record["severity"], record["budget_burn_pct"]) == ("SEV1", 3.0)
    assert (record["resolved_at"], record["users_affected"]) == (None, False)
    with pytest.raises(UsageError, match=r"--set severity: Input should be 'SEV1'"):
        new_record("incident", workflow=WF, project=project, now=NOW, fields={"severity": "SEV9"})
    with pytest.raises(UsageError, match=r"--set nope: incident has no field 'nope'"):
        new_record("incident", workflow=WF, project=project, now=NOW, fields={"nope": "1"})
    with pytest.raises(UsageError, match=r"--set sha256: sha256 is set by Assay"):
        new_record("incident", workflow=WF, project=project, now=NOW, fields={"sha256": "a"})


def test_a_list_can_be_set_and_a_bad_one_writes_nothing(project: Path) -> None:
    entry = {"ts": "2026-06-01T12:00:00Z", "entry": "only one"}
    made = new_record(
        "incident", workflow=WF, project=project, now=NOW, fields={"timeline": [entry]}
    )
    assert _loaded(made.path, made.shown)["timeline"] == [entry]
    made.path.unlink()
    naive = {"ts": "2026-06-01T12:00:00", "entry": "no timezone"}
    with pytest.raises(UsageError, match="--set timeline: "):
        new_record("incident", workflow=WF, project=project, now=NOW, fields={"timeline": [naive]})
    assert list((project / "evidence").rglob("*.*")) == []


def test_never_overwrites(project: Path) -> None:
    made = new_record("drift_log", workflow=WF, project=project, now=NOW)
    before = made.path.read_bytes()
    with pytest.raises(UsageError, match="already exists: Assay never overwrites a record"):
        new_record("drift_log", workflow=WF, project=project, now=NOW)
    assert made.path.read_bytes() == before
    assert [p.name for p in made.path.parent.iterdir()] == [made.path.name]  # no temp file


def test_written_where_the_project_keeps_that_kind(project: Path) -> None:
    first = new_record("incident", workflow=WF, project=project, now=NOW)
    moved = project / "evidence" / WF / "incidents" / first.path.name
    moved.parent.mkdir()
    first.path.rename(moved)
    again = new_record("incident", workflow=WF, project=project, now=NOW, fields={"id": "INC-2"})
    assert again.shown == f"evidence/{WF}/incidents/INC-2.yaml"
    other = new_record("incident", workflow="other", project=project, now=NOW)
    assert other.shown.startswith("evidence/other/incident/")


def test_unknown_kind_and_bad_workflow(project: Path) -> None:
    with pytest.raises(UsageError, match="unknown evidence kind 'incidnet'; expected one of"):
        new_record("incidnet", workflow=WF, project=project)
    with pytest.raises(UsageError, match="is not a workflow id"):
        new_record("incident", workflow="../x", project=project)


def test_the_command(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["evidence", "new", "postmortem", "--workflow", WF, "--project", str(project)]
    code = main([*argv, "--now", "2026-06-01T12:00:00Z", "--set", "incident_id=INC-1"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0] == (
        f"wrote evidence/{WF}/postmortem/postmortem-20260601T120000Z.md "
        f"(postmortem 'postmortem-20260601T120000Z' for {WF})"
    )
    assert main([*argv, "--now", "2026-06-01T12:00:00Z"]) == 2
    assert "already exists" in capsys.readouterr().err
