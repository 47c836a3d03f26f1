"""fields_read: the fields a check reads, by evidence kind, derived from its model."""

from __future__ import annotations

from pydantic import TypeAdapter

from assay.checks.reads import fields_read
from assay.models.policy import Check

CHECK: TypeAdapter[Check] = TypeAdapter(Check)


def test_a_covered_check_reads_both_kinds_fields() -> None:
    check = CHECK.validate_python(
        {
            "id": "canary_passed",
            "kind": "covered",
            "description": "Every prod deployment has a passing canary.",
            "evidence": "deploy_record",
            "where": 'r.environment == "prod" && !r.emergency',
            "by": {"evidence": "canary_report", "key": "deploy_id"},
            "from_field": "promoted_at",
            "to_field": "ended_at",
            "assert": "r.ended_at - r.started_at >= params.min_duration && src.model_version != ''",
        }
    )
    assert fields_read(check) == {
        # time field, link key of the covered record, where, and `src` in the assert
        "deploy_record": ["emergency", "environment", "id", "model_version", "promoted_at",
                          "started_at"],
        # time field (ended_at), the link key, the assert's fields
        "canary_report": ["deploy_id", "ended_at", "started_at"],
    }  # fmt: skip


def test_an_aggregate_reads_its_value_group_and_time_field() -> None:
    check = CHECK.validate_python(
        {
            "id": "cadence",
            "kind": "aggregate",
            "description": "Drift runs often enough.",
            "evidence": "drift_log",
            "time_field": "created_at",
            "function": "mean",
            "value": "r.value",
            "group_by": "metric",
            "op": "<=",
            "threshold": 0.2,
        }
    )
    assert fields_read(check) == {"drift_log": ["created_at", "metric", "run_at", "value"]}
