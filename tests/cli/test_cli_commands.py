"""The CLI, called as `main(argv)`: exit codes, output routing, and every command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from projectkit import (
    Kit,
    check,
    control,
    incident,
    param,
    review,
    risk_class,
    workflow,
)

AS_OF = ("--as-of", "2026-06-01T00:00:00Z")

ACK = control(
    "T-ACK-01",
    check("every", window="90d", assert_="r.acked_at - r.paged_at <= params.ack_sla"),
    params={"ack_sla": param()},
)
REVIEW = control(
    "T-REV-01",
    check("fresh", evidence="quarterly_review", max_age="92d"),
    requires=["T-ACK-01"],
)


def project(kit: Kit, ack_minutes: int = 5) -> Kit:
    """Workflow `good` passes; workflow `bad` has a slow acknowledgement. `good` is in
    hypercare (launched 2026-04-01), where the ack SLA is 10m instead of 15m; `bad` left
    hypercare with a passing exit review."""
    stamp = f"2026-05-01T10:{ack_minutes:02d}:00Z"
    hypercare = {"days": 90, "params": {"T-ACK-01": {"ack_sla": "10m"}}}
    return kit.setup(
        [ACK, REVIEW],
        [
            risk_class(
                "high",
                3,
                ["T-ACK-01", "T-REV-01"],
                {"T-ACK-01": {"ack_sla": "15m"}},
                hypercare=hypercare,
            )
        ],
        [workflow("good", launched="2026-04-01"), workflow("bad", launched="2025-01-06")],
        [
            incident("I-1", "2026-05-01T10:00:00Z", workflow="good", acked_at=stamp),
            review("R-1", "2026-05-02T00:00:00Z", workflow="good"),
            incident(
                "I-2", "2026-05-01T10:00:00Z", workflow="bad", acked_at="2026-05-01T10:45:00Z"
            ),
            review("R-2", "2026-05-02T00:00:00Z", workflow="bad"),
            review(
                "R-3",
                "2025-04-10T00:00:00Z",
                workflow="bad",
                review_type="hypercare_exit",
                exit_criteria={"all_clear": True},
            ),
        ],
    )


# --- gate -------------------------------------------------------------------------------


def test_gate_exit_0_when_compliant(kit: Kit) -> None:
    run = project(kit).run("gate", "-w", "good", *AS_OF)
    assert run.code == 0, run.out + run.err
    assert "COMPLIANT" in run.out and "NON-COMPLIANT" not in run.out
    assert run.err == ""


def test_gate_exit_1_when_not_compliant(kit: Kit) -> None:
    run = project(kit).run("gate", "-w", "bad", *AS_OF)
    assert run.code == 1
    assert "NON-COMPLIANT" in run.out
    assert "evidence/records.jsonl:3" in run.out
    assert run.err == ""


def test_gate_hypercare_parameter_applies(kit: Kit) -> None:
    # 12 minutes meets the class SLA (15m) but not the hypercare one (10m).
    assert project(kit, ack_minutes=12).run("gate", "-w", "good", *AS_OF).code == 1


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (("gate", "-w", "nope", *AS_OF), "unknown workflow 'nope'"),
        (("gate", *AS_OF), "give --workflow ID"),
        (("gate", "-w", "good", "--all", *AS_OF), "give --workflow ID"),
        (("gate", "-w", "good", "--format", "yaml", *AS_OF), "unknown output format 'yaml'"),
        (("gate", "-w", "good", "--format", "json=", *AS_OF), "expected FORMAT=FILE"),
        (
            ("gate", "-w", "good", "--format", "json", "--format", "text", *AS_OF),
            "only one --format",
        ),
        (("gate", "-w", "good", "--as-of", "yesterday"), "expected an ISO 8601 timestamp"),
        (("gate", "-w", "good", "--bogus"), "No such option"),
    ],
)
def test_gate_usage_errors_exit_2(kit: Kit, argv: tuple[str, ...], fragment: str) -> None:
    run = project(kit).run(*argv)
    assert run.code == 2
    assert fragment in run.err
    assert run.out == ""
    assert "Traceback" not in run.err


def test_several_formats_to_files_in_one_run(kit: Kit, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    run = project(kit).run(
        "gate",
        "-w",
        "bad",
        *AS_OF,
        "--format",
        f"json={out / 'a.json'}",
        "--format",
        f"junit={out / 'a.xml'}",
        "--format",
        f"sarif={out / 'a.sarif'}",
        "--format",
        "text",
    )
    assert run.code == 1
    data = json.loads((out / "a.json").read_text())
    assert data["workflow"]["id"] == "bad"
    assert (out / "a.xml").read_text().startswith("<?xml")
    assert json.loads((out / "a.sarif").read_text())["version"] == "2.1.0"
    # stdout holds the text report only.
    assert run.out.startswith("bad  ")
    assert "<?xml" not in run.out and '"version"' not in run.out


def test_output_writes_exactly_one_format(kit: Kit, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    run = project(kit).run("gate", "-w", "bad", *AS_OF, "--format", "json", "--output", str(target))
    assert run.code == 1
    assert run.out == ""
    assert json.loads(target.read_text())["summary"]["compliant"] is False


def test_output_needs_a_format_without_file(kit: Kit, tmp_path: Path) -> None:
    run = project(kit).run(
        "gate",
        "-w",
        "bad",
        *AS_OF,
        "--format",
        f"json={tmp_path / 'x.json'}",
        "--output",
        str(tmp_path / "y"),
    )
    assert run.code == 2
    assert "--output needs a --format" in run.err


def test_gate_all(kit: Kit) -> None:
    run = project(kit).run("gate", "--all", *AS_OF, "--format", "json")
    assert run.code == 1
    data = json.loads(run.out)
    assert [a["workflow"]["id"] for a in data["assessments"]] == ["bad", "good"]
    assert data["compliant"] is False


def test_json_is_byte_identical_for_the_same_as_of(kit: Kit) -> None:
    project(kit)
    first = kit.run("gate", "--all", *AS_OF, "--format", "json")
    second = kit.run("gate", "--all", *AS_OF, "--format", "json")
    assert first.out == second.out
    assert first.out.encode() == second.out.encode()
    later = kit.run("gate", "--all", "--as-of", "2026-06-02T00:00:00Z", "--format", "json")
    assert later.out != first.out


# --- explain ----------------------------------------------------------------------------


def test_explain_shows_parameters_dependencies_and_verdict(kit: Kit) -> None:
    project(kit)
    run = kit.run("explain", "T-ACK-01", "-w", "good", *AS_OF)
    assert run.code == 0
    assert "T-ACK-01 — Control T-ACK-01" in run.out
    assert "defined at policies/catalog.yaml:" in run.out
    assert "for good: 10m  (from hypercare (high))" in run.out
    assert "PASS:" in run.out
    review_run = kit.run("explain", "T-REV-01", "-w", "bad", *AS_OF)
    assert "Requires: T-ACK-01" in review_run.out
    assert "depends on (at this class): T-ACK-01" in review_run.out
    assert "BLOCKED:" in review_run.out
    bad = kit.run("explain", "T-ACK-01", "-w", "bad", *AS_OF)
    assert "for bad: 15m  (from high)" in bad.out
    assert "FAIL:" in bad.out
    assert "evidence/records.jsonl:3" in bad.out


def test_explain_without_workflow_lists_class_values(kit: Kit) -> None:
    run = project(kit).run("explain", "T-ACK-01")
    assert run.code == 0
    assert "high: 15m" in run.out
    assert "Verdict" not in run.out


def test_explain_unknown_control_exits_2(kit: Kit) -> None:
    run = project(kit).run("explain", "T-NOPE-01")
    assert run.code == 2
    assert "unknown control 'T-NOPE-01'" in run.err


# --- graph ------------------------------------------------------------------------------


def test_graph_tree(kit: Kit) -> None:
    run = project(kit).run("graph")
    assert run.code == 0
    assert run.out == "T-REV-01\n└── T-ACK-01\n"
    with_status = kit.run("graph", "-w", "bad", *AS_OF)
    assert with_status.out == "T-REV-01 [blocked]\n└── T-ACK-01 [fail]\n"


def test_graph_dot(kit: Kit) -> None:
    run = project(kit).run("graph", "--format", "dot", "-w", "bad", *AS_OF)
    assert run.code == 0
    assert run.out.startswith("digraph controls {\n")
    assert '"T-REV-01" -> "T-ACK-01" [style=dashed, color=red];' in run.out
    assert '"T-ACK-01" [fillcolor=salmon, xlabel="fail"];' in run.out
    assert run.out.endswith("}\n")


def test_graph_unknown_format_exits_2(kit: Kit) -> None:
    run = project(kit).run("graph", "--format", "png")
    assert run.code == 2


# --- policy lint and evidence validate --------------------------------------------------


def test_policy_lint_clean_project(kit: Kit) -> None:
    run = project(kit).run("policy", "lint")
    assert run.code == 0
    assert "error[" not in run.out


def test_policy_lint_reports_errors_with_locations(kit: Kit) -> None:
    project(kit)
    text = kit.text("policies/class-high.yaml").replace("- T-REV-01", "- T-NOPE-01")
    kit.write("policies/class-high.yaml", text)
    run = kit.run("policy", "lint")
    assert run.code == 2
    lines = [line for line in (run.out + run.err).splitlines() if "T-NOPE-01" in line]
    assert lines and lines[0].startswith("policies/class-high.yaml:")
    assert "error[UNKNOWN-CONTROL]" in lines[0]


def test_policy_lint_loosening_is_an_error(kit: Kit) -> None:
    project(kit)
    kit.write(
        "policies/class-top.yaml",
        "id: top\ntitle: Top\nlevel: 4\nextends: high\nparams:\n  T-ACK-01: {ack_sla: 1h}\n",
    )
    run = kit.run("policy", "lint")
    assert run.code == 2
    assert "loosens T-ACK-01 ack_sla" in run.out + run.err


def test_evidence_validate(kit: Kit) -> None:
    run = project(kit).run("evidence", "validate")
    assert run.code == 0
    assert run.out.splitlines()[-1] == "1 evidence file, 5 valid records: all valid"


def test_evidence_validate_reports_bad_records(kit: Kit) -> None:
    project(kit)
    kit.write("evidence/bad.jsonl", '{"id": "x", "kind": "incident"}\n')
    run = kit.run("evidence", "validate")
    assert run.code == 2
    assert "evidence/bad.jsonl:1" in run.err
    assert "Traceback" not in run.err
