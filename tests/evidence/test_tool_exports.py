"""MLflow and Evidently on real exports, produced here by the tools themselves.

The tools run in a child process: their import-time warnings and global state stay out of
this test session (which turns warnings into errors), and the importer is shown to read
what they wrote without importing them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from evidencekit import NOW, records, snapshot

from assay.errors import InputError, InputErrors
from assay.evidence.importers import import_evidence
from assay.evidence.ledger import record_digest

WF = "fraud-scoring"


def _run_tool(script: str, cwd: Path) -> None:
    env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "EVIDENTLY_DISABLE_TELEMETRY": "1",
        "PYTHONWARNINGS": "ignore",
    }
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


MLFLOW_SCRIPT = """
    import mlflow, pandas as pd
    from mlflow import MlflowClient

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    mlflow.set_experiment("fraud-scoring-retraining")
    train = pd.DataFrame({"amount": [1.0, 2.0, 3.0], "label": [0, 1, 0]})
    with mlflow.start_run(run_name="weekly-retrain") as run:
        mlflow.log_params({"learning_rate": "0.05", "max_depth": "6", "margin.auc": "0.01"})
        mlflow.log_metrics({"auc": 0.912, "champion.auc": 0.905,
                            "auc/eu": 0.90, "champion.auc/eu": 0.93})
        mlflow.log_input(mlflow.data.from_pandas(train, name="fraud-train-2026-05"),
                         context="training")
        mlflow.set_tags({"mlflow.source.git.commit": "9f3c2a7b1e0d4c8f6a5b3e2d1c0f9e8d7c6b5a49",
                         "assay.trigger": "drift", "assay.data_quality_passed": "true",
                         "assay.poisoning_scan": "pass", "assay.in_envelope": "true"})
        promoted = run.info.run_id
    with mlflow.start_run(run_name="crashed"):
        mlflow.log_metric("auc", 0.5)
        mlflow.set_tag("mlflow.source.git.commit", "abc")
        crashed = mlflow.active_run().info.run_id
    mlflow.tracking.MlflowClient().set_terminated(crashed, status="FAILED")
    with mlflow.start_run(run_name="other-team") as other:
        mlflow.set_tags({"assay.workflow": "credit-limit", "mlflow.source.git.commit": "def"})
    client = MlflowClient()
    client.create_registered_model("fraud-scoring")
    version = client.create_model_version("fraud-scoring", f"runs:/{promoted}/model", promoted)
    client.set_registered_model_alias("fraud-scoring", "champion", version.version)
    client.set_model_version_tag("fraud-scoring", version.version, "assay.change_request_id", "CHG-1042")
    client.set_model_version_tag("fraud-scoring", version.version,
                                 "assay.error_budget_remaining_pct", "64.5")
    client.set_model_version_tag("fraud-scoring", version.version, "assay.disclosure_check", "pass")
    open("ids.txt", "w").write(promoted + " " + crashed + " " + other.info.run_id)
"""


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mlflow")
    _run_tool(MLFLOW_SCRIPT, folder)
    return folder


def test_mlflow_runs_and_promoted_versions_from_a_real_store(
    mlflow_store: Path, project: Path
) -> None:
    promoted, crashed, other = (mlflow_store / "ids.txt").read_text().split()
    result = import_evidence(
        "mlflow",
        [mlflow_store / "mlflow.db"],
        workflow=WF,
        evidence_dir="evidence",
        project_dir=project,
        now=NOW,
    )
    folder = project / "evidence" / WF / "mlflow"
    (run,) = records(folder / "retraining_run.jsonl")
    assert run["id"] == f"mlflow-run-{promoted}"
    assert run["source_uri"].endswith(f"/runs/{promoted}")
    assert (run["trigger"], run["data_quality_passed"], run["poisoning_scan"]) == (
        "drift",
        True,
        "pass",
    )
    assert run["code_commit"] == "9f3c2a7b1e0d4c8f6a5b3e2d1c0f9e8d7c6b5a49"
    assert len(run["data_hash"]) > 0  # the digest MLflow took of the training dataset
    assert (run["promoted"], run["model_version"], run["in_envelope"]) == (
        True,
        "fraud-scoring/1",
        True,
    )
    assert run["change_request_id"] == "CHG-1042"  # from the promoted version's tag
    assert run["eval"] == [
        {"metric": "auc", "candidate": 0.912, "champion": 0.905, "margin": 0.01},
        {
            "metric": "auc",
            "segment": "eu",
            "candidate": 0.90,
            "champion": 0.93,
            "margin": 0.01,
        },
    ]
    assert run["sha256"] == record_digest(run)
    (deploy,) = records(folder / "deploy_record.jsonl")
    assert deploy["id"] == "mlflow-model-fraud-scoring-v1"
    assert (deploy["environment"], deploy["model_version"], deploy["change_request_id"]) == (
        "prod",
        "fraud-scoring/1",
        "CHG-1042",
    )
    assert deploy["error_budget_remaining_pct"] == 64.5
    assert deploy["disclosure_check"] == "pass"
    skipped = "\n".join(result.skipped)
    assert crashed in skipped and "FAILED" in skipped
    assert "credit-limit" in skipped  # another workflow's run is left to that workflow
    assert other not in {r.id for r in result.records}


def test_mlflow_reimport_adds_nothing(mlflow_store: Path, project: Path) -> None:
    store = [mlflow_store / "mlflow.db"]
    import_evidence(
        "mlflow", store, workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
    )
    before = snapshot(project / "evidence")
    again = import_evidence(
        "mlflow", store, workflow=WF, evidence_dir="evidence", project_dir=project, now=NOW
    )
    assert again.written == () and again.count("unchanged") == 2
    assert snapshot(project / "evidence") == before


def test_a_file_that_is_not_an_mlflow_store(project: Path) -> None:
    path = project / "mlflow.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(InputError) as caught:
        import_evidence("mlflow", [path], workflow=WF, evidence_dir="evidence", project_dir=project)
    assert caught.value.location is not None and caught.value.location.file == "mlflow.db"
    path.write_text("not a database")
    with pytest.raises(InputError, match="not an MLflow SQLite store"):
        import_evidence("mlflow", [path], workflow=WF, evidence_dir="evidence", project_dir=project)
    assert snapshot(project / "evidence") == {}


def test_the_importer_does_not_import_the_tools() -> None:
    code = (
        "import sys, assay.evidence.importers, assay.evidence.ledger; "
        "print(sorted(m for m in ('mlflow', 'evidently', 'pandas', 'numpy', 'sqlalchemy') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


EVIDENTLY_SCRIPT = """
    from datetime import datetime, timezone
    import numpy as np, pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset
    from evidently.legacy.report import Report as LegacyReport
    from evidently.legacy.metric_preset import DataDriftPreset as LegacyDataDrift

    rng = np.random.default_rng(7)
    reference = pd.DataFrame({"income": rng.normal(50, 10, 400), "age": rng.normal(40, 5, 400)})
    current = pd.DataFrame({"income": rng.normal(62, 10, 400), "age": rng.normal(40, 5, 400)})
    report = Report([DataDriftPreset()], include_tests=True)
    snap = report.run(current, reference, timestamp=datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc),
                      metadata={"segment": "eu"})
    open("snapshot.json", "w").write(snap.dumps())
    snap.save_json("summary.json")
    legacy = LegacyReport(metrics=[LegacyDataDrift()], timestamp=datetime(2026, 5, 4, 9, 0))
    legacy.run(reference_data=reference, current_data=current)
    legacy.save_json("legacy.json")
"""


@pytest.fixture(scope="module")
def evidently_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("evidently")
    _run_tool(EVIDENTLY_SCRIPT, folder)
    return folder


def _drift(project: Path) -> dict[str, dict[str, object]]:
    rows = records(project / "evidence" / WF / "evidently" / "drift_log.jsonl")
    return {str(r["metric"]): r for r in rows}


def test_an_evidently_snapshot_becomes_one_drift_log_per_metric(
    evidently_reports: Path, project: Path
) -> None:
    import_evidence(
        "evidently",
        [evidently_reports / "snapshot.json"],
        workflow=WF,
        evidence_dir="evidence",
        project_dir=project,
    )
    drift = _drift(project)
    assert set(drift) == {"drift_income", "drift_age", "drifted_columns_share"}
    income, age, share = drift["drift_income"], drift["drift_age"], drift["drifted_columns_share"]
    assert (income["breach"], income["threshold"], income["run_at"]) == (
        True,
        0.05,
        "2026-05-04T09:00:00Z",
    )
    assert float(str(income["value"])) < 0.05  # a p-value: drift below the threshold
    assert age["breach"] is False and float(str(age["value"])) >= 0.05
    assert (share["value"], share["threshold"], share["breach"]) == (0.5, 0.5, True)
    assert income["segment"] == "eu"
    assert str(income["id"]).startswith("evidently:20260504T090000Z:")


def test_the_summary_json_needs_the_run_time(evidently_reports: Path, project: Path) -> None:
    summary = [evidently_reports / "summary.json"]
    with pytest.raises(InputError, match="carries no time"):
        import_evidence(
            "evidently", summary, workflow=WF, evidence_dir="evidence", project_dir=project
        )
    import_evidence(
        "evidently",
        summary,
        workflow=WF,
        evidence_dir="evidence",
        project_dir=project,
        fields={"run_at": "2026-05-04T09:00:00Z"},
    )
    drift = _drift(project)
    assert drift["drift_income"]["breach"] is True and drift["drift_age"]["breach"] is False
    assert drift["drift_income"]["run_at"] == "2026-05-04T09:00:00Z"


def test_a_legacy_evidently_report(evidently_reports: Path, project: Path) -> None:
    legacy = [evidently_reports / "legacy.json"]
    with pytest.raises(InputError, match="no timezone"):
        import_evidence(
            "evidently", legacy, workflow=WF, evidence_dir="evidence", project_dir=project
        )
    import_evidence(
        "evidently",
        legacy,
        workflow=WF,
        evidence_dir="evidence",
        project_dir=project,
        fields={"run_at": "2026-05-04T11:00:00+02:00"},
    )
    drift = _drift(project)
    assert drift["drift_income"]["breach"] is True and drift["drift_age"]["breach"] is False
    assert drift["drifted_columns_share"]["value"] == 0.5
    assert drift["drift_income"]["run_at"] == "2026-05-04T09:00:00Z"


def test_evidently_reimport_adds_nothing_and_a_broken_report_writes_nothing(
    evidently_reports: Path, project: Path
) -> None:
    snap = [evidently_reports / "snapshot.json"]
    import_evidence("evidently", snap, workflow=WF, evidence_dir="evidence", project_dir=project)
    before = snapshot(project / "evidence")
    assert (
        import_evidence(
            "evidently", snap, workflow=WF, evidence_dir="evidence", project_dir=project
        ).written
        == ()
    )
    broken = project / "broken.json"
    data = json.loads((evidently_reports / "snapshot.json").read_text())
    first = sorted(data["metric_results"])[1]
    data["metric_results"][first]["value"] = "high"
    broken.write_text(json.dumps(data))
    with pytest.raises((InputError, InputErrors)) as caught:
        import_evidence(
            "evidently", [broken], workflow=WF, evidence_dir="evidence", project_dir=project
        )
    assert caught.value.location is not None
    assert caught.value.location.pointer == f"/metric_results/{first}/value"
    assert snapshot(project / "evidence") == before
