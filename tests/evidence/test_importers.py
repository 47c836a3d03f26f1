"""Importers on realistic exports of PagerDuty, GitHub, Argo Rollouts, Prometheus and the
generic mapping: what each field becomes, re-imports, and the errors of bad exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evidencekit import NOW, fixture, records, snapshot
from projectkit import Kit, check, control, risk_class, workflow

from assay.errors import AssayError, InputError, InputErrors, UsageError
from assay.evidence.importers import IMPORTERS, Source, get_importer, import_evidence
from assay.evidence.ledger import record_digest
from assay.models.evidence_kinds import EVIDENCE_KINDS

WF = "fraud-scoring"


def test_every_source_has_an_importer() -> None:
    assert set(IMPORTERS) == set(Source)
    assert [s.value for s in Source] == [
        "mlflow",
        "evidently",
        "pagerduty",
        "github",
        "argo-rollouts",
        "prometheus",
        "mapping",
    ]
    for source in Source:
        assert get_importer(source.value) is IMPORTERS[source]


@pytest.mark.parametrize("name", ["", "MLflow", "jira", "pagerduty2"])
def test_an_unknown_source_is_a_usage_error(name: str) -> None:
    with pytest.raises(UsageError, match="unknown evidence source"):
        get_importer(name)


# --- PagerDuty ----------------------------------------------------------------------------


def _pagerduty(project: Path) -> list[Path]:
    return fixture(
        project,
        "pagerduty/incidents.json",
        "pagerduty/log_entries.json",
        "pagerduty/oncalls.json",
        "pagerduty/escalation_policies.json",
    )


def test_pagerduty_incidents_take_ack_and_page_times_from_the_log_entries(project: Path) -> None:
    result = import_evidence(
        "pagerduty",
        _pagerduty(project),
        workflow=WF,
        evidence_dir="evidence",
        project_dir=project,
        now=NOW,
    )
    folder = project / "evidence" / WF / "pagerduty"
    assert result.written == (
        f"evidence/{WF}/pagerduty/incident.jsonl",
        f"evidence/{WF}/pagerduty/oncall_schedule.jsonl",
    )
    incidents = {r["id"]: r for r in records(folder / "incident.jsonl")}
    assert set(incidents) == {"Q1VBKPCEX8YFTA", "Q3KC7TQ9ZYXW2B"}
    first = incidents["Q1VBKPCEX8YFTA"]
    assert first["source_uri"] == "https://acme-bank.pagerduty.com/incidents/Q1VBKPCEX8YFTA"
    assert (first["severity"], first["aware_at"], first["paged_at"], first["acked_at"]) == (
        "SEV2",
        "2026-05-04T09:05:00Z",
        "2026-05-04T09:06:00Z",  # the notify entry, not the trigger
        "2026-05-04T09:10:00Z",  # the acknowledge entry
    )
    assert first["resolved_at"] == "2026-05-04T13:40:00Z"
    assert first["owner"] == "Jane Doe"
    assert [t["entry"] for t in first["timeline"]] == [
        "Triggered through the API",
        "Notified Jane Doe by push notification.",
        "Acknowledged by Jane Doe.",
        "Rolled back the feature pipeline to the previous build",
        "Resolved by Jane Doe.",
    ]
    assert (first["budget_burn_pct"], first["model_quality"]) == (8.5, True)  # custom fields
    assert first["sha256"] == record_digest(first)
    assert first["workflow"] == WF and first["kind"] == "incident"
    for record in incidents.values():
        EVIDENCE_KINDS["incident"].model_validate(record)


def test_a_never_acknowledged_incident_counts_the_wait_until_the_import(project: Path) -> None:
    import_evidence(
        "pagerduty",
        _pagerduty(project),
        workflow=WF,
        evidence_dir="evidence",
        project_dir=project,
        now=NOW,
    )
    incidents = records(project / "evidence" / WF / "pagerduty" / "incident.jsonl")
    open_one = next(r for r in incidents if r["id"] == "Q3KC7TQ9ZYXW2B")
    assert open_one["acked_at"] == "2026-06-01T12:00:00Z"
    assert open_one["resolved_at"] is None
    assert open_one["owner"] == "Sam Okafor"  # from the assignment
    assert open_one["severity"] == "SEV3"
    assert open_one["timeline"][-1]["entry"] == "never acknowledged (Assay import)"


def test_pagerduty_oncalls_become_a_schedule_per_escalation_policy(project: Path) -> None:
    result = import_evidence(
        "pagerduty",
        _pagerduty(project),
        workflow=WF,
        evidence_dir="evidence",
        project_dir=project,
        now=NOW,
    )
    (schedule,) = records(project / "evidence" / WF / "pagerduty" / "oncall_schedule.jsonl")
    assert schedule["rotation_id"] == "PEP0FRD"
    assert schedule["ack_sla_min"] == 15  # the first escalation rule's delay
    assert schedule["coverage"] == "24x7"  # the primary shifts leave no gap
    assert [(s["start"], s["person"], s["tier"]) for s in schedule["shifts"]] == [
        ("2026-06-01T06:00:00Z", "Jane Doe", "primary"),
        ("2026-06-01T06:00:00Z", "Ana Lima", "secondary"),
        ("2026-06-08T06:00:00Z", "Sam Okafor", "primary"),
    ]
    # The permanent level-3 on-call has no start or end: it is said, not silently dropped.
    assert any("permanent on-call" in s for s in result.skipped)


def test_reimporting_the_same_export_adds_nothing(project: Path) -> None:
    files = _pagerduty(project)
    first = import_evidence(
        "pagerduty", files, workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
    )
    before = snapshot(project / "evidence")
    again = import_evidence(
        "pagerduty", files, workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
    )
    assert first.count("added") == 3
    assert again.count("unchanged") == 3 and again.written == ()
    assert snapshot(project / "evidence") == before
    # A day later the same export still says the open incident was never acknowledged:
    # that wait grew, so that record (only) is updated; the schedule's created_at is kept.
    later = import_evidence(
        "pagerduty",
        files,
        workflow=WF,
        evidence_dir="evidence",
        project_dir=project,
        now=NOW.replace(day=2),
    )
    assert [(r.id, r.status) for r in later.records if r.status != "unchanged"] == [
        ("Q3KC7TQ9ZYXW2B", "updated")
    ]
    assert (
        snapshot(project / "evidence")[f"{WF}/pagerduty/oncall_schedule.jsonl"]
        == before[f"{WF}/pagerduty/oncall_schedule.jsonl"]
    )


def test_an_incident_that_changed_since_the_last_export_is_updated(project: Path) -> None:
    files = _pagerduty(project)
    import_evidence(
        "pagerduty", files, workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
    )
    data = json.loads(files[0].read_text())
    data["incidents"][1]["custom_fields"][0]["value"] = 4.0
    files[0].write_text(json.dumps(data))
    result = import_evidence(
        "pagerduty", files, workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
    )
    assert {(r.id, r.status) for r in result.records if r.kind == "incident"} == {
        ("Q1VBKPCEX8YFTA", "unchanged"),
        ("Q3KC7TQ9ZYXW2B", "updated"),
    }
    updated = records(project / "evidence" / WF / "pagerduty" / "incident.jsonl")
    assert len(updated) == 2
    assert next(r for r in updated if r["id"] == "Q3KC7TQ9ZYXW2B")["budget_burn_pct"] == 4.0


def test_a_truncated_pagerduty_export_is_one_located_error_and_writes_nothing(
    project: Path,
) -> None:
    (path,) = fixture(project, "pagerduty/incidents.json")
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    cut_line = text[: len(text) // 2].count("\n") + 1
    with pytest.raises(InputError) as caught:
        import_evidence(
            "pagerduty", [path], workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
        )
    err = caught.value
    assert not isinstance(err, InputErrors)
    assert err.location is not None and err.location.file == "exports/pagerduty/incidents.json"
    assert err.location.line == cut_line and err.location.column is not None
    assert "truncated" in err.message
    assert snapshot(project / "evidence") == {}


def test_a_missing_field_names_the_record_the_item_and_the_field(project: Path) -> None:
    files = _pagerduty(project)
    data = json.loads(files[0].read_text())
    del data["incidents"][1]["custom_fields"]
    files[0].write_text(json.dumps(data))
    with pytest.raises(InputErrors) as caught:
        import_evidence(
            "pagerduty", files, workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
        )
    (err,) = caught.value.errors
    assert "incident 'Q3KC7TQ9ZYXW2B'" in err.message
    assert "'budget_burn_pct'" in err.message and "--set budget_burn_pct" in err.message
    assert err.location is not None
    assert (err.location.file, err.location.pointer) == (
        "exports/pagerduty/incidents.json",
        "/incidents/1",
    )
    assert snapshot(project / "evidence") == {}


def test_set_fills_a_field_the_export_lacks(project: Path) -> None:
    files = _pagerduty(project)
    data = json.loads(files[0].read_text())
    del data["incidents"][1]["custom_fields"]
    files[0].write_text(json.dumps(data))
    import_evidence(
        "pagerduty",
        files,
        workflow=WF,
        evidence_dir="evidence",
        project_dir=project,
        now=NOW,
        fields={"budget_burn_pct": 0.0},
    )
    incidents = records(project / "evidence" / WF / "pagerduty" / "incident.jsonl")
    assert [r["budget_burn_pct"] for r in incidents] == [0.0, 0.0]


def test_a_wrongly_typed_value_names_its_pointer(project: Path) -> None:
    (path,) = fixture(project, "pagerduty/incidents.json")
    data = json.loads(path.read_text())
    data["incidents"][0]["created_at"] = 1746349500
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as caught:
        import_evidence(
            "pagerduty", [path], workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
        )
    assert caught.value.location is not None
    assert caught.value.location.pointer == "/incidents/0/created_at"
    assert "expected a string, got 1746349500" in caught.value.message


def test_an_unexpected_file_is_refused(project: Path) -> None:
    path = project / "exports" / "services.json"
    path.parent.mkdir()
    path.write_text('{"services": []}')
    with pytest.raises(InputError, match="not a PagerDuty API response"):
        import_evidence(
            "pagerduty", [path], workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
        )


@pytest.mark.parametrize("workflow", ["../escape", "a/../../b", "", " wf"])
def test_the_workflow_cannot_name_a_path_outside_the_evidence_folder(
    project: Path, workflow: str
) -> None:
    with pytest.raises(UsageError, match="not a workflow id"):
        import_evidence(
            "pagerduty",
            _pagerduty(project),
            workflow=workflow,
            evidence_dir="evidence",
            project_dir=project,
        )


# --- GitHub -------------------------------------------------------------------------------


def test_github_promotion_is_the_first_success_in_production(project: Path) -> None:
    files = fixture(project, "github/deployments.json", "github/statuses-1840021.json")
    result = import_evidence(
        "github", files, workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
    )
    (deploy,) = records(project / "evidence" / WF / "github" / "deploy_record.jsonl")
    assert deploy["id"] == "github-deployment-1840021"
    assert deploy["source_uri"] == (
        "https://api.github.com/repos/acme-bank/fraud-scoring/deployments/1840021"
    )
    assert (deploy["environment"], deploy["started_at"], deploy["promoted_at"]) == (
        "prod",
        "2026-05-04T09:30:00Z",
        "2026-05-05T10:00:00Z",  # not the in_progress status, not the later re-run
    )
    assert (deploy["change_request_id"], deploy["model_version"], deploy["release"]) == (
        "CHG-1042",
        "2.4.0",
        "2.4.0",
    )
    assert deploy["error_budget_remaining_pct"] == 64.5
    assert deploy["disclosure_check"] == "pass"
    assert any("1840002" in s and "staging" in s for s in result.skipped)


def test_a_deployment_without_a_success_is_not_promoted(project: Path) -> None:
    (path,) = fixture(project, "github/deployments.json")
    import_evidence(
        "github", [path], workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
    )
    (deploy,) = records(project / "evidence" / WF / "github" / "deploy_record.jsonl")
    assert deploy["promoted_at"] is None


def test_github_payload_without_a_change_request_is_a_named_error(project: Path) -> None:
    (path,) = fixture(project, "github/deployments.json")
    data = json.loads(path.read_text())
    del data[0]["payload"]["change_request_id"]
    path.write_text(json.dumps(data))
    with pytest.raises(InputErrors) as caught:
        import_evidence(
            "github", [path], workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
        )
    (err,) = caught.value.errors
    assert "deploy_record 'github-deployment-1840021'" in err.message
    assert "'change_request_id'" in err.message
    assert err.location is not None and err.location.pointer == "/0"


# --- Argo Rollouts ------------------------------------------------------------------------


def test_argo_rollout_and_analysis_runs_become_a_canary_report(project: Path) -> None:
    files = fixture(project, "argo/rollout.yaml", "argo/analysisruns.yaml")
    import_evidence(
        "argo-rollouts", files, workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
    )
    (report,) = records(project / "evidence" / WF / "argo-rollouts" / "canary_report.jsonl")
    assert report["id"] == "fraud/fraud-scoring@7"
    assert report["deploy_id"] == "github-deployment-1840021"
    assert (report["started_at"], report["ended_at"]) == (
        "2026-05-04T09:31:00Z",
        "2026-05-05T09:31:03Z",
    )
    assert report["max_traffic_pct"] == 5.0
    assert report["sample_size"] == 12840
    assert report["verdict"] == "pass"
    assert report["signed_off_by"] == "jane.doe"
    assert report["metrics"] == [
        {"name": "error-rate", "canary": 0.006, "control": 0.006, "threshold": 0.02},
        {"name": "score-shift", "canary": 0.215, "control": 0.209, "threshold": 0.05},
    ]


def test_a_failed_analysis_run_fails_the_canary(project: Path) -> None:
    files = fixture(project, "argo/rollout.yaml", "argo/analysisruns.yaml")
    files[1].write_text(
        files[1]
        .read_text()
        .replace("phase: Successful\n      startedAt", "phase: Failed\n      startedAt")
    )
    import_evidence(
        "argo-rollouts", files, workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
    )
    (report,) = records(project / "evidence" / WF / "argo-rollouts" / "canary_report.jsonl")
    assert report["verdict"] == "fail"


def test_an_analysis_run_without_revision_is_located_by_line(project: Path) -> None:
    files = fixture(project, "argo/rollout.yaml", "argo/analysisruns.yaml")
    text = files[1].read_text()
    files[1].write_text(
        text.replace('        rollout.argoproj.io/revision: "7"\n', "        note: x\n")
    )
    with pytest.raises(InputError) as caught:
        import_evidence(
            "argo-rollouts",
            files,
            workflow=WF,
            evidence_dir="evidence",
            project_dir=project,
            now=NOW,
        )
    err = caught.value
    assert "missing annotation 'rollout.argoproj.io/revision'" in err.message
    assert err.location is not None and err.location.file == "exports/argo/analysisruns.yaml"
    assert err.location.line == 8  # the metadata of the AnalysisRun


# --- Prometheus / Alertmanager ------------------------------------------------------------

OBSERVABILITY = {
    "log_retention_days": 184,
    "log_integrity": "hash_chain",
    "last_telemetry_at": "2026-06-01T11:55:00Z",
}


def test_alerts_are_routed_to_the_rota_alertmanager_pages(project: Path) -> None:
    files = fixture(project, "prometheus/rules.yaml", "prometheus/alertmanager.yml")
    import_evidence(
        "prometheus",
        files,
        workflow=WF,
        evidence_dir="evidence",
        project_dir=project,
        now=NOW,
        fields=OBSERVABILITY,
    )
    (config,) = records(project / "evidence" / WF / "prometheus" / "observability_config.jsonl")
    assert config["signals"] == ["availability", "errors", "latency", "output_distribution"]
    assert config["alerts"] == [
        {"signal": "availability", "threshold": 0.0, "rotation_id": "PEP0FRD"},
        {"signal": "errors", "threshold": 0.01, "rotation_id": "PEP0FRD"},
        {"signal": "latency", "threshold": 0.8, "rotation_id": "PEP0FRD"},
        {"signal": "output_distribution", "threshold": 0.2, "rotation_id": "fraud-ml-oncall"},
    ]
    assert config["log_retention_days"] == 184
    assert config["created_at"] == "2026-06-01T12:00:00Z"


def test_a_rules_reimport_later_is_unchanged(project: Path) -> None:
    files = fixture(project, "prometheus/rules.yaml", "prometheus/alertmanager.yml")
    import_evidence(
        "prometheus",
        files,
        workflow=WF,
        evidence_dir="evidence",
        project_dir=project,
        now=NOW,
        fields=OBSERVABILITY,
    )
    before = snapshot(project / "evidence")
    again = import_evidence(
        "prometheus",
        files,
        workflow=WF,
        evidence_dir="evidence",
        project_dir=project,
        now=NOW.replace(month=7),
        fields=OBSERVABILITY,
    )
    assert again.count("unchanged") == 1 and snapshot(project / "evidence") == before


def test_without_alertmanager_a_rule_needs_a_rotation_label(project: Path) -> None:
    (rules,) = fixture(project, "prometheus/rules.yaml")
    with pytest.raises(InputError) as caught:
        import_evidence(
            "prometheus",
            [rules],
            workflow=WF,
            evidence_dir="evidence",
            project_dir=project,
            fields=OBSERVABILITY,
        )
    assert "alert 'FraudScoringHighLatency': no rota" in caught.value.message
    assert caught.value.location is not None and caught.value.location.line == 10


def test_fields_prometheus_does_not_know_must_be_set(project: Path) -> None:
    files = fixture(project, "prometheus/rules.yaml", "prometheus/alertmanager.yml")
    with pytest.raises(InputErrors) as caught:
        import_evidence(
            "prometheus", files, workflow=WF, evidence_dir="evidence", project_dir=project
        )
    missing = sorted(e.message.split("'")[3] for e in caught.value.errors)
    assert missing == ["last_telemetry_at", "log_integrity", "log_retention_days"]


def test_set_refuses_a_field_no_record_has(project: Path) -> None:
    files = fixture(project, "prometheus/rules.yaml", "prometheus/alertmanager.yml")
    with pytest.raises(UsageError, match="--set severity: no record of this import"):
        import_evidence(
            "prometheus",
            files,
            workflow=WF,
            evidence_dir="evidence",
            project_dir=project,
            fields={**OBSERVABILITY, "severity": "SEV1"},
        )


# --- the generic mapping ------------------------------------------------------------------


def test_a_csv_with_a_mapping_becomes_records(project: Path) -> None:
    data, mapping = fixture(project, "mapping/dq-results.csv", "mapping/dq-mapping.yaml")
    result = import_evidence(
        "mapping",
        [data],
        workflow=WF,
        evidence_dir="evidence",
        project_dir=project,
        mapping=mapping,
    )
    assert result.count("added") == 3
    rows = records(project / "evidence" / WF / "mapping" / "drift_log.jsonl")
    assert [(r["id"], r["run_at"], r["metric"], r["value"], r["breach"]) for r in rows] == [
        ("dq-r-100-amount", "2026-05-03T21:00:00Z", "psi_amount", 0.04, False),
        ("dq-r-100-merchant_country", "2026-05-03T21:00:00Z", "psi_merchant_country", 0.31, True),
        ("dq-r-101-amount", "2026-05-04T21:00:00Z", "psi_amount", 0.05, False),
    ]
    assert rows[0]["source_uri"] == "https://dq.acme-bank.example/runs/r-100"
    assert rows[0]["threshold"] == 0.2


def test_a_mapping_with_an_unknown_field_is_refused_at_its_line(project: Path) -> None:
    data, mapping = fixture(project, "mapping/dq-results.csv", "mapping/dq-mapping.yaml")
    mapping.write_text(mapping.read_text().replace("  threshold:", "  treshold:"))
    with pytest.raises(InputErrors) as caught:
        import_evidence(
            "mapping",
            [data],
            workflow=WF,
            evidence_dir="evidence",
            project_dir=project,
            mapping=mapping,
        )
    err = caught.value.errors[0]
    assert "drift_log has no field 'treshold'" in err.message
    assert err.location is not None and err.location.file == "exports/mapping/dq-mapping.yaml"
    assert err.location.line is not None


def test_a_mapping_field_needs_exactly_one_source(project: Path) -> None:
    data, mapping = fixture(project, "mapping/dq-results.csv", "mapping/dq-mapping.yaml")
    mapping.write_text(mapping.read_text().replace("{const: 0.2}", "{const: 0.2, path: psi}"))
    with pytest.raises(InputErrors) as caught:
        import_evidence(
            "mapping",
            [data],
            workflow=WF,
            evidence_dir="evidence",
            project_dir=project,
            mapping=mapping,
        )
    assert "exactly one of path, const or template" in caught.value.errors[0].message
    assert caught.value.errors[0].location is not None
    assert caught.value.errors[0].location.line == 9


def test_a_bad_cell_names_the_row_the_record_and_the_field(project: Path) -> None:
    data, mapping = fixture(project, "mapping/dq-results.csv", "mapping/dq-mapping.yaml")
    data.write_text(
        data.read_text().replace("0.31,drift", "high,drift").replace("0.05,ok", "0.05,meh")
    )
    with pytest.raises(InputErrors) as caught:
        import_evidence(
            "mapping",
            [data],
            workflow=WF,
            evidence_dir="evidence",
            project_dir=project,
            mapping=mapping,
        )
    problems = [(e.location.line if e.location else None, e.message) for e in caught.value.errors]
    assert problems == [
        (3, "drift_log 'dq-r-100-merchant_country': field 'value': expected a number, got 'high'"),
        (
            4,
            "drift_log 'dq-r-101-amount': field 'breach': 'meh' is not in the map (expected one of: ok, drift)",
        ),
    ]
    assert snapshot(project / "evidence") == {}


def test_a_json_export_with_a_records_path(project: Path) -> None:
    path = project / "exports" / "feedback.json"
    path.parent.mkdir()
    path.write_text(
        json.dumps(
            {
                "data": {
                    "tickets": [
                        {
                            "key": "FB-1",
                            "opened": 1746349500000,
                            "safety": "no",
                            "appeal": "yes",
                            "url": "https://desk.example/FB-1",
                        },
                    ]
                }
            }
        )
    )
    mapping = project / "exports" / "feedback-map.yaml"
    mapping.write_text(
        "kind: feedback_item\n"
        "records: data.tickets\n"
        "id: {path: key}\n"
        "fields:\n"
        "  created_at: {path: opened, time_format: epoch_ms}\n"
        "  received_at: {path: opened, time_format: epoch_ms}\n"
        "  safety_flag: {path: safety, type: boolean}\n"
        "  is_appeal: {path: appeal, type: boolean}\n"
        "  source_uri: {path: url}\n"
    )
    import_evidence(
        "mapping",
        [path],
        workflow=WF,
        evidence_dir="evidence",
        project_dir=project,
        mapping=mapping,
    )
    (item,) = records(project / "evidence" / WF / "mapping" / "feedback_item.jsonl")
    assert (item["id"], item["received_at"], item["safety_flag"], item["is_appeal"]) == (
        "FB-1",
        "2025-05-04T09:05:00Z",
        False,
        True,
    )


def test_the_mapping_source_needs_a_mapping(project: Path) -> None:
    data, _ = fixture(project, "mapping/dq-results.csv", "mapping/dq-mapping.yaml")
    with pytest.raises(UsageError, match="--mapping"):
        import_evidence(
            "mapping", [data], workflow=WF, evidence_dir="evidence", project_dir=project
        )


# --- every importer's output is evidence the project loader accepts -----------------------


def test_imported_records_load_in_a_project(kit: Kit) -> None:
    kit.setup(
        [control("PROD-INC-01", check("present", "incident", min=1, window="90d"))],
        [risk_class("high", 3, ["PROD-INC-01"])],
        workflows=[workflow(WF, "high")],
    )
    (kit.root / "evidence" / "records.jsonl").unlink()
    import_evidence(
        "pagerduty",
        _pagerduty(kit.root),
        workflow=WF,
        evidence_dir="evidence",
        project_dir=kit.root,
        now=NOW,
    )
    files = fixture(
        kit.root, "github/deployments.json", "argo/rollout.yaml", "argo/analysisruns.yaml"
    )
    import_evidence(
        "github", files[:1], workflow=WF, evidence_dir="evidence", project_dir=kit.root, now=NOW
    )
    import_evidence(
        "argo-rollouts",
        files[1:],
        workflow=WF,
        evidence_dir="evidence",
        project_dir=kit.root,
        now=NOW,
    )
    loaded = kit.load()
    assert [r.id for r in loaded.evidence.records(WF, "incident")] == [
        "Q1VBKPCEX8YFTA",
        "Q3KC7TQ9ZYXW2B",
    ]
    assert len(loaded.evidence.records(WF, "canary_report")) == 1
    assert len(loaded.evidence.records(WF, "deploy_record")) == 1
    result = kit.assess("2026-06-01T00:00:00Z", workflow_id=WF).control("PROD-INC-01")
    assert result.status == "pass"


def test_no_error_escapes_as_a_traceback(project: Path) -> None:
    # Every malformed shape seen above raised an AssayError; a few more that are not JSON
    # objects at all.
    for text in ("[]", "42", '"text"', "null", "{"):
        path = project / "exports" / "x.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        for source in ("pagerduty", "evidently"):
            with pytest.raises(AssayError):
                import_evidence(
                    source, [path], workflow=WF, evidence_dir="evidence", project_dir=project
                )
