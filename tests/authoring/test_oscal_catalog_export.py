"""`assay catalog export --format oscal`: an OSCAL 1.1.3 catalog of the control catalog."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from authoring_kit import BASIC, bundled_project, oscal_errors
from click.testing import CliRunner

from assay.authoring.catalog import check_in_words, oscal_catalog
from assay.cli.authoring import catalog_group
from assay.errors import UsageError
from assay.load.project import Project, load_project

SCHEMA = "oscal_catalog_schema.json"


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return load_project(bundled_project(tmp_path_factory.mktemp("catalog")))


@pytest.fixture(scope="module")
def document(bundled: Project) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(oscal_catalog(bundled))
    return data


def test_bundled_catalog_is_valid_oscal(document: dict[str, Any]) -> None:
    assert oscal_errors(SCHEMA, document) == []
    assert document["catalog"]["metadata"]["oscal-version"] == "1.1.3"
    assert document["catalog"]["metadata"]["version"] == "1.0.0"


def test_the_validator_really_checks(document: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(document))
    broken["catalog"]["controls"][0]["id"] = "1bad id"
    del broken["catalog"]["controls"][1]["title"]
    broken["catalog"]["controls"][2]["props"][0]["value"] = "two\nlines"
    errors = oscal_errors(SCHEMA, broken)
    assert len(errors) == 3, errors


def test_every_control_is_present_with_its_parts(
    bundled: Project, document: dict[str, Any]
) -> None:
    controls = {c["id"]: c for c in document["catalog"]["controls"]}
    assert list(controls) == sorted(c.lower() for c in bundled.controls)
    assert len(controls) == len(bundled.controls) == 20
    for cid, control in bundled.controls.items():
        out = controls[cid.lower()]
        assert out["title"] == " ".join(control.title.split())
        parts = {p["name"]: p for p in out["parts"]}
        assert parts["overview"]["prose"] == control.intent
        assert parts["guidance"]["prose"] == control.remediation
        items = parts["statement"]["parts"]
        assert [i["title"] for i in items] == [c.id for c in control.checks]
        props = {(p["name"], p.get("class")): p["value"] for p in out["props"]}
        assert props[("severity", None)] == control.severity
        for ref in control.mappings.eu_ai_act:
            assert props[("mapping", "eu-ai-act")]  # at least one
            assert any(link["text"] == ref and link["rel"] == "reference" for link in out["links"])
        assert sorted(p["label"] for p in out.get("params", [])) == sorted(control.params)
        required = sorted(lk["href"] for lk in out.get("links", []) if lk["rel"] == "required")
        assert required == sorted(f"#{d.lower()}" for d in control.requires)


def test_links_resolve_and_ids_are_unique(document: dict[str, Any]) -> None:
    catalog = document["catalog"]
    resources = {r["uuid"] for r in catalog["back-matter"]["resources"]}
    ids: list[str] = []
    for control in catalog["controls"]:
        ids.append(control["id"])
        ids += [p["id"] for p in control.get("params", [])]
        ids += [p["id"] for p in control["parts"]]
        ids += [i["id"] for p in control["parts"] for i in p.get("parts", [])]
        for link in control.get("links", []):
            target = link["href"][1:]
            assert target in resources or target in {c["id"] for c in catalog["controls"]}
    assert len(ids) == len(set(ids))
    # parameters referenced from the statement prose exist
    text = json.dumps(catalog)
    for param in (p for c in catalog["controls"] for p in c.get("params", [])):
        assert param["id"] in text


def test_class_values_of_a_parameter(document: dict[str, Any]) -> None:
    canary = next(c for c in document["catalog"]["controls"] if c["id"] == "prod-canary-01")
    param = next(p for p in canary["params"] if p["label"] == "min_duration")
    values = {p["class"]: p["value"] for p in param["props"] if p["name"] == "class-value"}
    assert values["high"] == "24h" and values["critical"] == "72h"


def test_deterministic(tmp_path: Path, bundled: Project) -> None:
    first = oscal_catalog(bundled)
    other = load_project(bundled_project(tmp_path / "elsewhere"))
    assert oscal_catalog(other) == first
    assert json.loads(first)["catalog"]["metadata"]["last-modified"] == "1970-01-01T00:00:00Z"
    moved = oscal_catalog(bundled, last_modified=datetime(2026, 5, 1, tzinfo=UTC))
    assert json.loads(moved)["catalog"]["metadata"]["last-modified"] == "2026-05-01T00:00:00Z"
    assert json.loads(moved)["catalog"]["uuid"] == json.loads(first)["catalog"]["uuid"]


def test_scenario_catalog_and_check_words() -> None:
    project = load_project(BASIC)
    doc = json.loads(oscal_catalog(project))
    assert oscal_errors(SCHEMA, doc) == []
    pm = project.controls["TEST-PM-01"]
    words = check_in_words(pm.id, pm.checks[0])
    assert words == (
        'Every one of the `incident` records matching `r.severity == "SEV1"` within the last '
        "90 days has a `postmortem` record whose `incident_id` equals its `id`, within "
        "{{ insert: param, test-pm-01_prm_due }} of its `resolved_at`, satisfying "
        "`r.blameless && size(r.actions) >= 1`. Nothing to cover is acceptable."
    )


def test_cli_export(tmp_path: Path) -> None:
    out = tmp_path / "out" / "catalog.json"
    result = CliRunner().invoke(
        catalog_group,
        ["export", "--project", str(BASIC), "--format", "oscal", "--output", str(out)],
        standalone_mode=False,
    )
    assert result.exception is None, result.output
    assert result.return_value == 0
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(
        oscal_catalog(load_project(BASIC))
    )
    stdout = CliRunner().invoke(
        catalog_group,
        ["export", "--project", str(BASIC), "--last-modified", "2026-01-01T00:00:00+02:00"],
        standalone_mode=False,
    )
    assert json.loads(stdout.output)["catalog"]["metadata"]["last-modified"] == (
        "2025-12-31T22:00:00Z"
    )
    bad = CliRunner().invoke(
        catalog_group,
        ["export", "--project", str(BASIC), "--last-modified", "yesterday"],
        standalone_mode=False,
    )
    assert isinstance(bad.exception, UsageError) and bad.exception.exit_code == 2
