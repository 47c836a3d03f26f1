"""A workflow whose evidence meets the reference catalog's words, and nothing more, passes
its class.

The evidence below is written from the catalog text (§2a thresholds, §2b pass conditions,
§3 fields), not from the policy files: each class's values are copied from the catalog's
a/b/c/d columns into CATALOG_CLASSES, and every threshold the catalog states with ≤ or ≥
is met exactly at its boundary (a canary of exactly 24 h at C3, a review exactly 92 days
ago, an acknowledgement exactly at the SLA, a budget of exactly twelve months). What the
catalog does not ask for at a class is left out (no canary at C1, no SLO alerts at C1, one
routed alert, a business-hours rota at C1-C2, no transparency notices at C1).

Only the names the catalog leaves to the policies are taken from them (signal names, the
five exit criteria, budget line categories, shift tiers): an evidence writer has to read
those in docs/catalog.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

import assay
from assay.evidence.ledger import record_digest, seal
from assay.models.duration import add_business_days, add_months

AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # a Monday
LAUNCHED = "2025-03-03"
LAUNCH = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
# Financial years run from 1 March to the last second of February.
FY2025 = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC))
FY2026 = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2027, 2, 28, 23, 59, 59, tzinfo=UTC))
OWNER = "olga.owner"
SHA = "0" * 64


@dataclass(frozen=True)
class CatalogClass:
    """One column (a, b, c or d) of the catalog's requirements table, in its own units."""

    level: int
    risk_class: str
    eu_class: str
    review_interval: timedelta  # CLASS: review every <= 365 d
    approval_lag: timedelta  # DOC: 30 d / 14 d / 0 / 0
    approvers: int  # CHG: non-author approvers 1/1/2/2 (+owner at d)
    owner_approves: bool
    emergency_retro_bd: int  # CHG: 2/2/2/1 bd
    canary: tuple[timedelta, float, int] | None  # CANARY: duration, traffic %, requests
    drill_interval: timedelta  # ROLLBACK: 365/180/90/30 d
    rto_min: float | None  # ROLLBACK: -/4 h/60 m/15 m
    signals: tuple[str, ...]  # OBS: S(class)
    staleness: timedelta  # OBS: 60/30/15/5 min
    retention_days: int  # LOG: 30/30/184/184
    tamper_evident: bool  # LOG: C4
    slo_signals: tuple[str, ...]  # SLO (C2+): availability, latency; + quality; + safety
    drift_cadence: timedelta  # DRIFT: weekly/daily/hourly/hourly
    critical_feature_cadence: timedelta | None  # DRIFT: every 15 min at C4
    segment_eval_cadence: timedelta | None  # DRIFT: -/monthly/weekly/daily
    run_ratio: float  # DRIFT: 0.95 (0.99 at C3+)
    triage: tuple[int, timedelta | None]  # DRIFT: 5 bd / 2 bd / 24 h / 4 h
    hitl_period: timedelta | None  # HITL: monthly (C3) / weekly (C4)
    coverage: str  # ONCALL: business hours (C1-C2), 24x7 (C3+)
    tiers: tuple[str, ...]
    ack: tuple[int, timedelta | None]  # ONCALL: next bd / 30 / 15 / 5 min
    pm_scope: int  # PM: SEV1 / SEV1-2 / SEV1-2 / SEV1-3
    pm_due_bd: int  # PM: 10/10/5/3 bd
    screening: timedelta | None  # INC: C3+ serious-incident screening 24 h / 12 h
    feedback_triage_bd: int  # FEEDBACK: 10/5/2/1 bd
    safety_to_incident: timedelta | None  # FEEDBACK: -/48 h/24 h/4 h
    review_cadence: timedelta  # REVIEW: <= 366/92/92/31 d
    review_type: str
    pmm_coverage: float  # REVIEW: -/80/95/100 %
    hypercare_floor_pct: float  # HYPERCARE: budget floor 0/0/25/25 %
    runway_months: float  # BUDGET: 3/3/6/6
    budget_lines: tuple[str, ...]  # BUDGET: by class


_S_A = ("availability", "errors", "latency")
_S_B = (
    *_S_A,
    "output_distribution",
    "schema_violations",
    "abuse_detection",
    "cost",
    "dependency_versions",
)
_S_C = (*_S_B, "labelled_quality", "override_rate", "segment_quality")
_LINES_A = ("compute", "observability", "oncall")
_LINES_B = (*_LINES_A, "labelling", "retraining")
_LINES_C = (*_LINES_B, "legal_reporting", "audit")
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)

CATALOG_CLASSES = {
    "minimal": CatalogClass(
        level=1,
        risk_class="C1",
        eu_class="minimal",
        review_interval=365 * DAY,
        approval_lag=30 * DAY,
        approvers=1,
        owner_approves=False,
        emergency_retro_bd=2,
        canary=None,
        drill_interval=365 * DAY,
        rto_min=None,
        signals=_S_A,
        staleness=60 * MINUTE,
        retention_days=30,
        tamper_evident=False,
        slo_signals=(),
        drift_cadence=7 * DAY,
        critical_feature_cadence=None,
        segment_eval_cadence=None,
        run_ratio=0.95,
        triage=(5, None),
        hitl_period=None,
        coverage="business_hours",
        tiers=("primary",),
        ack=(1, None),
        pm_scope=1,
        pm_due_bd=10,
        screening=None,
        feedback_triage_bd=10,
        safety_to_incident=None,
        review_cadence=366 * DAY,
        review_type="annual",
        pmm_coverage=0.0,
        hypercare_floor_pct=0,
        runway_months=3,
        budget_lines=_LINES_A,
    ),
    "limited": CatalogClass(
        level=2,
        risk_class="C2",
        eu_class="limited",
        review_interval=365 * DAY,
        approval_lag=14 * DAY,
        approvers=1,
        owner_approves=False,
        emergency_retro_bd=2,
        canary=(1 * HOUR, 10, 1000),
        drill_interval=180 * DAY,
        rto_min=240,
        signals=_S_B,
        staleness=30 * MINUTE,
        retention_days=30,
        tamper_evident=False,
        slo_signals=("availability", "latency"),
        drift_cadence=DAY,
        critical_feature_cadence=None,
        segment_eval_cadence=None,  # monthly: on the first of each month (see below)
        run_ratio=0.95,
        triage=(2, None),
        hitl_period=None,  # C2 only when it decides about people: this one does not
        coverage="business_hours",
        tiers=("primary",),
        ack=(0, 30 * MINUTE),
        pm_scope=2,
        pm_due_bd=10,
        screening=None,
        feedback_triage_bd=5,
        safety_to_incident=48 * HOUR,
        review_cadence=92 * DAY,
        review_type="quarterly",
        pmm_coverage=0.8,
        hypercare_floor_pct=0,
        runway_months=3,
        budget_lines=_LINES_B,
    ),
    "high": CatalogClass(
        level=3,
        risk_class="C3",
        eu_class="high",
        review_interval=365 * DAY,
        approval_lag=timedelta(0),
        approvers=2,
        owner_approves=False,
        emergency_retro_bd=2,
        canary=(24 * HOUR, 5, 5000),
        drill_interval=90 * DAY,
        rto_min=60,
        signals=_S_C,
        staleness=15 * MINUTE,
        retention_days=184,
        tamper_evident=False,
        slo_signals=("availability", "latency", "labelled_quality"),
        drift_cadence=HOUR,
        critical_feature_cadence=None,
        segment_eval_cadence=7 * DAY,
        run_ratio=0.99,
        triage=(0, 24 * HOUR),
        hitl_period=None,  # monthly: at each month end (see below)
        coverage="24x7",
        tiers=("primary", "secondary"),
        ack=(0, 15 * MINUTE),
        pm_scope=2,
        pm_due_bd=5,
        screening=24 * HOUR,
        feedback_triage_bd=2,
        safety_to_incident=24 * HOUR,
        review_cadence=92 * DAY,
        review_type="quarterly",
        pmm_coverage=0.95,
        hypercare_floor_pct=25,
        runway_months=6,
        budget_lines=_LINES_C,
    ),
    "critical": CatalogClass(
        level=4,
        risk_class="C4",
        eu_class="high",
        review_interval=365 * DAY,
        approval_lag=timedelta(0),
        approvers=2,
        owner_approves=True,
        emergency_retro_bd=1,
        canary=(72 * HOUR, 1, 10000),
        drill_interval=30 * DAY,
        rto_min=15,
        signals=(*_S_C, "safety"),
        staleness=5 * MINUTE,
        retention_days=184,
        tamper_evident=True,
        slo_signals=("availability", "latency", "labelled_quality", "safety"),
        drift_cadence=HOUR,
        critical_feature_cadence=15 * MINUTE,
        segment_eval_cadence=DAY,
        run_ratio=0.99,
        triage=(0, 4 * HOUR),
        hitl_period=7 * DAY,
        coverage="24x7",
        tiers=("primary", "secondary", "ml_expert"),
        ack=(0, 5 * MINUTE),
        pm_scope=3,
        pm_due_bd=3,
        screening=12 * HOUR,
        feedback_triage_bd=1,
        safety_to_incident=4 * HOUR,
        review_cadence=31 * DAY,
        review_type="monthly",
        pmm_coverage=1.0,
        hypercare_floor_pct=25,
        runway_months=6,
        budget_lines=_LINES_C,
    ),
}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def after(start: datetime, spec: tuple[int, timedelta | None]) -> datetime:
    """A deadline given as business days or as a span."""
    days, span = spec
    return start + span if span is not None else add_business_days(start, days)


class Evidence:
    """Records of one workflow, each with the catalog's common envelope (§3)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def add(self, kind: str, id_: str, created_at: datetime, **fields: Any) -> dict[str, Any]:
        record = {
            "id": id_,
            "kind": kind,
            "workflow": "wf",
            "created_at": iso(created_at),
            "recorded_by": "exporter",
            "source_uri": f"https://records.example.com/{id_}",
            "sha256": SHA,
        }
        record.update({k: iso(v) if isinstance(v, datetime) else v for k, v in fields.items()})
        self.records.append(record)
        return record


def catalog_evidence(
    c: CatalogClass, drift_phase: timedelta = timedelta(0)
) -> list[dict[str, Any]]:
    ev = Evidence()
    c2, c3, c4 = c.level >= 2, c.level >= 3, c.level >= 4

    # --- PROD-CLASS-01 / DOC-01 / ROLLBACK / TRANSP / REVIEW: the model card ------------
    # The current version, v2, reached production 45 days ago; its card was approved the
    # allowed lag after that deployment, and the classification was last reviewed exactly
    # the review interval ago (<= 365 d).
    deploy_at = AS_OF - 45 * DAY
    reviewed_at = AS_OF - c.review_interval
    transparency: dict[str, bool] = {}
    if c.level == 2:
        transparency = {"art50_1": True}  # Art. 50(1): it interacts with people
    if c3:
        transparency = {"art13": True}  # Art. 13 instructions for use [P]
    ev.add(
        "model_card",
        "card-v2",
        deploy_at + c.approval_lag,
        model_version="2.0",
        risk_class=c.risk_class,
        eu_class=c.eu_class,
        eu_scope=True,
        role="provider",
        intended_purpose="Rank customer requests",
        art5_screen="clear",
        reviewed_at=reviewed_at,
        declared_metrics={"accuracy": 0.9} if c3 else {},
        limitations="Not validated for minors" if c3 else "",
        dependencies=[{"name": "vendor-llm", "pinned_version": "2026-01"}],
        transparency=transparency,
        pmm_plan_ref="https://wiki.example.com/pmm-plan",
        previous_good_version="1.0",
        approved_at=deploy_at + c.approval_lag,
    )

    # --- PROD-CHG-01 / CANARY-01 / RETRAIN-01: a reviewed change, its canaried deploy ----
    approvers = [
        {"id": f"reviewer-{n}", "approved_at": iso(deploy_at - 2 * HOUR)}
        for n in range(c.approvers)
    ]
    if c.owner_approves:
        approvers.append({"id": OWNER, "approved_at": iso(deploy_at - HOUR)})
    ev.add(
        "change_request",
        "CR-1",
        deploy_at - DAY,
        change_type="model",
        author="dev.author",
        eval_passed=True,
        rollback_plan_ref="https://wiki.example.com/rollback",
        approvers=approvers,
        emergency=False,
        alters_system=False,
        substantial_mod_assessed=c3,
        substantial_mod=False,
    )
    canary_end = deploy_at + (c.canary[0] if c.canary else HOUR)
    ev.add(
        "deploy_record",
        "deploy-1",
        deploy_at,
        change_request_id="CR-1",
        model_version="2.0",
        environment="prod",
        started_at=deploy_at,
        promoted_at=canary_end,
        is_launch=False,
        error_budget_remaining_pct=0,  # the freeze floor is 0 %: budget >= floor
        disclosure_check="pass" if c2 else "n/a",
        emergency=False,
    )
    if c.canary is not None:
        duration, traffic, requests = c.canary
        ev.add(
            "canary_report",
            "canary-1",
            canary_end,
            deploy_id="deploy-1",
            started_at=deploy_at,
            ended_at=canary_end,  # ended <= promoted_at
            max_traffic_pct=traffic,
            sample_size=requests,
            metrics=[{"name": "error_rate", "canary": 0.011, "control": 0.01, "threshold": 0.005}],
            verdict="pass",
        )
        champion, margin = 0.9, 0.01
        evals = [
            {
                "metric": "accuracy",
                "candidate": champion - margin,
                "champion": champion,
                "margin": margin,
            }
        ]
        if c3:
            evals.append(
                {
                    "metric": "accuracy",
                    "segment": "new_customers",
                    "candidate": 0.85,
                    "champion": 0.85,
                    "margin": 0.02,
                }
            )
        ev.add(
            "retraining_run",
            "run-1",
            deploy_at - 3 * DAY,
            recorded_by="training-pipeline",
            trigger="schedule",
            data_hash="sha256:data",
            code_commit="abc1234",
            config_hash="sha256:config",
            data_quality_passed=True,
            poisoning_scan="pass" if c3 else "n/a",
            eval=evals,
            in_envelope=True if c3 else None,
            independent_reviewer="ivy.independent" if c4 else None,
            promoted=True,
            change_request_id="CR-1",
        )
    # An emergency change, approved after the fact at the end of the retro window.
    emergency_at = datetime(2026, 5, 15, 10, 0, tzinfo=UTC)  # a Friday
    approved = add_business_days(emergency_at, c.emergency_retro_bd)
    emergency_approvers = [
        {"id": f"reviewer-{n}", "approved_at": iso(approved)} for n in range(c.approvers)
    ]
    if c.owner_approves:
        emergency_approvers.append({"id": OWNER, "approved_at": iso(approved)})
    ev.add(
        "change_request",
        "CR-2",
        approved,  # the record holds approvals given up to then
        change_type="config",
        author="dev.author",
        eval_passed=True,
        rollback_plan_ref="https://wiki.example.com/rollback",
        approvers=emergency_approvers,
        emergency=True,
        alters_system=False,
        substantial_mod_assessed=c3,
        substantial_mod=False,
    )
    ev.add(
        "deploy_record",
        "deploy-2",
        emergency_at,
        change_request_id="CR-2",
        model_version="2.0",
        environment="prod",
        started_at=emergency_at,
        promoted_at=emergency_at,
        error_budget_remaining_pct=-5,
        disclosure_check="pass" if c2 else "n/a",
        emergency=True,
    )

    # --- PROD-ROLLBACK-01: drills exactly one interval ago, at the RTO --------------------
    drilled = AS_OF - c.drill_interval
    ev.add(
        "drill_record",
        "drill-rollback",
        drilled,
        drill_type="rollback",
        performed_at=drilled,
        measured_rto_min=c.rto_min if c.rto_min is not None else 480,
        result="pass",
    )
    if c3:
        ev.add(
            "drill_record",
            "drill-kill",
            drilled,
            drill_type="kill_switch",
            performed_at=drilled,
            measured_rto_min=c.rto_min,
            result="pass",
        )

    # --- PROD-ONCALL-01: the rota, published exactly 14 days ahead ---------------------
    shifts = []
    day = AS_OF.replace(hour=0) - 7 * DAY
    horizon = AS_OF + 14 * DAY
    while day < horizon:
        if c.coverage == "24x7":
            end = min(day + DAY, horizon)
            for tier in c.tiers:
                shifts.append(
                    {
                        "start": iso(day),
                        "end": iso(end),
                        "person": f"{tier}-{day.day}",
                        "tier": tier,
                    }
                )
        elif day.weekday() < 5:
            start, end = day.replace(hour=9), min(day.replace(hour=17), horizon)
            if start < end:
                shifts.append(
                    {
                        "start": iso(start),
                        "end": iso(end),
                        "person": "pat.primary",
                        "tier": "primary",
                    }
                )
        day += DAY
    if c.coverage != "24x7":
        shifts[-1]["end"] = iso(horizon)  # the rota runs at least 14 days ahead
    ack_sla_min = int(c.ack[1].total_seconds() // 60) if c.ack[1] else 24 * 60
    ev.add(
        "oncall_schedule",
        "rota-1",
        AS_OF - 7 * DAY,
        rotation_id="wf-rota",
        coverage=c.coverage,
        shifts=shifts,
        ack_sla_min=ack_sla_min,
    )

    # --- PROD-OBS-01 / LOG-01 / SLO-01: the observability configuration ----------------
    # One alert routed to the rota at C1; the SLO signals are alerted from C2 (the SLOs the
    # catalog names are recorded as alerts: an SLO nobody is alerted on does not pace
    # releases); telemetry exactly as stale as allowed.
    alerted = c.slo_signals or ("errors",)
    ev.add(
        "observability_config",
        "obs-1",
        datetime(2026, 1, 15, tzinfo=UTC),  # written once, months ago
        signals=list(c.signals),
        alerts=[{"signal": s, "threshold": 0.99, "rotation_id": "wf-rota"} for s in alerted],
        log_retention_days=c.retention_days,
        log_integrity="hash_chain" if c.tamper_evident else "none",
        last_telemetry_at=AS_OF - c.staleness,
        observed_dependency_versions={"vendor-llm": "2026-01"},
    )
    audited = AS_OF - 31 * DAY  # an audit <= 31 d old
    ev.add(
        "log_audit",
        "log-audit-1",
        audited,
        retention_days_config=c.retention_days,
        oldest_log_at=audited - c.retention_days * DAY,
        missing_field_rate=0.001,
        integrity_verified=c.tamper_evident,
    )

    # --- PROD-INC-01 / PM-01 / SIR-01 / FEEDBACK-01: an incident, its postmortem -------
    aware = datetime(2026, 5, 8, 16, 0, tzinfo=UTC)  # a Friday afternoon
    severity = {1: "SEV1", 2: "SEV2", 3: "SEV2", 4: "SEV2"}[c.level]
    incidents = [("INC-1", severity, aware, c3)]  # serious from C3 (SIR applies there)
    if c4:
        incidents.append(("INC-2", "SEV3", aware + 2 * DAY, False))  # SEV1-3 in PM scope
    for inc_id, sev, at, serious in incidents:
        paged = at + MINUTE
        acked = after(paged, c.ack)
        resolved = at + 4 * HOUR
        ev.add(
            "incident",
            inc_id,
            at,
            severity=sev,
            aware_at=at,
            paged_at=paged,
            acked_at=acked,
            resolved_at=resolved,
            owner="ian.owner",
            timeline=[{"ts": iso(at + n * HOUR), "entry": f"step {n}"} for n in range(3)],
            users_affected=True,
            user_comms_at=at + HOUR if c2 and sev in ("SEV1", "SEV2") else None,
            budget_burn_pct=20,  # postmortems are required above 20 %
            si_screened_at=at + c.screening if c.screening and sev in ("SEV1", "SEV2") else None,
            si_determination="serious" if serious else "no",
            si_category="fundamental_rights" if serious else None,
            widespread_infringement=False,
        )
        due = add_business_days(resolved, c.pm_due_bd)
        action_due = due + 7 * DAY
        ev.add(
            "postmortem",
            f"PM-{inc_id}",
            due,
            incident_id=inc_id,
            published_at=due,
            blameless=True,
            root_causes=["A cause"],
            actions=[
                {
                    "owner": "al.action",
                    "priority": "P1",
                    "due": iso(action_due),
                    "closed_at": iso(action_due) if c3 and action_due <= AS_OF else None,
                }
            ],
        )
        if serious:
            ev.add(
                "serious_incident_report",
                f"SIR-{inc_id}-initial",
                at + 15 * DAY,
                incident_id=inc_id,
                authority="Market surveillance authority",
                report_type="initial",
                submitted_at=at + 15 * DAY,
            )
            ev.add(
                "serious_incident_report",
                f"SIR-{inc_id}-complete",
                at + 20 * DAY,
                incident_id=inc_id,
                authority="Market surveillance authority",
                report_type="complete",
                submitted_at=at + 20 * DAY,
            )
    # Feedback: an item older than 30 days, triaged and closed exactly in time; from C2 a
    # safety item that became INC-1 exactly at the deadline; from C3 an appeal with a person.
    received = AS_OF - 40 * DAY
    ev.add(
        "feedback_item",
        "FB-1",
        received,
        received_at=received,
        safety_flag=False,
        is_appeal=c3,
        triaged_at=add_business_days(received, c.feedback_triage_bd),
        human_reviewer="hana.human" if c3 else None,
        closed_at=received + 30 * DAY,
    )
    if c.safety_to_incident is not None:
        safety_received = aware - c.safety_to_incident
        ev.add(
            "feedback_item",
            "FB-2",
            safety_received,
            received_at=safety_received,
            safety_flag=True,
            is_appeal=False,
            triaged_at=add_business_days(safety_received, c.feedback_triage_bd),
            incident_id="INC-1",
            closed_at=resolved_at_of(ev, "INC-1"),
        )

    # --- PROD-DRIFT-01: runs at the cadence, one missed run (a gap of 2x cadence) -------
    drift_start = AS_OF - 35 * DAY + drift_phase
    runs = _series(drift_start, c.drift_cadence)
    if c.level >= 2:
        del runs[len(runs) // 2]  # one missed run: still >= the catalog's share of runs
    triaged_breach = runs[len(runs) // 3]
    for n, at in enumerate(runs):
        breach = at == triaged_breach
        ev.add(
            "drift_log",
            f"drift-{n}",
            at,
            run_at=at,
            metric="psi_amount",
            value=0.1,
            threshold=0.2,
            breach=breach,
            triage_ref="INC-1" if breach else None,
            triaged_at=after(at, c.triage) if breach else None,
        )
    if c.critical_feature_cadence is not None:
        for n, at in enumerate(_series(drift_start, c.critical_feature_cadence)):
            ev.add(
                "drift_log",
                f"crit-{n}",
                at,
                run_at=at,
                metric="psi_card_country",
                value=0.1,
                threshold=0.2,
                breach=False,
            )
    if c.level >= 2:
        if c.segment_eval_cadence is None:  # monthly: the first of each month
            eval_times = [add_months(AS_OF.replace(day=1, hour=0), -n) for n in range(4)]
        else:
            eval_times = _series(AS_OF - 95 * DAY, c.segment_eval_cadence)
        for n, at in enumerate(eval_times):
            ev.add(
                "drift_log",
                f"eval-{n}",
                at,
                run_at=at,
                metric="accuracy",
                segment="new_customers",
                value=0.88,
                threshold=0.85,
                breach=False,
            )

    # --- PROD-HITL-01 (C3+): a report each period, trained overseers, a stop test --------
    if c3:
        if c.hitl_period is None:  # monthly: at each month end
            ends = [
                add_months(AS_OF.replace(day=1, hour=0), -n) - timedelta(seconds=1)
                for n in range(4)
            ]
        else:
            ends = _series(AS_OF - 95 * DAY, c.hitl_period)
        latest = max(ends)
        for n, end in enumerate(sorted(ends)):
            ev.add(
                "oversight_report",
                f"oversight-{n}",
                end,
                period_end=end,
                overseers=[{"id": "ola.overseer", "trained_at": iso(latest - 365 * DAY)}],
                override_rate=0.05,
                override_band=[0.01, 0.1],
                stop_tested_at=AS_OF - 90 * DAY,
            )

    # --- PROD-REVIEW-01 / BUDGET-01: reviews at the cadence, a budget check at each -------
    lines = [{"category": line, "amount": 1000} for line in c.budget_lines]
    ev.add(
        "budget_record",
        "budget-launch",
        LAUNCH - 30 * DAY,
        approved_by="cfo",
        period_start=FY2025[0],
        period_end=FY2025[1],  # exactly twelve months
        lines=lines,
        variance_pct=0,
        runway_months=12,
    )
    held = AS_OF - c.review_cadence
    if held < FY2026[0]:  # no review since the year began: its budget on its own
        ev.add(
            "budget_record",
            "budget-fy2026",
            FY2026[0] - 10 * DAY,
            approved_by="cfo",
            period_start=FY2026[0],
            period_end=FY2026[1],
            lines=lines,
            variance_pct=0,
            runway_months=12,
        )
    n = 0
    while held >= AS_OF - 366 * DAY:
        # The check before a review re-forecasts the year the review falls in, or the next
        # one when that begins the day after.
        year = FY2026 if held + DAY >= FY2026[0] else FY2025
        ev.add(
            "budget_record",
            f"budget-check-{n}",
            held - DAY,
            approved_by="cfo",
            period_start=year[0],
            period_end=year[1],
            lines=lines,
            variance_pct=20 if n % 2 == 0 else 25,  # <= 20 %, or explained
            variance_note=None if n % 2 == 0 else "Labelling was brought forward",
            runway_months=c.runway_months,
        )
        ev.add(
            "quarterly_review",
            f"review-{n}",
            held,
            review_type=c.review_type,
            held_at=held,
            sections={"monitoring": "https://wiki.example.com/review"},
            pmm_coverage=c.pmm_coverage,
            risk_register_updated=c3,
            decision="continue",
            actions=[{"owner": "al.action", "due": iso(held + 30 * DAY)}],
            signed_off_by=OWNER,
        )
        held -= c.review_cadence
        n += 1

    # --- PROD-HYPERCARE-01: the launch, and an exit review on day 90 with every criterion --
    ev.add(
        "change_request",
        "CR-0",
        LAUNCH - 7 * DAY,
        change_type="model",
        author="dev.author",
        eval_passed=True,
        rollback_plan_ref="https://wiki.example.com/rollback",
        approvers=[{"id": "reviewer-0", "approved_at": iso(LAUNCH - DAY)}],
        alters_system=False,
        substantial_mod=False,
    )
    ev.add(
        "deploy_record",
        "deploy-launch",
        LAUNCH,
        change_request_id="CR-0",
        model_version="1.0",
        environment="prod",
        started_at=LAUNCH,
        promoted_at=LAUNCH,
        is_launch=True,
        error_budget_remaining_pct=100,
        disclosure_check="n/a",
    )
    exit_at = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)  # launch + 90 d
    ev.add(
        "quarterly_review",
        "review-hypercare-exit",
        exit_at,
        review_type="hypercare_exit",
        held_at=exit_at,
        sections={"hypercare": "https://wiki.example.com/exit"},
        pmm_coverage=c.pmm_coverage,
        risk_register_updated=c3,
        decision="continue",
        exit_criteria={
            "no_open_sev1_sev2": True,
            "no_unresolved_drift_breach_14d": True,
            "budget_above_floor": True,
            "p0_actions_closed": True,
            "page_load_within_limit": True,
        },
        signed_off_by=OWNER,
    )
    return ev.records


def _series(start: datetime, step: timedelta) -> list[datetime]:
    """Instants from ``start`` every ``step`` up to the as-of time."""
    out, at = [], start
    while at <= AS_OF:
        out.append(at)
        at += step
    return out


def resolved_at_of(ev: Evidence, incident_id: str) -> str:
    return str(next(r["resolved_at"] for r in ev.records if r["id"] == incident_id))


def write_project(
    root: Path,
    name: str,
    records: list[dict[str, Any]] | None = None,
) -> Path:
    c = CATALOG_CLASSES[name]
    (root / "assay.yaml").write_text("policies: [bundled]\n", encoding="utf-8")
    workflow: dict[str, Any] = {
        "id": "wf",
        "name": f"A {name} workflow",
        "owner": OWNER,
        "risk_class": name,
        "launched": LAUNCHED,
        "eu_scope": True,
        "role": "provider",
    }
    if c.critical_feature_cadence is not None:
        workflow["metadata"] = {"critical_features": ["psi_card_country"]}
    (root / "workflows").mkdir()
    (root / "workflows" / "wf.yaml").write_text(yaml.safe_dump(workflow), encoding="utf-8")
    (root / "evidence").mkdir()
    records = catalog_evidence(c) if records is None else records
    # Each record declares its content digest, so that the evidence can be sealed: C4
    # requires it (PROD-LOG-01 evidence_sealed), as collected before the as-of time.
    records = [{**record, "sha256": record_digest(record)} for record in records]
    lines = [json.dumps(record, sort_keys=True) for record in records]
    (root / "evidence" / "records.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    seal(root / "evidence", by=OWNER, now=AS_OF - timedelta(hours=1))
    return root


@pytest.mark.parametrize("name", list(CATALOG_CLASSES))
def test_a_workflow_meeting_the_catalog_words_passes(name: str, tmp_path: Path) -> None:
    project = assay.load_project(write_project(tmp_path, name))
    assessment = assay.assess(project, "wf", AS_OF)
    assert not assessment.hypercare.active
    problems = {
        f"{control.id}/{check.id}": [f.message for f in check.findings if f.outcome == "fail"][:2]
        or check.summary
        for control in assessment.controls
        for check in control.checks
        if check.status not in ("pass", "not_applicable")
    }
    assert problems == {}
    statuses = {c.id: c.status for c in assessment.controls}
    required = {
        "minimal": 14,
        "limited": 19,  # + CANARY, SLO, RETRAIN, TRANSP, and HITL (not applicable here)
        "high": 20,
        "critical": 20,
    }[name]
    assert len(statuses) == required
    expected_na = {"PROD-HITL-01"} if name == "limited" else set()
    assert {cid for cid, s in statuses.items() if s == "not_applicable"} == expected_na
    assert assessment.exit_code == 0


def _not_passing(root: Path) -> dict[str, str]:
    """Control -> status, for controls that do not pass; a blocked control whose own
    checks fail counts as failing."""
    assessment = assay.assess(assay.load_project(root), "wf", AS_OF)
    return {
        c.id: "fail" if any(k.status == "fail" for k in c.checks) else c.status
        for c in assessment.controls
        if c.status not in ("pass", "not_applicable")
    }


@pytest.mark.parametrize("phase_days", range(7))
def test_a_weekly_drift_schedule_passes_whatever_the_weekday(
    phase_days: int, tmp_path: Path
) -> None:
    """A C1 workflow that never misses its weekly drift run holds 4 or 5 of them in any
    30-day window; both meet "runs/expected >= 0.95" (4 whole weeks are expected)."""
    c = CATALOG_CLASSES["minimal"]
    records = catalog_evidence(c, drift_phase=timedelta(days=phase_days, hours=3))
    assert _not_passing(write_project(tmp_path, "minimal", records)) == {}


def _shift(moment: str, delta: timedelta) -> str:
    return iso(datetime.fromisoformat(moment.replace("Z", "+00:00")) + delta)


SECOND = timedelta(seconds=1)
# Each catalog limit the evidence meets exactly, pushed just past it: the control fails, so
# the evidence above is at the boundary and the policies put the boundary where the catalog
# does. (class, record id, field, change, the control that must fail)
JUST_PAST: list[tuple[str, str, str, Any, str]] = [
    ("minimal", "card-v2", "reviewed_at", -SECOND, "PROD-CLASS-01"),  # review > 365 d ago
    ("minimal", "card-v2", "approved_at", SECOND, "PROD-DOC-01"),  # approved > 30 d after
    ("high", "card-v2", "approved_at", SECOND, "PROD-DOC-01"),  # approved after the deploy
    ("minimal", "obs-1", "last_telemetry_at", -SECOND, "PROD-OBS-01"),  # staler than 60 min
    ("critical", "obs-1", "last_telemetry_at", -SECOND, "PROD-OBS-01"),  # staler than 5 min
    ("limited", "canary-1", "started_at", SECOND, "PROD-CANARY-01"),  # shorter than 1 h
    ("high", "canary-1", "max_traffic_pct", 0.01, "PROD-CANARY-01"),  # more than 5 %
    ("critical", "canary-1", "sample_size", -1, "PROD-CANARY-01"),  # fewer than 10k requests
    ("limited", "drill-rollback", "measured_rto_min", 0.01, "PROD-ROLLBACK-01"),  # RTO > 4 h
    ("high", "drill-kill", "performed_at", -SECOND, "PROD-ROLLBACK-01"),  # older than 90 d
    ("minimal", "log-audit-1", "created_at", -SECOND, "PROD-LOG-01"),  # audit > 31 d old
    ("high", "log-audit-1", "missing_field_rate", 0.0001, "PROD-LOG-01"),  # > 0.1 % missing
    ("minimal", "INC-1", "acked_at", SECOND, "PROD-INC-01"),  # later than the next bd
    ("high", "INC-1", "si_screened_at", SECOND, "PROD-INC-01"),  # screened after 24 h
    ("minimal", "PM-INC-1", "published_at", SECOND, "PROD-PM-01"),  # later than 10 bd
    ("critical", "PM-INC-2", "published_at", SECOND, "PROD-PM-01"),  # a SEV3 later than 3 bd
    ("high", "SIR-INC-1-initial", "submitted_at", SECOND, "PROD-SIR-01"),  # after 15 days
    ("limited", "FB-1", "triaged_at", SECOND, "PROD-FEEDBACK-01"),  # triaged after 5 bd
    ("limited", "FB-2", "received_at", -SECOND, "PROD-FEEDBACK-01"),  # incident after 48 h
    ("limited", "review-0", "held_at", -SECOND, "PROD-REVIEW-01"),  # review > 92 d ago
    ("critical", "review-0", "pmm_coverage", -0.01, "PROD-REVIEW-01"),  # plan < 100 % covered
    ("high", "budget-check-0", "runway_months", -0.1, "PROD-BUDGET-01"),  # runway < 6 months
    ("limited", "budget-check-0", "variance_pct", 20.1, "PROD-BUDGET-01"),  # > 20 %, unexplained
    # every budget a second short of twelve months (the per-review checks restate the year)
    ("minimal", "budget-*", "period_end", -SECOND, "PROD-BUDGET-01"),  # short of 12 months
]


def _changed(records: list[dict[str, Any]], id_: str, field: str, change: Any) -> None:
    if id_.endswith("*"):
        for record in records:
            if record["id"].startswith(id_[:-1]):
                _changed(records, record["id"], field, change)
        return
    record = next(r for r in records if r["id"] == id_)
    value = record[field]
    if isinstance(change, timedelta):
        record[field] = _shift(value, change)
    elif field == "variance_pct":
        record[field] = change
    else:
        record[field] = value + change
    if field in ("reviewed_at", "held_at", "published_at", "submitted_at", "performed_at"):
        record["created_at"] = min(record["created_at"], record[field])


@pytest.mark.parametrize(
    ("name", "id_", "field", "change", "control"),
    JUST_PAST,
    ids=[f"{n}-{i}-{f}" for n, i, f, _, _ in JUST_PAST],
)
def test_just_past_a_catalog_limit_fails(
    name: str, id_: str, field: str, change: Any, control: str, tmp_path: Path
) -> None:
    records = catalog_evidence(CATALOG_CLASSES[name])
    _changed(records, id_, field, change)
    not_passing = _not_passing(write_project(tmp_path, name, records))
    assert not_passing.get(control) == "fail", not_passing
