"""End to end, as a new user would: init, two records from templates, an import of a real
MLflow store, a gate that reads them, a seal, a pack that carries the ledger and re-assesses,
then an edit that `assay evidence verify` (exit 3) and the gate of a C4 workflow catch."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assay.cli import main

MLFLOW = """
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    mlflow.set_experiment("example-retraining")
    with mlflow.start_run(run_name="weekly-retrain") as run:
        mlflow.log_params({"learning_rate": "0.05"})
        mlflow.log_metrics({"auc": 0.91, "champion.auc": 0.90})
        mlflow.set_tags({"mlflow.source.git.commit": "9f3c2a7b1e0d4c8f6a5b3e2d1c0f9e8d7c6b5a49",
                         "assay.data_hash": "a" * 64, "assay.data_quality_passed": "true"})
    client = MlflowClient()
    client.create_registered_model("example")
    client.create_model_version("example", f"runs:/{run.info.run_id}/model", run.info.run_id)
"""


def _assay(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_new_project_from_init_to_a_tampered_seal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "risk"
    code, out, err = _assay(capsys, "init", str(root))
    assert code == 0, err
    p = ("--project", str(root))

    # Two records from their templates.
    code, out, err = _assay(capsys, "evidence", "new", "incident", "-w", "example", *p)
    assert code == 0, err
    incident = root / out.split()[1]
    incident_id = out.split("'")[1]
    code, out, err = _assay(
        capsys,
        "evidence",
        "new",
        "postmortem",
        "-w",
        "example",
        "--set",
        f"incident_id={incident_id}",
        *p,
    )
    assert code == 0, err

    # A real MLflow store, made on the spot with the mlflow package.
    store = tmp_path / "tools"
    store.mkdir()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(MLFLOW)],
        cwd=store,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    code, out, err = _assay(
        capsys, "evidence", "import", "mlflow", str(store / "mlflow.db"), "-w", "example", *p
    )
    assert code == 0, err
    assert "1 added" in out.splitlines()[0]
    code, again, err = _assay(
        capsys, "evidence", "import", "mlflow", str(store / "mlflow.db"), "-w", "example", *p
    )
    assert code == 0 and "0 added" in again and "nothing changed" in again

    # Everything validates; the gate reads all three records.
    code, out, err = _assay(capsys, "evidence", "validate", *p)
    assert code == 0, err
    assert out.splitlines()[-1] == "3 evidence files, 3 valid records: all valid"
    code, out, err = _assay(capsys, "gate", "-w", "example", "--format", "json", *p)
    assert code == 1, err  # a new project lacks most evidence: non-compliant, not an error
    assessment = json.loads(out)
    inputs = {i["path"]: i["role"] for i in assessment["inputs"]}
    assert sorted(k for k, v in inputs.items() if v == "evidence") == sorted(
        f.relative_to(root).as_posix()
        for f in (root / "evidence").rglob("*")
        if f.is_file() and not f.name.startswith(".")
    )

    # Seal; verify.
    code, out, err = _assay(capsys, "evidence", "seal", "--by", "risk-team", *p)
    assert code == 0, err
    assert out.splitlines()[0] == "evidence: sealed 3 files (3 add)"
    assert _assay(capsys, "evidence", "verify", *p)[0] == 0

    # At C4 the sealed evidence passes PROD-LOG-01's evidence_sealed; a pack carries the
    # ledger and re-assesses to the same result.
    workflow = root / "workflows" / "example.yaml"
    workflow.write_text(workflow.read_text().replace("risk_class: high", "risk_class: critical"))
    code, out, err = _assay(capsys, "gate", "-w", "example", "--format", "json", *p)
    sealed = _check(json.loads(out), "PROD-LOG-01", "evidence_sealed")
    assert sealed["status"] == "pass", sealed
    keys = tmp_path / "keys"
    monkeypatch.setenv("ASSAY_KEY_PASSPHRASE", "correct horse")
    assert _assay(capsys, "keys", "init", "--out", str(keys))[0] == 0
    pack = tmp_path / "example.pdf"
    code, out, err = _assay(
        capsys,
        "pack",
        "--workflow",
        "example",
        "--pkcs12",
        str(keys / "signer.p12"),
        "-o",
        str(pack),
        *p,
    )
    assert code == 0, err  # the pack is written (non-compliant is reported, not an error)
    from pyhanko.pdf_utils.reader import PdfFileReader

    from assay.pack.verify import embedded_files

    names = embedded_files(PdfFileReader(io.BytesIO(pack.read_bytes())))
    assert "inputs/evidence/.assay-ledger.jsonl" in names
    code, out, err = _assay(
        capsys, "verify", str(pack), "--trust", str(keys / "cert.pem"), "--reassess"
    )
    assert code == 0, out + err

    # One edit of one sealed file.
    incident.write_text(incident.read_text().replace("severity: SEV2", "severity: SEV4"))
    code, out, err = _assay(capsys, "evidence", "verify", *p)
    assert code == 3
    shown = incident.relative_to(root).as_posix()
    assert any(
        line.startswith(f"{shown}: error[LEDGER]: edited after it was sealed") and "entry " in line
        for line in err.splitlines()
    ), err
    code, out, err = _assay(capsys, "gate", "-w", "example", "--format", "json", *p)
    assert code == 1
    failed = _check(json.loads(out), "PROD-LOG-01", "evidence_sealed")
    assert failed["status"] == "fail"
    (message,) = [f["message"] for f in failed["findings"] if f["outcome"] == "fail"]
    assert message.startswith(f"{shown} was edited after it was sealed")
    assert "ledger entry " in message and "by risk-team" in message


def _check(assessment: dict[str, object], control: str, check: str) -> dict[str, object]:
    controls = assessment["controls"]
    assert isinstance(controls, list)
    (found,) = [c for c in controls if c["id"] == control]
    (result,) = [k for k in found["checks"] if k["id"] == check]
    assert isinstance(result, dict)
    return result
