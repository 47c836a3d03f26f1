"""Fill-in evidence templates: one per kind, valid against both the model and the schema."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import assay
from assay.models.config import bundled_path
from assay.models.evidence_kinds import EVIDENCE_KINDS

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = bundled_path("evidence_templates")
SCHEMAS = bundled_path("schemas", "evidence")
DOCUMENT_KINDS = {"postmortem", "quarterly_review"}
KEY_LINE = re.compile(r"^([a-z0-9_]+):")


def template_path(kind: str) -> Path:
    return TEMPLATES / f"{kind}.{'md' if kind in DOCUMENT_KINDS else 'yaml'}"


def split_front_matter(text: str) -> tuple[str, str]:
    """The YAML between the first two `---` lines, and the text after them."""
    lines = text.splitlines(keepends=True)
    assert lines[0].rstrip() == "---", "a Markdown template starts with a --- line"
    end = next(i for i in range(1, len(lines)) if lines[i].rstrip() == "---")
    return "".join(lines[1:end]), "".join(lines[end + 1 :])


def load_template(kind: str) -> tuple[str, dict[str, Any]]:
    """(front matter or YAML text, record) as a loader would produce it."""
    text = template_path(kind).read_text(encoding="utf-8")
    if kind in DOCUMENT_KINDS:
        front, body = split_front_matter(text)
        data = yaml.safe_load(front)
        data["body"] = body
        return front, data
    return text, yaml.safe_load(text)


def jsonable(value: Any) -> Any:
    """YAML may yield datetimes for unquoted times; JSON Schema sees strings."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def test_exactly_one_template_per_kind() -> None:
    files = sorted(p.name for p in TEMPLATES.iterdir() if not p.name.startswith("."))
    assert files == sorted(template_path(kind).name for kind in EVIDENCE_KINDS)


@pytest.mark.parametrize("kind", sorted(EVIDENCE_KINDS))
def test_template_is_valid_against_model_and_schema(kind: str) -> None:
    _, data = load_template(kind)
    assert data["kind"] == kind
    record = EVIDENCE_KINDS[kind].model_validate(data)
    assert record.kind == kind
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))
    errors = [
        e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(jsonable(data))
    ]
    assert errors == []


@pytest.mark.parametrize("kind", sorted(EVIDENCE_KINDS))
def test_template_shows_every_field_with_a_comment(kind: str) -> None:
    text, data = load_template(kind)
    expected = set(EVIDENCE_KINDS[kind].model_fields) - {"body"}
    assert set(data) - {"body"} == expected
    for line in text.splitlines():
        match = KEY_LINE.match(line)
        if match:
            assert "#" in line, f"{template_path(kind).name}: no comment on {match.group(1)!r}"


@pytest.mark.parametrize("kind", sorted(DOCUMENT_KINDS))
def test_document_templates_have_a_real_body(kind: str) -> None:
    _, data = load_template(kind)
    headings = re.findall(r"^## (.+)$", data["body"], flags=re.MULTILINE)
    wanted = {
        "postmortem": ["Summary", "Timeline (UTC)", "Root causes", "Actions"],
        "quarterly_review": ["9. Decision", "10. Actions"],
    }[kind]
    for heading in wanted:
        assert heading in headings, f"{kind}: missing section {heading!r}"


# --------------------------------------------------------------------------- the policies

# The templates describe one high-risk workflow. Two more records are filled in from them,
# as their comments say: the launch deployment and the hypercare exit review.
TEMPLATE_WORKFLOW = {
    "id": "fraud-scoring",
    "name": "Fraud scoring",
    "owner": "ana.ruiz",
    "risk_class": "high",
    "launched": "2026-01-05",
    "eu_scope": True,
    "role": "provider",
}
TEMPLATES_AS_OF = datetime(2026, 5, 8, 17, 0, tzinfo=UTC)
CRITERION_LINE = re.compile(r"^\s*#\s+([a-z0-9_]+): true\s")

# Checks one record per kind cannot meet: they need a series of records (drift runs every
# hour, a labelled evaluation per segment, an oversight report per month) or a second
# record of a kind (a kill-switch drill beside the rollback drill).
NEEDS_MORE_THAN_ONE_RECORD = {
    ("PROD-DRIFT-01", "drift_runs_on_cadence"),
    ("PROD-DRIFT-01", "drift_run_gaps"),
    ("PROD-DRIFT-01", "segment_evaluations_regular"),
    ("PROD-ROLLBACK-01", "kill_switch_drill_current"),
    ("PROD-HITL-01", "report_each_period"),
}


def exit_criteria_in_template() -> dict[str, bool]:
    """The criteria the quarterly_review template tells a hypercare exit review to record."""
    front, _ = split_front_matter(template_path("quarterly_review").read_text(encoding="utf-8"))
    return {m.group(1): True for line in front.splitlines() if (m := CRITERION_LINE.match(line))}


def filled_in_records() -> list[dict[str, Any]]:
    """The launch deployment and the hypercare exit review, written from the templates."""
    _, deploy = load_template("deploy_record")
    launch = {
        **deploy,
        "id": "deploy-2026-01-05-launch",
        "created_at": "2026-01-05T09:00:00Z",
        "model_version": "2.3.1",
        "started_at": "2026-01-05T09:00:00Z",
        "promoted_at": "2026-01-06T10:00:00Z",
        "is_launch": True,
        "error_budget_remaining_pct": 100,
    }
    _, review = load_template("quarterly_review")
    review.pop("body")
    exit_review = {
        **review,
        "id": "review-fraud-scoring-hypercare-exit",
        "created_at": "2026-04-07T15:00:00Z",
        "review_type": "hypercare_exit",
        "held_at": "2026-04-07T13:00:00Z",
        "exit_criteria": exit_criteria_in_template(),
    }
    return [launch, exit_review]


@pytest.fixture(scope="module")
def template_assessment(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("templates")
    (root / "assay.yaml").write_text("policies: [bundled]\n", encoding="utf-8")
    (root / "workflows").mkdir()
    (root / "workflows" / "fraud-scoring.yaml").write_text(
        yaml.safe_dump(TEMPLATE_WORKFLOW), encoding="utf-8"
    )
    evidence = root / "evidence"
    evidence.mkdir()
    for kind in EVIDENCE_KINDS:
        shutil.copyfile(template_path(kind), evidence / template_path(kind).name)
    (evidence / "filled-in.yaml").write_text(
        yaml.safe_dump(filled_in_records(), sort_keys=False), encoding="utf-8"
    )
    project = assay.load_project(root)
    return assay.assess(project, "fraud-scoring", TEMPLATES_AS_OF)


def test_exit_criteria_of_the_review_template_are_the_policies_criteria() -> None:
    """Someone who copies the criteria from the template passes PROD-HYPERCARE-01."""
    named = exit_criteria_in_template()
    for name in ("minimal", "limited", "high", "critical"):
        risk = yaml.safe_load(
            bundled_path("policies", "classes", f"{name}.yaml").read_text(encoding="utf-8")
        )
        criteria = risk["params"].get("PROD-HYPERCARE-01", {}).get("exit_criteria")
        if criteria is not None:
            assert sorted(named) == sorted(criteria), name


def test_templates_as_they_stand_meet_the_policies(template_assessment: Any) -> None:
    """The templates, unchanged, make a high-risk workflow that meets every check that one
    record per kind can meet; the others fail for want of more records, not because a
    template says something the policies refuse."""
    assessment = template_assessment
    assert not assessment.hypercare.active, "the exit review written from the template ended it"
    failing = {
        (control.id, check.id): check.summary
        for control in assessment.controls
        for check in control.checks
        if check.status not in ("pass", "not_applicable")
    }
    assert set(failing) == NEEDS_MORE_THAN_ONE_RECORD, failing
    statuses = {c.id: c.status for c in assessment.controls}
    # Every template kind is read by a control that passes on it.
    passing = {c.id for c in assessment.controls if c.status == "pass"}
    assert {"PROD-CLASS-01", "PROD-CANARY-01", "PROD-OBS-01", "PROD-SIR-01"} <= passing, statuses
    assert statuses["PROD-HYPERCARE-01"] == "blocked"  # by DRIFT, through REVIEW: its checks pass
