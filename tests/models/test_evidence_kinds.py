"""Evidence kind models: catalog field names, time fields, and agreement with the schemas."""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from assay.models.config import bundled_path
from assay.models.evidence import Evidence
from assay.models.evidence_kinds import EVIDENCE_KINDS, evidence_model

SCHEMAS = bundled_path("schemas", "evidence")
T = "2026-05-04T09:30:00Z"
T2 = "2026-05-05T09:30:00Z"

# The reference catalog's evidence fields that policies refer to in CEL. A rename breaks them, so it breaks this.
CATALOG_FIELDS: dict[str, set[str]] = {
    "model_card": {
        "model_version", "risk_class", "eu_class", "eu_scope", "role", "intended_purpose",
        "art5_screen", "reviewed_at", "declared_metrics", "limitations", "predetermined_changes",
        "dependencies", "transparency", "pmm_plan_ref", "previous_good_version", "approved_at",
    },
    "change_request": {
        "change_type", "author", "eval_passed", "rollback_plan_ref", "approvers", "emergency",
        "alters_system", "substantial_mod_assessed", "substantial_mod", "conformity_ref",
    },
    "deploy_record": {
        "change_request_id", "model_version", "environment", "started_at", "promoted_at",
        "is_launch", "error_budget_remaining_pct", "disclosure_check", "emergency",
    },
    "canary_report": {
        "deploy_id", "started_at", "ended_at", "max_traffic_pct", "sample_size", "metrics",
        "verdict",
    },
    "drill_record": {"drill_type", "performed_at", "measured_rto_min", "result"},
    "observability_config": {
        "signals", "alerts", "log_retention_days", "log_integrity", "last_telemetry_at",
        "observed_dependency_versions",
    },
    "log_audit": {
        "retention_days_config", "oldest_log_at", "missing_field_rate", "integrity_verified",
    },
    "drift_log": {
        "run_at", "metric", "segment", "value", "threshold", "breach", "triage_ref", "triaged_at",
    },
    "oversight_report": {
        "period_end", "overseers", "override_rate", "override_band", "stop_tested_at",
    },
    "oncall_schedule": {"rotation_id", "coverage", "shifts", "ack_sla_min"},
    "incident": {
        "severity", "aware_at", "paged_at", "acked_at", "resolved_at", "owner", "timeline",
        "users_affected", "user_comms_at", "budget_burn_pct", "si_screened_at",
        "si_determination", "si_category", "widespread_infringement",
    },
    "postmortem": {"incident_id", "published_at", "blameless", "root_causes", "actions"},
    "serious_incident_report": {"incident_id", "authority", "report_type", "submitted_at"},
    "retraining_run": {
        "trigger", "data_hash", "code_commit", "config_hash", "data_quality_passed",
        "poisoning_scan", "eval", "in_envelope", "independent_reviewer", "promoted",
        "change_request_id",
    },
    "feedback_item": {
        "received_at", "safety_flag", "is_appeal", "triaged_at", "human_reviewer", "incident_id",
        "closed_at",
    },
    "quarterly_review": {
        "review_type", "held_at", "sections", "pmm_coverage", "risk_register_updated",
        "decision", "exit_criteria", "actions", "signed_off_by",
    },
    "budget_record": {
        "approved_by", "period_start", "period_end", "lines", "variance_pct", "variance_note",
        "runway_months",
    },
}  # fmt: skip

TIME_FIELDS = {
    "deploy_record": "started_at",
    "canary_report": "ended_at",
    "drift_log": "run_at",
    "incident": "aware_at",
    "postmortem": "published_at",
    "quarterly_review": "held_at",
    "change_request": "created_at",
    "model_card": "reviewed_at",
    "feedback_item": "received_at",
    "retraining_run": "created_at",
    "oncall_schedule": "created_at",
    "observability_config": "created_at",
    "drill_record": "performed_at",
    "log_audit": "created_at",
    "oversight_report": "period_end",
    "serious_incident_report": "submitted_at",
    "budget_record": "period_start",
}

# Required fields only (plus the envelope): the smallest record each kind accepts.
MINIMAL: dict[str, dict[str, Any]] = {
    "model_card": {
        "model_version": "2.4.0", "risk_class": "C3", "eu_class": "high", "eu_scope": True,
        "role": "provider", "intended_purpose": "Score payments", "art5_screen": "clear",
        "reviewed_at": T, "limitations": "EEA only", "previous_good_version": "2.3.1",
        "approved_at": T,
    },
    "change_request": {
        "change_type": "model", "author": "jane", "eval_passed": True,
        "rollback_plan_ref": "https://wiki/rollback", "alters_system": False,
        "substantial_mod": False,
    },
    "deploy_record": {
        "change_request_id": "CHG-1", "model_version": "2.4.0", "environment": "prod",
        "started_at": T, "error_budget_remaining_pct": 50.0, "disclosure_check": "n/a",
    },
    "canary_report": {
        "deploy_id": "d-1", "started_at": T, "ended_at": T2, "max_traffic_pct": 5,
        "sample_size": 10000, "verdict": "pass",
    },
    "drill_record": {
        "drill_type": "rollback", "performed_at": T, "measured_rto_min": 12, "result": "pass",
    },
    "observability_config": {
        "log_retention_days": 200, "log_integrity": "worm", "last_telemetry_at": T,
    },
    "log_audit": {"retention_days_config": 200, "oldest_log_at": T, "missing_field_rate": 0.0},
    "drift_log": {"run_at": T, "metric": "psi", "value": 0.1, "threshold": 0.2, "breach": False},
    "oversight_report": {
        "period_end": T, "override_rate": 0.05, "override_band": [0.01, 0.1],
        "stop_tested_at": T,
    },
    "oncall_schedule": {"rotation_id": "primary", "coverage": "24x7", "ack_sla_min": 15},
    "incident": {
        "severity": "SEV2", "aware_at": T, "paged_at": T, "acked_at": T, "owner": "jane",
        "users_affected": False, "budget_burn_pct": 3.0, "si_determination": "pending",
        "widespread_infringement": False,
    },
    "postmortem": {"incident_id": "INC-1", "published_at": T, "blameless": True},
    "serious_incident_report": {
        "incident_id": "INC-1", "authority": "BNetzA", "report_type": "initial",
        "submitted_at": T,
    },
    "retraining_run": {
        "trigger": "drift", "data_hash": "abc", "code_commit": "3f9c2ab", "config_hash": "def",
        "data_quality_passed": True, "poisoning_scan": "pass", "promoted": False,
    },
    "feedback_item": {"received_at": T, "safety_flag": False, "is_appeal": False},
    "quarterly_review": {
        "review_type": "quarterly", "held_at": T, "pmm_coverage": 0.9, "decision": "continue",
        "signed_off_by": "ana",
    },
    "budget_record": {
        "approved_by": "cfo", "period_start": T, "period_end": T2, "variance_pct": 2.0,
        "runway_months": 8,
    },
}  # fmt: skip

# One enum field per kind, to feed a value outside the enum.
ENUM_FIELD = {
    "model_card": "risk_class",
    "change_request": "change_type",
    "deploy_record": "environment",
    "canary_report": "verdict",
    "drill_record": "drill_type",
    "observability_config": "log_integrity",
    "log_audit": None,
    "drift_log": None,
    "oversight_report": None,
    "oncall_schedule": "coverage",
    "incident": "severity",
    "postmortem": None,
    "serious_incident_report": "report_type",
    "retraining_run": "poisoning_scan",
    "feedback_item": None,
    "quarterly_review": "decision",
    "budget_record": None,
}

KINDS = sorted(EVIDENCE_KINDS)


def record(kind: str, /, **changes: Any) -> dict[str, Any]:
    """A valid record of `kind` (envelope plus its minimal fields), with changes applied."""
    data: dict[str, Any] = {
        "id": f"{kind}-1",
        "kind": kind,
        "workflow": "fraud-scoring",
        "created_at": T,
        "recorded_by": "tester",
        "source_uri": "https://example.com/record/1",
        "sha256": "a" * 64,
        **copy.deepcopy(MINIMAL[kind]),
    }
    data.update(changes)
    return data


def schema_for(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / f"{kind}.schema.json").read_text("utf-8"))
    return schema


def schema_accepts(kind: str, data: dict[str, Any]) -> bool:
    validator = jsonschema.Draft202012Validator(schema_for(kind))
    return not list(validator.iter_errors(data))


def model_error_locs(kind: str, data: dict[str, Any]) -> list[tuple[str | int, ...]]:
    with pytest.raises(ValidationError) as info:
        evidence_model(kind).model_validate(data)
    return [tuple(err["loc"]) for err in info.value.errors()]


def test_registry_lists_every_catalog_kind_sorted() -> None:
    assert list(EVIDENCE_KINDS) == sorted(CATALOG_FIELDS)
    for kind, model in EVIDENCE_KINDS.items():
        assert issubclass(model, Evidence)
        assert evidence_model(kind) is model


def test_unknown_kind_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="unknown evidence kind 'deploy'"):
        evidence_model("deploy")


@pytest.mark.parametrize("kind", KINDS)
def test_catalog_field_names_are_kept(kind: str) -> None:
    fields = set(EVIDENCE_KINDS[kind].model_fields)
    assert CATALOG_FIELDS[kind] <= fields, CATALOG_FIELDS[kind] - fields


@pytest.mark.parametrize("kind", KINDS)
def test_time_field_is_a_required_aware_datetime(kind: str) -> None:
    model = EVIDENCE_KINDS[kind]
    assert model.TIME_FIELD == TIME_FIELDS[kind]
    info = model.model_fields[model.TIME_FIELD]
    assert info.is_required()
    parsed = model.model_validate(record(kind))
    value = getattr(parsed, model.TIME_FIELD)
    assert isinstance(value, datetime)
    assert value.tzinfo is not None


@pytest.mark.parametrize("kind", KINDS)
def test_valid_record_is_accepted_by_model_and_schema(kind: str) -> None:
    data = record(kind)
    parsed = evidence_model(kind).model_validate(data)
    assert parsed.kind == kind
    assert schema_accepts(kind, data)
    # What the model dumps is accepted by the schema too (round trip for loaders and packs).
    dumped = parsed.model_dump(mode="json", by_alias=True)
    assert schema_accepts(kind, dumped)


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_key_is_rejected(kind: str) -> None:
    data = record(kind, colour="blue")
    assert model_error_locs(kind, data) == [("colour",)]
    assert not schema_accepts(kind, data)


@pytest.mark.parametrize("kind", KINDS)
def test_naive_time_is_rejected(kind: str) -> None:
    field = EVIDENCE_KINDS[kind].TIME_FIELD
    data = record(kind, **{field: "2026-05-04T09:30:00"})
    assert model_error_locs(kind, data) == [(field,)]
    assert not schema_accepts(kind, data)


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_kind_is_rejected(kind: str) -> None:
    data = record(kind, kind="not_a_kind")
    assert model_error_locs(kind, data) == [("kind",)]
    assert not schema_accepts(kind, data)


@pytest.mark.parametrize("kind", [k for k in KINDS if ENUM_FIELD[k]])
def test_value_outside_enum_is_rejected(kind: str) -> None:
    field = ENUM_FIELD[kind]
    assert field is not None
    data = record(kind, **{field: "definitely-not-allowed"})
    assert model_error_locs(kind, data) == [(field,)]
    assert not schema_accepts(kind, data)


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        (kind, name)
        for kind in KINDS
        for name, info in EVIDENCE_KINDS[kind].model_fields.items()
        if info.is_required()
    ],
)
def test_missing_required_field_is_rejected(kind: str, field: str) -> None:
    data = record(kind)
    del data[field]
    assert model_error_locs(kind, data) == [(field,)]
    assert not schema_accepts(kind, data)


def test_required_fields_in_the_schema_match_the_model() -> None:
    for kind, model in EVIDENCE_KINDS.items():
        required = {name for name, info in model.model_fields.items() if info.is_required()}
        assert set(schema_for(kind)["required"]) == required, kind


@pytest.mark.parametrize(
    ("kind", "changes", "loc"),
    [
        ("oversight_report", {"override_band": [0.1]}, ("override_band", 1)),
        ("oversight_report", {"override_band": [0.1, 0.2, 0.3]}, ("override_band",)),
        ("oversight_report", {"override_band": [0.1, 1.5]}, ("override_band", 1)),
        ("quarterly_review", {"pmm_coverage": 1.2}, ("pmm_coverage",)),
        ("log_audit", {"missing_field_rate": -0.1}, ("missing_field_rate",)),
        ("canary_report", {"max_traffic_pct": 101}, ("max_traffic_pct",)),
        ("model_card", {"sha256": "g" * 64}, ("sha256",)),  # hex only (either case)
        (
            "incident",
            {"timeline": [{"ts": "2026-05-04T09:30:00", "entry": "paged"}]},
            ("timeline", 0, "ts"),
        ),
        ("postmortem", {"actions": [{"owner": "jane", "due": T}]}, ("actions", 0, "priority")),
        ("quarterly_review", {"exit_criteria": {"no_open_sev1": "yes"}}, None),
        ("quarterly_review", {"sections": {"drift": 3}}, ("sections", "drift")),
        ("budget_record", {"currency": "euro"}, ("currency",)),
    ],
)
def test_nested_and_bounded_values_are_checked_by_both(
    kind: str, changes: dict[str, Any], loc: tuple[str | int, ...] | None
) -> None:
    data = record(kind, **changes)
    assert not schema_accepts(kind, data)
    if loc is None:
        # pydantic's lax mode turns "yes" into True; the schema is stricter. Loaders check
        # the schema first, so the stricter answer is the one users see.
        evidence_model(kind).model_validate(data)
    else:
        assert model_error_locs(kind, data) == [loc]


@pytest.mark.parametrize(
    ("kind", "changes", "message"),
    [
        ("oversight_report", {"override_band": [0.2, 0.1]}, "lo (0.2) is above hi (0.1)"),
        ("canary_report", {"ended_at": "2026-05-03T00:00:00Z"}, "end is before the start"),
        ("budget_record", {"period_end": "2025-01-01T00:00:00Z"}, "end is before the start"),
        ("deploy_record", {"promoted_at": "2026-05-01T00:00:00Z"}, "end is before the start"),
    ],
)
def test_order_of_times_and_bands_is_checked(
    kind: str, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        evidence_model(kind).model_validate(record(kind, **changes))


def test_models_are_frozen() -> None:
    parsed = evidence_model("incident").model_validate(record("incident"))
    field = "severity"
    with pytest.raises(ValidationError, match="frozen"):
        setattr(parsed, field, "SEV1")


def test_optional_fields_default_to_none_and_booleans_to_false() -> None:
    deploy = evidence_model("deploy_record").model_validate(record("deploy_record"))
    assert deploy.model_dump()["promoted_at"] is None
    assert deploy.model_dump()["emergency"] is False
    assert deploy.model_dump()["is_launch"] is False
    incident = evidence_model("incident").model_validate(record("incident"))
    assert incident.model_dump()["resolved_at"] is None
    assert incident.model_dump()["model_quality"] is False
