"""SARIF for code scanning: every URI relative to the repository (the project may be one of
its folders), a helpUri and Markdown help on every rule, the CEL behind a result as a
property; valid against the official SARIF 2.1.0 schema in every variant."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft4Validator
from projectkit import copy_project

from assay.cli.main import main
from assay.evaluate import assess
from assay.formats.sarif import CATALOG_DOCS, format_sarif
from assay.load.project import load_project
from assay.models.assessment import Assessment
from assay.models.time import parse_instant

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "tests" / "scenarios" / "format-escaping"
EXAMPLES = ROOT / "examples"
AS_OF = "2026-11-20T12:00:00Z"


def _uris(log: dict[str, Any]) -> list[str]:
    found = []
    for result in log["runs"][0]["results"]:
        for loc in result["locations"]:
            found.append(loc["physicalLocation"]["artifactLocation"]["uri"])
        for sup in result.get("suppressions", []):
            if "location" in sup:
                found.append(sup["location"]["physicalLocation"]["artifactLocation"]["uri"])
    return found


def _examples() -> list[Assessment]:
    project = load_project(EXAMPLES)
    return [assess(project, wf, parse_instant(AS_OF)) for wf in project.workflows]


def test_uris_are_relative_to_the_repository(noncompliant: Assessment) -> None:
    plain = json.loads(format_sarif([noncompliant]))
    nested = json.loads(format_sarif([noncompliant], path_prefix="risk/compliance"))
    before, after = _uris(plain), _uris(nested)
    assert before and len(before) == len(after)
    assert after == [f"risk/compliance/{uri}" for uri in before]
    assert "risk/compliance/policies/catalog.yaml" in after  # a blocked control's policy
    # the active waiver that suppresses the waived control, percent-encoded
    assert "risk/compliance/waivers/W-7%20incident%2C%20active.yaml" in after
    bases = {
        loc["physicalLocation"]["artifactLocation"]["uriBaseId"]
        for r in nested["runs"][0]["results"]
        for loc in r["locations"]
    }
    assert bases == {"%SRCROOT%"}
    described = nested["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["description"]["text"]
    assert "risk/compliance" in described


def test_every_rule_has_markdown_help_and_bundled_rules_a_help_uri(
    noncompliant: Assessment,
) -> None:
    catalog = (ROOT / "docs" / "catalog.md").read_text(encoding="utf-8")
    anchors = {h.strip().lower() for h in re.findall(r"^## (PROD-[A-Z0-9-]+)$", catalog, re.M)}
    rules = json.loads(format_sarif(_examples()))["runs"][0]["tool"]["driver"]["rules"]
    assert len(rules) == 20
    for rule in rules:
        uri = urlsplit(rule["helpUri"])
        assert (uri.scheme, uri.fragment) == ("https", rule["id"].lower())
        assert rule["helpUri"].startswith(CATALOG_DOCS)
        assert uri.fragment in anchors  # the heading exists in the reference
        markdown = rule["help"]["markdown"]
        assert markdown.startswith(f"**{rule['shortDescription']['text']}**")
        assert "**Remediation:**" in markdown and f"`assay explain {rule['id']}`" in markdown
        assert rule["help"]["text"] in markdown.replace("\\", "")
    # a project's own controls have no published page: Markdown help, no helpUri
    own = json.loads(format_sarif([noncompliant]))["runs"][0]["tool"]["driver"]["rules"]
    assert all("helpUri" not in rule and rule["help"]["markdown"] for rule in own)
    canary = next(rule for rule in own if rule["id"] == "PROD-CANARY-01")
    # user text is escaped: the title's `<` and `|` cannot inject markup
    assert canary["help"]["markdown"].startswith("**Canary release &lt;5% \\| staged**")
    assert "**Implements:** EU AI Act Art. 15(1)" in canary["help"]["markdown"]


def test_conditions_are_a_property_of_the_result(noncompliant: Assessment) -> None:
    results = json.loads(format_sarif([noncompliant]))["runs"][0]["results"]
    canary = next(r for r in results if r["ruleId"] == "PROD-CANARY-01")
    cel = {
        f.condition
        for f in noncompliant.control("PROD-CANARY-01").checks[0].findings
        if f.condition
    }
    assert canary["properties"]["conditions"] == [
        {"check": "canary_ok", "condition": c} for c in sorted(cel)
    ]
    assert all("params." not in r["message"]["text"] for r in results)


@pytest.mark.parametrize("prefix", ["", "compliance", "a b/c,d"])
def test_valid_against_the_sarif_schema(
    prefix: str, standards: Path, noncompliant: Assessment, compliant: Assessment
) -> None:
    schema = json.loads((standards / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    validator = Draft4Validator(schema)
    for run in ([noncompliant], [noncompliant, compliant], _examples()):
        doc = json.loads(format_sarif(run, path_prefix=prefix))
        errors = [e.message for e in validator.iter_errors(doc)]
        assert errors == []
    # the validator does check: a rule without an id is refused
    doc = json.loads(format_sarif([noncompliant], path_prefix=prefix))
    del doc["runs"][0]["tool"]["driver"]["rules"][0]["id"]
    assert list(validator.iter_errors(doc))


def test_the_cli_prefixes_the_project_folder_inside_its_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    project = repo / "risk" / "compliance"
    shutil.copytree(SCENARIO, project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the repository decides, not where the command runs
    args = ["gate", "--project", str(project), "--all", "--as-of", AS_OF]
    capsys.readouterr()
    assert main([*args, "--format", "sarif"]) == 1
    uris = _uris(json.loads(capsys.readouterr().out))
    assert uris and all(u.startswith("risk/compliance/") for u in uris)
    assert main([*args, "--format", "github"]) == 1
    files = re.findall(r"^::(?:error|warning) file=([^,]+),", capsys.readouterr().out, re.M)
    assert files and all(f.startswith("risk/compliance/") for f in files)
    # the project at the repository root: no prefix
    (project / ".git").mkdir()
    assert main([*args, "--format", "sarif"]) == 1
    assert all(not u.startswith("risk/") for u in _uris(json.loads(capsys.readouterr().out)))


def test_a_bundled_control_without_evidence_points_into_the_repository(tmp_path: Path) -> None:
    """A control of the bundled catalog (installed with Assay, not in the repository) that
    fails with no evidence to point at is located at the project's assay.yaml, which names
    the catalog; a URI under bundled/ would name a file code scanning cannot open."""
    project = tmp_path / "examples"
    copy_project(EXAMPLES, project)
    for drift in project.glob("evidence/**/drift_log*"):
        drift.unlink()
    loaded = load_project(project)
    log = json.loads(
        format_sarif(
            [assess(loaded, wf, parse_instant(AS_OF)) for wf in loaded.workflows],
            path_prefix="compliance",
        )
    )
    uris = _uris(log)
    assert uris and not [u for u in uris if "bundled/" in u]
    assert "compliance/assay.yaml" in uris
