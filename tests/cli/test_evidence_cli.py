"""`assay evidence import | seal | verify | validate` on projects on disk, through `main`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click
import pytest
from projectkit import Kit, incident, line_col, record, risk_class, workflow

import assay
from assay.cli import cli, main
from assay.evidence.ledger import LEDGER_NAME, record_digest

FIXTURES = Path(__file__).resolve().parents[1] / "evidence" / "fixtures"
WF = "fraud-scoring"


@pytest.fixture
def project(kit: Kit) -> Kit:
    """A project with one workflow, whose evidence folder starts empty but for one file."""
    kit.setup(
        [
            {
                "id": "T-INC-01",
                "title": "Incidents are recorded",
                "intent": "Incidents exist.",
                "severity": "high",
                "mappings": {"eu_ai_act": ["Art. 72"]},
                "remediation": "Record them.",
                "evidence": ["incident"],
                "checks": [
                    {
                        "id": "c",
                        "kind": "present",
                        "description": "An incident.",
                        "evidence": "incident",
                    }
                ],
            }
        ],
        [risk_class("high", 3, ["T-INC-01"])],
        [workflow(WF)],
    )
    (kit.root / "evidence" / "records.jsonl").unlink()
    return kit


def _exports(kit: Kit, *names: str) -> list[str]:
    out = []
    for name in names:
        target = kit.root / "exports" / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / name, target)
        out.append(str(target))
    return out


PAGERDUTY = ("pagerduty/incidents.json", "pagerduty/log_entries.json")
NOW = ("--now", "2026-06-01T12:00:00Z")


# --- import -----------------------------------------------------------------------------


def test_import_writes_records_and_a_reimport_adds_nothing(project: Kit) -> None:
    files = _exports(project, *PAGERDUTY)
    first = project.run("evidence", "import", "pagerduty", *files, "--workflow", WF, *NOW)
    assert first.code == 0, first.err
    assert first.out.splitlines()[:2] == [
        f"pagerduty: 2 records for {WF} (2 added, 0 updated, 0 unchanged)",
        f"  wrote evidence/{WF}/pagerduty/incident.jsonl",
    ]
    written = project.root / "evidence" / WF / "pagerduty" / "incident.jsonl"
    before = written.read_bytes()
    again = project.run("evidence", "import", "pagerduty", *files, "--workflow", WF, *NOW)
    assert again.code == 0
    assert again.out.splitlines()[:2] == [
        f"pagerduty: 2 records for {WF} (0 added, 0 updated, 2 unchanged)",
        "  nothing changed",
    ]
    assert written.read_bytes() == before
    # The gate reads what was imported.
    gate = project.run("gate", "--workflow", WF, "--as-of", "2026-06-01T00:00:00Z")
    assert gate.code == 0, gate.out + gate.err


def test_set_fills_a_field_the_export_lacks(project: Kit) -> None:
    files = _exports(project, *PAGERDUTY)
    data = json.loads(Path(files[0]).read_text())
    for item in data["incidents"]:
        item["custom_fields"] = [f for f in item["custom_fields"] if f["name"] != "budget_burn_pct"]
    Path(files[0]).write_text(json.dumps(data))
    missing = project.run("evidence", "import", "pagerduty", *files, "--workflow", WF)
    assert missing.code == 2
    assert "missing required field 'budget_burn_pct'" in missing.err
    assert "pass --set budget_burn_pct=..." in missing.err
    assert not (project.root / "evidence" / WF).exists()
    filled = project.run(
        "evidence", "import", "pagerduty", *files, "--workflow", WF, "--set", "budget_burn_pct=2.5"
    )
    assert filled.code == 0, filled.err
    lines = (project.root / "evidence" / WF / "pagerduty" / "incident.jsonl").read_text()
    burns = {json.loads(line)["budget_burn_pct"] for line in lines.splitlines()}
    assert burns == {2.5}  # a number, as the model has it, not the text "2.5"


def test_a_truncated_export_is_one_clear_error_and_leaves_no_file(project: Kit) -> None:
    (path, log) = _exports(project, *PAGERDUTY)
    text = Path(path).read_text()
    Path(path).write_text(text[: len(text) // 2])
    run = project.run("evidence", "import", "pagerduty", path, log, "--workflow", WF)
    assert run.code == 2
    (line,) = run.err.splitlines()
    assert line.startswith("exports/incidents.json:")
    assert "error[JSON]: invalid JSON" in line and "truncated" in line
    assert sorted(p.name for p in (project.root / "evidence").rglob("*")) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "budget_burn_pct"], "--set 'budget_burn_pct': expected FIELD=VALUE"),
        (["--set", "a=1", "--set", "a=2"], "--set a is given twice"),
        (["--set", "timeline=[1,"], "--set timeline: invalid JSON"),
        (
            ["--set", "no_such_field=1"],
            "--set no_such_field: no record of this import has that field",
        ),
    ],
)
def test_bad_set_options_are_usage_errors(project: Kit, argv: list[str], message: str) -> None:
    files = _exports(project, *PAGERDUTY)
    run = project.run("evidence", "import", "pagerduty", *files, "--workflow", WF, *argv)
    assert run.code == 2
    assert message in run.err
    assert "Traceback" not in run.err


def test_an_unknown_source_lists_the_sources(project: Kit) -> None:
    run = project.run("evidence", "import", "jira", "x.json", "--workflow", WF)
    assert run.code == 2
    assert (
        "unknown evidence source 'jira'; expected one of: mlflow, evidently, pagerduty" in run.err
    )


def test_the_public_api_finds_the_evidence_folder_in_the_config(project: Kit) -> None:
    project.write("assay.yaml", "evidence: [records]\n")
    (project.root / "records").mkdir()
    project.write(
        "records/seed.jsonl",
        json.dumps(_digested(incident("I-0", "2026-05-01T00:00:00Z", workflow=WF))) + "\n",
    )
    files = _exports(project, *PAGERDUTY)
    result = assay.import_evidence("pagerduty", files, workflow=WF, project=project.root)
    assert result.written == (f"records/{WF}/pagerduty/incident.jsonl",)
    assert (project.root / "records" / WF / "pagerduty" / "incident.jsonl").is_file()
    assert not (project.root / "evidence" / WF).exists()


def _digested(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "sha256": record_digest(item)}


# --- seal and verify --------------------------------------------------------------------


def _sealed_project(project: Kit) -> Kit:
    files = _exports(project, *PAGERDUTY)
    assert project.run("evidence", "import", "pagerduty", *files, "--workflow", WF).code == 0
    return project


def test_seal_then_verify_then_an_edit_is_exit_3_naming_the_file_and_entry(project: Kit) -> None:
    _sealed_project(project)
    sealed = project.run("evidence", "seal", "--by", "alice")
    assert sealed.code == 0, sealed.err
    assert sealed.out.splitlines()[0] == "evidence: sealed 1 files (1 add)"
    head = sealed.out.splitlines()[1].split()[-1]
    assert len(head) == 64
    assert (project.root / "evidence" / LEDGER_NAME).is_file()
    ok = project.run("evidence", "verify", "--head", head)
    assert ok.code == 0, ok.err
    assert ok.out.splitlines() == [
        "evidence: verified 1 files (2 records) against 1 ledger entries",
        f"  head {head}",
    ]
    assert project.run("evidence", "seal").out.splitlines()[0] == "evidence: nothing new to seal"
    # Edit one value of one record, keeping its digest: the file no longer matches its seal.
    path = project.root / "evidence" / WF / "pagerduty" / "incident.jsonl"
    path.write_text(path.read_text().replace('"severity":"SEV2"', '"severity":"SEV4"', 1))
    bad = project.run("evidence", "verify")
    assert bad.code == 3
    edited, digest = bad.err.splitlines()
    assert edited.startswith(
        f"evidence/{WF}/pagerduty/incident.jsonl: error[LEDGER]: edited after it was sealed: "
    )
    assert "entry 1 (" in edited and "by alice" in edited
    assert digest.startswith(
        f"evidence/{WF}/pagerduty/incident.jsonl:1: error[LEDGER]: record 'Q1VBKPCEX8YFTA': sha256 "
    )
    assert "does not match its content" in digest


def test_verify_with_a_head_that_is_not_the_ledgers_is_exit_3(project: Kit) -> None:
    _sealed_project(project)
    assert project.run("evidence", "seal").code == 0
    run = project.run("evidence", "verify", "--head", "f" * 64)
    assert run.code == 3
    assert "entries were dropped or added at the end" in run.err


def test_verify_of_a_project_never_sealed_is_exit_3(project: Kit) -> None:
    _sealed_project(project)
    run = project.run("evidence", "verify")
    assert run.code == 3
    assert "no ledger: the evidence has never been sealed" in run.err


def test_seal_without_an_evidence_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evidence", "seal", "--project", str(tmp_path)]) == 2
    assert "no evidence folder: evidence does not exist" in capsys.readouterr().err


# --- validate ---------------------------------------------------------------------------


def test_validate_reports_each_invalid_field_where_it_is(project: Kit) -> None:
    good = _digested(incident("I-1", "2026-05-01T10:00:00Z", workflow=WF))
    project.write("evidence/good.jsonl", json.dumps(good) + "\n")
    bad_line = json.dumps({**good, "id": "I-2", "severity": "SEV9"})
    project.write("evidence/bad.jsonl", json.dumps(good | {"id": "I-3"}) + "\n" + bad_line + "\n")
    items = [good | {"id": "I-4"}, good | {"id": "I-5", "owner": 7}]
    json_text = json.dumps(items, indent=2) + "\n"
    project.write("evidence/list.json", json_text)
    yaml_text = (
        "- " + json.dumps(good | {"id": "I-6"}) + "\n"
        "- id: I-7\n"
        "  kind: incident\n"
        f"  workflow: {WF}\n"
        "  created_at: '2026-05-01T10:00:00Z'\n"
        "  recorded_by: bot\n"
        "  source_uri: x\n"
        f"  sha256: {'a' * 64}\n"
        "  severity: SEV1\n"
        "  aware_at: nonsense\n"
    )
    project.write("evidence/list.yaml", yaml_text)
    run = project.run("evidence", "validate")
    assert run.code == 2
    errors = run.err.splitlines()
    col = bad_line.index('"severity"') + 1
    json_line, json_col = line_col(json_text, '"owner": 7')
    yaml_line, yaml_col = line_col(yaml_text, "aware_at: nonsense")
    locations = [e.split(": error[")[0] for e in errors]
    assert f"evidence/bad.jsonl:2:{col} (at /severity)" in locations
    assert f"evidence/list.json:{json_line}:{json_col} (at /1/owner)" in locations
    assert f"evidence/list.yaml:{yaml_line}:{yaml_col} (at /1/aware_at)" in locations
    # A field that is missing is reported at the record that lacks it (I-7 has no paged_at).
    assert "evidence/list.yaml:2:3 (at /1/paged_at)" in locations
    out = run.out.splitlines()
    assert out[0].split() == ["workflow", "kind", "records", "files", "oldest", "newest", "by"]
    assert out[1].split() == [
        WF,
        "incident",
        "4",
        "4",
        "2026-05-01T10:00:00Z",
        "2026-05-01T10:00:00Z",
        "aware_at",
    ]
    assert out[-1] == f"4 evidence files, 4 valid records: {len(errors)} problems in 3 files"


def test_validate_of_valid_evidence_summarises_it(project: Kit) -> None:
    lines = [
        _digested(incident(f"I-{i}", f"2026-05-0{i}T10:00:00Z", workflow=WF)) for i in (1, 2, 3)
    ]
    project.write("evidence/a.jsonl", "".join(json.dumps(r) + "\n" for r in lines[:2]))
    project.write("evidence/b.jsonl", json.dumps(lines[2]) + "\n")
    drift = _digested(
        record(
            "drift_log",
            "d-1",
            workflow=WF,
            run_at="2026-04-01T00:00:00Z",
            metric="psi",
            value=0.1,
            threshold=0.2,
            breach=False,
        )
    )
    project.write("evidence/d.jsonl", json.dumps(drift) + "\n")
    run = project.run("evidence", "validate")
    assert run.code == 0, run.err
    assert run.err == ""
    rows = [line.split() for line in run.out.splitlines()]
    assert rows[1:-1] == [
        [WF, "drift_log", "1", "1", "2026-04-01T00:00:00Z", "2026-04-01T00:00:00Z", "run_at"],
        [WF, "incident", "3", "2", "2026-05-01T10:00:00Z", "2026-05-03T10:00:00Z", "aware_at"],
    ]
    assert run.out.splitlines()[-1] == "3 evidence files, 4 valid records: all valid"


# --- every option is explained ------------------------------------------------------------


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{prefix}{name} "))
    return found


def test_every_evidence_command_has_help_and_takes_project() -> None:
    group = cli.commands["evidence"]
    assert isinstance(group, click.Group)
    commands = dict(_commands(group))
    assert {"import", "seal", "verify", "validate"} <= set(commands)
    for name, command in commands.items():
        assert command.help, name
        options = [p for p in command.params if isinstance(p, click.Option)]
        assert "--project" in {o for p in options for o in p.opts}, name
        for option in options:
            assert option.help, f"evidence {name} {option.opts[0]} has no help"
