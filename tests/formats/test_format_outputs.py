"""Format-specific behaviour: waivers, escaping, ordering, evidence pointers."""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET

import pytest

from assay.errors import UsageError
from assay.formats.github import command, escape_data, escape_property, format_github
from assay.formats.json import format_json
from assay.formats.junit import format_junit
from assay.formats.markdown import escape, format_markdown
from assay.formats.oscal import format_oscal
from assay.formats.sarif import format_sarif
from assay.formats.text import format_text
from assay.models.assessment import Assessment, canonical_json

ODD_URI = "evidence/canary%20runs%2C%202026%3A%20eu/deploys.jsonl"


# --- json -------------------------------------------------------------------------------


def test_json_single_is_the_canonical_assessment(noncompliant: Assessment) -> None:
    assert format_json([noncompliant]) == noncompliant.canonical_json().decode()
    assert Assessment.model_validate_json(format_json([noncompliant])) == noncompliant


def test_json_several_is_a_sorted_envelope(noncompliant: Assessment, compliant: Assessment) -> None:
    out = format_json([noncompliant, compliant])
    data = json.loads(out)
    assert data["compliant"] is False
    assert [a["workflow"]["id"] for a in data["assessments"]] == ["chat-assistant", "fraud-scoring"]
    assert out == canonical_json(data).decode()
    assert json.loads(format_json([compliant, compliant]))["compliant"] is True


def test_json_several_is_the_document_dumped_whole(
    noncompliant: Assessment, compliant: Assessment
) -> None:
    """The fleet document is written one assessment at a time: byte for byte the canonical
    JSON of the whole envelope, line breaks inside strings (the scenario's titles and
    reasons hold some) included."""
    assert any("\n" in c.title or "\n" in c.summary for c in noncompliant.controls) or any(
        "\n" in w.reason for c in noncompliant.controls for w in c.waivers
    )
    for fleet in ([noncompliant, compliant], [compliant, compliant], [compliant, noncompliant]):
        whole = {
            "assessments": [a.to_dict() for a in sorted(fleet, key=lambda a: a.workflow.id)],
            "compliant": all(a.compliant for a in fleet),
        }
        assert format_json(fleet) == canonical_json(whole).decode()
    assert format_json([]) == canonical_json({"assessments": [], "compliant": True}).decode()


# --- text -------------------------------------------------------------------------------


def test_text_orders_worst_first_and_points_at_evidence(noncompliant: Assessment) -> None:
    out = format_text([noncompliant])
    table = [
        line.split()[:2] for line in out.splitlines() if re.match(r"  [A-Z/]+ {2,}PROD-", line)
    ]
    assert table == [
        ["FAIL", "PROD-CANARY-01"],
        ["FAIL", "PROD-EVAL-01"],
        ["ERROR", "PROD-DRIFT-01"],
        ["BLOCKED", "PROD-ROLLBACK-01"],
        ["WAIVED", "PROD-INCIDENT-01"],
    ]
    # what passed or does not apply is one line each, after what did not
    assert "  PASS     1 control: PROD-MONITOR-01\n  N/A      1 control: PROD-FAIR-01\n" in out
    assert "VERDICT     NON-COMPLIANT: 2 fail, 1 error, 1 blocked" in out
    assert "        at evidence/canary runs, 2026: eu/deploys.jsonl:2\n" in out
    assert "blocked by: PROD-CANARY-01" in out
    assert "waiver W-3 expired 2026-11-01T00:00:00Z, does not apply" in out
    assert "waiver W-7 active until 2026-12-31T00:00:00Z" in out
    assert "\x1b[" not in out
    # the columns line up: every status column has the same width
    starts = {
        line.index("PROD-") for line in out.splitlines() if re.match(r"  [A-Z/]+ {2,}PROD-", line)
    }
    assert len(starts) == 1


def test_text_color_is_opt_in(noncompliant: Assessment) -> None:
    colored = format_text([noncompliant], color=True)
    assert "\x1b[31mFAIL" in colored
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == format_text([noncompliant])


# --- junit ------------------------------------------------------------------------------


def test_junit_statuses(noncompliant: Assessment) -> None:
    root = ET.fromstring(format_junit([noncompliant]))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("7", "4", "2")
    assert suite.get("timestamp") == "2026-11-20T12:00:00Z"
    assert "hostname" not in suite.attrib
    cases = {c.get("name", "").split()[0]: c for c in suite.iter("testcase")}
    assert all(
        c.get("classname") == "fraud-scoring" and c.get("time") == "0" for c in cases.values()
    )
    kinds = {cid: [child.tag for child in case] for cid, case in cases.items()}
    assert kinds == {
        "PROD-CANARY-01": ["failure"],
        "PROD-EVAL-01": ["failure"],  # expired waiver: a plain failure
        "PROD-DRIFT-01": ["failure"],
        "PROD-ROLLBACK-01": ["failure"],
        "PROD-INCIDENT-01": ["skipped"],
        "PROD-MONITOR-01": [],
        "PROD-FAIR-01": ["skipped"],
    }
    waived = cases["PROD-INCIDENT-01"].find("skipped")
    assert waived is not None
    assert waived.get("message") == "waived: W-7 until 2026-12-31T00:00:00Z"
    canary = cases["PROD-CANARY-01"].find("failure")
    assert canary is not None and canary.text is not None
    # the finding states the unmet condition in words; its CEL stays out of the sentence
    assert "canary report c-17: max_traffic_pct is 7 %" in canary.text
    assert "r.max_traffic_pct" not in canary.text and "params." not in canary.text
    assert "[evidence/canary runs, 2026: eu/deploys.jsonl:2]" in canary.text
    blocked = cases["PROD-ROLLBACK-01"].find("failure")
    assert blocked is not None and blocked.get("type") == "blocked"
    assert "blocked by: PROD-CANARY-01" in (blocked.text or "")


def test_junit_strips_characters_xml_cannot_carry(noncompliant: Assessment) -> None:
    control = noncompliant.control("PROD-CANARY-01")
    bad = control.model_copy(update={"summary": "bell \x07 here"})
    controls = [bad if c.id == control.id else c for c in noncompliant.controls]
    out = format_junit([noncompliant.model_copy(update={"controls": controls})])
    assert "\x07" not in out
    ET.fromstring(out)


# --- sarif ------------------------------------------------------------------------------


def test_sarif_rules_results_and_suppressions(noncompliant: Assessment) -> None:
    run = json.loads(format_sarif([noncompliant]))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(c.id for c in noncompliant.controls)
    canary_rule = rules[[r["id"] for r in rules].index("PROD-CANARY-01")]
    assert canary_rule["name"] == "CanaryRelease5Staged"
    assert canary_rule["shortDescription"]["text"] == "Canary release <5% | staged"
    assert canary_rule["defaultConfiguration"]["level"] == "error"
    assert canary_rule["properties"]["mappings"]["eu_ai_act"] == ["Art. 15(1)"]
    assert run["tool"]["driver"]["name"] == "assay"
    results = {r["ruleId"]: r for r in run["results"]}
    assert sorted(results) == [
        "PROD-CANARY-01",
        "PROD-DRIFT-01",
        "PROD-EVAL-01",
        "PROD-INCIDENT-01",
        "PROD-ROLLBACK-01",
    ]
    for rid, result in results.items():
        assert rules[result["ruleIndex"]]["id"] == rid
    waived = results["PROD-INCIDENT-01"]
    assert waived["suppressions"][0]["kind"] == "external"
    assert waived["suppressions"][0]["justification"].startswith("Postmortem <draft> | 90%")
    assert "suppressions" not in results["PROD-EVAL-01"]  # expired waiver
    assert results["PROD-EVAL-01"]["level"] == "error"
    canary_locs = [loc["physicalLocation"] for loc in results["PROD-CANARY-01"]["locations"]]
    assert [(p["artifactLocation"]["uri"], p["region"]["startLine"]) for p in canary_locs] == [
        (ODD_URI, 2),
        (ODD_URI, 3),
    ]
    assert canary_locs[0]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    # no evidence pointer: the control in its policy file
    blocked = results["PROD-ROLLBACK-01"]["locations"][0]["physicalLocation"]
    assert blocked["artifactLocation"]["uri"] == "policies/catalog.yaml"
    assert blocked["region"]["startLine"] == 41  # PROD-ROLLBACK-01 in the catalog


def test_sarif_fingerprints_stable_per_workflow_and_control(
    noncompliant: Assessment, compliant: Assessment
) -> None:
    one = json.loads(format_sarif([noncompliant]))["runs"][0]["results"]
    two = json.loads(format_sarif([compliant, noncompliant]))["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in one] == [r["partialFingerprints"] for r in two]
    prints = [r["partialFingerprints"]["assayControl/v1"] for r in one]
    assert len(set(prints)) == len(prints)


# --- github -----------------------------------------------------------------------------


def test_github_escaping() -> None:
    assert escape_data("50% a\r\nb: c, d") == "50%25 a%0D%0Ab: c, d"
    assert escape_property("50% a\nb: c, d") == "50%25 a%0Ab%3A c%2C d"
    assert (
        command("error", "m", file="a,b.txt", line=3, title=None)
        == "::error file=a%2Cb.txt,line=3::m"
    )


def test_github_annotations(noncompliant: Assessment) -> None:
    lines = format_github([noncompliant]).splitlines()
    assert all(re.match(r"^::(error|warning|notice)( [^:]*)?::", line) for line in lines)
    assert lines[0].startswith(
        "::error file=evidence/canary runs%2C 2026%3A eu/deploys.jsonl,line=2,"
        "title=PROD-CANARY-01 Canary release <5%25 | staged (fail%2C fraud-scoring)::"
    )
    assert "canary report c-17: max_traffic_pct is 7 %25" in lines[0]
    assert "params." not in lines[0]
    assert "under 5%25 of traffic | or passed" in lines[0]
    warnings = [line for line in lines if line.startswith("::warning")]
    assert len(warnings) == 1 and "PROD-INCIDENT-01" in warnings[0]
    eval_lines = [line for line in lines if "PROD-EVAL-01" in line]
    assert eval_lines and all(line.startswith("::error ") for line in eval_lines)
    assert lines[-1].startswith("::notice title=Assay gate%3A NON-COMPLIANT::fraud-scoring 2.4.0")
    assert "\n" not in "".join(lines)


# --- markdown ---------------------------------------------------------------------------


def test_markdown_escape() -> None:
    assert escape("a | b <script>&") == r"a \| b &lt;script&gt;&amp;"
    assert escape("one\ntwo") == "one<br>two"
    assert escape("*x* _y_ `z` [l](u)") == r"\*x\* \_y\_ \`z\` \[l\](u)"


def test_markdown_report(noncompliant: Assessment) -> None:
    out = format_markdown([noncompliant])
    assert out.startswith("## Assay gate: ❌ Non-compliant\n")
    assert "<outage>" not in out and "&lt;outage&gt;" in out
    assert "Canary release &lt;5% \\| staged" in out
    assert "| **waived** | `PROD-INCIDENT-01` |" in out
    assert "| **fail** | `PROD-EVAL-01` |" in out
    assert "| W-3 | `PROD-EVAL-01` | **expired** (does not apply) | 2026-11-01T00:00:00Z |" in out
    assert "| W-7 | `PROD-INCIDENT-01` | active | 2026-12-31T00:00:00Z |" in out
    assert out.count("<details>") == out.count("</details>") == 5
    assert "evidence/canary runs, 2026: eu/deploys.jsonl:2" in out
    # every table row has the same number of unescaped cell separators as its header
    for block in out.split("\n\n"):
        rows = [r for r in block.splitlines() if r.startswith("|")]
        widths = {len(re.findall(r"(?<!\\)\|", r)) for r in rows}
        assert len(widths) <= 1, block


def test_markdown_collapses_passes_and_shows_the_condition_once(
    noncompliant: Assessment, compliant: Assessment
) -> None:
    out = format_markdown([compliant, noncompliant])
    assert out.index("`fraud-scoring`") < out.index("`chat-assistant`")  # failures first
    assert "1 of 2 workflows is not compliant." in out
    assert "| **pass** |" not in out and "| **not applicable** |" not in out
    assert (
        "<summary>1 control passes, 1 does not apply</summary>\n\n"
        "Pass: `PROD-MONITOR-01`<br>Not applicable: `PROD-FAIR-01`"
    ) in out
    # a compliant workflow without waivers is all in its overview row
    assert "### ✅" not in out
    cel = "r.max_traffic_pct &lt;= params.max_traffic || r.verdict == &quot;pass&quot;"
    assert out.count(f"<sub>condition: <code>{cel}</code></sub>") == 1  # c-17 and c-18 share it
    # remediation once per failing control, at the end; a control only blocked has none
    tail = out[out.index("### Remediation") :]
    assert [line.split("`")[1] for line in tail.splitlines() if line.startswith("- `")] == [
        "PROD-CANARY-01",
        "PROD-DRIFT-01",
        "PROD-EVAL-01",
    ]
    alone = format_markdown([compliant])
    assert "### ✅ Compliant: `chat-assistant`" in alone  # alone, it has its section


# --- oscal ------------------------------------------------------------------------------


def test_oscal_findings_and_risks(noncompliant: Assessment) -> None:
    doc = json.loads(format_oscal([noncompliant]))["assessment-results"]
    result = doc["results"][0]
    assert result["start"] == result["end"] == "2026-11-20T12:00:00Z"
    ids = result["reviewed-controls"]["control-selections"][0]["include-controls"]
    assert [i["control-id"] for i in ids] == sorted(c.id.lower() for c in noncompliant.controls)
    states = {f["target"]["target-id"]: f["target"]["status"]["state"] for f in result["findings"]}
    assert states["prod-monitor-01"] == "satisfied"
    assert states["prod-eval-01"] == "not-satisfied"
    assert states["prod-incident-01"] == "not-satisfied"
    risks = {r["title"].split()[0]: r for r in result["risks"]}
    assert risks["PROD-INCIDENT-01"]["status"] == "deviation-approved"
    assert risks["PROD-INCIDENT-01"]["deadline"] == "2026-12-31T00:00:00Z"
    assert risks["PROD-EVAL-01"]["status"] == "open"  # expired waiver
    assert sorted(risks) == [
        "PROD-CANARY-01",
        "PROD-DRIFT-01",
        "PROD-EVAL-01",
        "PROD-INCIDENT-01",
        "PROD-ROLLBACK-01",
    ]
    canary = next(
        o for o in result["observations"] if o["title"] == "PROD-CANARY-01 check canary_ok"
    )
    assert [e["href"] for e in canary["relevant-evidence"]] == [ODD_URI]
    resources = {r["uuid"] for r in doc["back-matter"]["resources"]}
    assert canary["relevant-evidence"][0]["links"][0]["href"][1:] in resources
    assert doc["import-ap"]["href"][1:] in resources


def test_oscal_uuids_are_v5_and_unique(noncompliant: Assessment, compliant: Assessment) -> None:
    text = format_oscal([noncompliant, compliant])
    found = re.findall(r'"(?:uuid|[a-z-]+-uuid)": "([0-9a-f-]{36})"', text)
    parsed = [uuid.UUID(u) for u in found]
    assert all(u.version == 5 for u in parsed)
    defined = re.findall(r'"uuid": "([0-9a-f-]{36})"', text)
    assert len(defined) == len(set(defined))


def test_oscal_needs_an_assessment() -> None:
    with pytest.raises(UsageError):
        format_oscal([])


def test_text_neutralises_terminal_escapes(noncompliant: Assessment) -> None:
    control = noncompliant.control("PROD-CANARY-01")
    check = control.checks[0]
    finding = check.findings[0].model_copy(update={"message": "evil \x1b[2J\x1b]0;pwned\x07"})
    check = check.model_copy(update={"findings": [finding]})
    bad = control.model_copy(update={"summary": "sum \x1b[31m", "checks": [check]})
    controls = [bad if c.id == control.id else c for c in noncompliant.controls]
    out = format_text([noncompliant.model_copy(update={"controls": controls})], color=True)
    assert "\x1b[2J" not in out and "\x07" not in out and "\x1b]0" not in out
    assert "evil \ufffd[2J" in out


def test_result_models_given_every_field_share_one_fields_set() -> None:
    """Evidence pointers share their class's set of given fields (memory of a fleet
    gate); copies with updates get their own, and the shared one never changes."""
    from assay.models.assessment import EvidencePointer

    fields = {"file": "e.jsonl", "line": 3, "pointer": "", "record_id": "A", "kind": "k"}
    one = EvidencePointer(**fields, sha256="0" * 64)
    two = EvidencePointer(**fields, sha256="1" * 64)
    assert one.model_fields_set is two.model_fields_set
    assert one.model_fields_set == set(EvidencePointer.model_fields)
    partial = EvidencePointer(file="e.jsonl", sha256="0" * 64)
    assert partial.model_fields_set == {"file", "sha256"}
    moved = one.model_copy(update={"line": 4})
    assert moved.line == 4 and one.line == 3
    assert moved.model_fields_set is not one.model_fields_set
    assert one.model_fields_set == set(EvidencePointer.model_fields)
    assert partial.model_copy(update={"line": 9}).model_fields_set == {"file", "sha256", "line"}
    assert partial.model_fields_set == {"file", "sha256"}
    assert EvidencePointer.model_validate_json(one.model_dump_json()) == one
