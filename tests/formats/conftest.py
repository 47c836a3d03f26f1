"""Assessment fixtures shared by the format tests, and golden-file helpers.

The non-compliant fixture has one control of every status, an expired waiver on a failing
control, evidence files whose names hold spaces, commas and colons, and messages with
``<``, ``|``, ``%`` and line breaks, so every format's escaping is exercised.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from standards import standards_dir

from assay.models.assessment import (
    Assessment,
    CheckResult,
    ControlResult,
    Engine,
    EvidencePointer,
    Finding,
    HypercareState,
    InputDigest,
    RiskClassInfo,
    SourcePointer,
    Summary,
    Verdict,
    WaiverState,
    WorkflowInfo,
)
from assay.models.policy import Mappings

GOLDEN = Path(__file__).resolve().parent / "golden"
AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CATALOG = "policies/catalog.yaml"
ODD_FILE = "evidence/canary runs, 2026: eu/deploys.jsonl"
SHA = "ab" * 32


def _ptr(file: str, line: int | None, record: str, kind: str, sha: str = SHA) -> EvidencePointer:
    return EvidencePointer(
        file=file, line=line, pointer="", record_id=record, kind=kind, sha256=sha
    )


def _summary(controls: list[ControlResult]) -> Summary:
    counts: dict[str, int] = {}
    for control in controls:
        counts[control.status] = counts.get(control.status, 0) + 1
    verdict = Verdict.of([c.status for c in controls], prohibited=False)
    return Summary(
        counts=dict(sorted(counts.items())),
        compliant=verdict is Verdict.COMPLIANT,
        verdict=verdict,
    )


def _control(
    cid: str,
    title: str,
    status: str,
    summary: str,
    *,
    line: int,
    severity: str = "high",
    checks: list[CheckResult] | None = None,
    waivers: list[WaiverState] | None = None,
    requires: list[str] | None = None,
    blocked_by: list[str] | None = None,
) -> ControlResult:
    return ControlResult.model_validate(
        {
            "id": cid,
            "title": title,
            "intent": f"Intent of {title.lower()}: production changes stay safe.",
            "severity": severity,
            "status": status,
            "summary": summary,
            "required_by": "class",
            "requires": requires or [],
            "blocked_by": blocked_by or [],
            "params": {"window": "30d"},
            "param_sources": {"window": "high"},
            "checks": checks or [],
            "waivers": waivers or [],
            "mappings": Mappings(
                eu_ai_act=["Art. 15(1)"], nist_ai_rmf=["MG-2.3"], iso_42001=["A.6.2.5"]
            ),
            "remediation": f"Fix {title.lower()} and re-run the gate.",
            "policy": SourcePointer(file=CATALOG, line=line, column=5),
        }
    )


def _check(
    cid: str, status: str, summary: str, findings: list[Finding], *, line: int, records: int = 3
) -> CheckResult:
    return CheckResult.model_validate(
        {
            "id": cid,
            "kind": "every",
            "description": f"Check {cid}.",
            "status": status,
            "summary": summary,
            "records": records,
            "findings": findings,
            "policy": SourcePointer(file=CATALOG, line=line),
        }
    )


def _waiver(wid: str, control: str, state: str, expires: datetime) -> WaiverState:
    return WaiverState.model_validate(
        {
            "id": wid,
            "control": control,
            "state": state,
            "reason": "Vendor <outage> | 50% of traffic\nretry next week",
            "requested_by": "alice@example.com",
            "approved_by": "bob@example.com",
            "approved_at": datetime(2026, 10, 1, tzinfo=UTC),
            "expires_at": expires,
            "ticket": "RISK-42",
            "source": SourcePointer(file=f"waivers/{wid}.yaml", line=1),
        }
    )


def _assessment(
    wid: str, name: str, controls: list[ControlResult], *, release: str | None
) -> Assessment:
    return Assessment.model_validate(
        {
            "engine": Engine(version="0.1.0"),
            "as_of": AS_OF,
            "release": release,
            "workflow": WorkflowInfo(
                id=wid,
                name=name,
                owner="risk-ml@example.com",
                risk_class="high",
                launched=date(2026, 9, 1),
                eu_scope=True,
                role="provider",
            ),
            "risk_class": RiskClassInfo(
                id="high", title="C3 High", level=3, prohibited=False, lineage=["high", "medium"]
            ),
            "hypercare": HypercareState(
                active=True,
                started=date(2026, 9, 1),
                ends=datetime(2026, 11, 30, tzinfo=UTC),
                extensions=0,
            ),
            "controls": controls,
            "inputs": [
                InputDigest(path=CATALOG, role="policy", sha256="11" * 32),
                InputDigest(path="policies/high.yaml", role="policy", sha256="22" * 32),
                InputDigest(path=ODD_FILE, role="evidence", sha256=SHA, records=3),
                InputDigest(path="evidence/incidents.yaml", role="evidence", sha256=SHA, records=1),
                InputDigest(path="waivers/W-3.yaml", role="waiver", sha256="33" * 32),
                InputDigest(path="waivers/W-7.yaml", role="waiver", sha256="44" * 32),
            ],
            "summary": _summary(controls),
        }
    )


def make_noncompliant() -> Assessment:
    """fraud-scoring: fail, blocked, error, waived, fail with an expired waiver, n/a, pass."""
    canary_fail = _check(
        "canary_ok",
        "fail",
        "Expected every canary to pass; 2 of 3 failed.",
        [
            Finding(
                outcome="fail",
                message="Canary <c-17> error rate 7% > 5% | threshold\nrolled forward anyway",
                evidence=[_ptr(ODD_FILE, 12, "c-17", "canary")],
            ),
            Finding(
                outcome="fail",
                message="Canary c-18 had no traffic",
                evidence=[_ptr(ODD_FILE, 14, "c-18", "canary")],
            ),
            Finding(
                outcome="pass",
                message="Canary c-16 passed",
                evidence=[_ptr(ODD_FILE, 10, "c-16", "canary")],
            ),
        ],
        line=14,
    )
    drift_error = _check(
        "drift_p95",
        "error",
        "Could not evaluate: field psi is missing in 1 record.",
        [Finding(outcome="error", message="no such key: 'psi'", evidence=[])],
        line=40,
    )
    incident = _check(
        "postmortems",
        "fail",
        "Expected a postmortem within 5 business days for every SEV1; 1 of 1 missing.",
        [
            Finding(
                outcome="fail",
                message="Incident INC-7 has no postmortem",
                evidence=[_ptr("evidence/incidents.yaml", 3, "INC-7", "incident")],
            )
        ],
        line=60,
    )
    evals = _check(
        "eval_fresh",
        "fail",
        "Expected an evaluation newer than 30d; newest is 45d old.",
        [
            Finding(
                outcome="fail",
                message="Newest evaluation ev-3 is 45 days old",
                evidence=[_ptr("evidence/evals/ev-3.json", None, "ev-3", "evaluation")],
            )
        ],
        line=80,
    )
    monitor = _check(
        "monitor_on",
        "pass",
        "Expected monitoring heartbeats every hour; found 720.",
        [Finding(outcome="pass", message="720 heartbeats", evidence=[])],
        line=100,
        records=720,
    )
    controls = [
        _control(
            "PROD-MONITOR-01",
            "Production monitoring",
            "pass",
            "Monitoring heartbeats are present.",
            line=95,
            severity="medium",
            checks=[monitor],
        ),
        _control(
            "PROD-CANARY-01",
            "Canary release",
            "fail",
            "2 of 3 canaries failed.",
            line=10,
            severity="critical",
            checks=[canary_fail],
        ),
        _control(
            "PROD-ROLLBACK-01",
            "Rollback rehearsal",
            "blocked",
            "Blocked: PROD-CANARY-01 did not pass.",
            line=20,
            requires=["PROD-CANARY-01"],
            blocked_by=["PROD-CANARY-01"],
        ),
        _control(
            "PROD-DRIFT-01",
            "Drift monitoring",
            "error",
            "Could not evaluate the drift check.",
            line=35,
            severity="medium",
            checks=[drift_error],
        ),
        _control(
            "PROD-INCIDENT-01",
            "Incident postmortems",
            "waived",
            "Waived: 1 SEV1 without a postmortem.",
            line=55,
            checks=[incident],
            waivers=[
                _waiver("W-7", "PROD-INCIDENT-01", "active", datetime(2026, 12, 31, tzinfo=UTC))
            ],
        ),
        _control(
            "PROD-EVAL-01",
            "Fresh evaluation",
            "fail",
            "The newest evaluation is 45 days old; its waiver expired.",
            line=75,
            severity="low",
            checks=[evals],
            waivers=[_waiver("W-3", "PROD-EVAL-01", "expired", datetime(2026, 11, 1, tzinfo=UTC))],
        ),
        _control(
            "PROD-FAIR-01",
            "Fairness review",
            "not_applicable",
            "Not applicable: the workflow makes no decisions about people.",
            line=110,
            severity="medium",
        ),
    ]
    return _assessment("fraud-scoring", "Fraud scoring", controls, release="2.4.0")


def make_compliant() -> Assessment:
    """chat-assistant: every control passes."""
    check = _check(
        "monitor_on",
        "pass",
        "Expected monitoring heartbeats every hour; found 720.",
        [Finding(outcome="pass", message="720 heartbeats", evidence=[])],
        line=100,
        records=720,
    )
    controls = [
        _control(
            "PROD-MONITOR-01",
            "Production monitoring",
            "pass",
            "Monitoring heartbeats are present.",
            line=95,
            severity="medium",
            checks=[check],
        )
    ]
    return _assessment("chat-assistant", "Chat assistant", controls, release=None)


@pytest.fixture
def noncompliant() -> Assessment:
    return make_noncompliant()


@pytest.fixture
def compliant() -> Assessment:
    return make_compliant()


@pytest.fixture
def standards() -> Path:
    return standards_dir()


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """Compare an output with tests/formats/golden/<name> exactly."""
    return check_golden


def check_golden(name: str, actual: str) -> None:
    """Compare with tests/formats/golden/<name>; ASSAY_UPDATE_GOLDEN=1 rewrites the file."""
    path = GOLDEN / name
    if os.environ.get("ASSAY_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode())
    assert path.exists(), f"missing golden file {path}; run with ASSAY_UPDATE_GOLDEN=1"
    expected = path.read_bytes().decode()
    assert actual == expected, f"output differs from {path}; run with ASSAY_UPDATE_GOLDEN=1"
