"""`assay policy test` on a tiny synthetic policy: base sets, diffs, input errors with
file:line, coverage maths and JUnit output."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped]
from policytest_support import Run
from standards import standards_dir

from assay.authoring.policytest import load_case_file, run_policy_tests
from assay.errors import InputErrors
from assay.formats.policytest import policytest_junit

CATALOG = """
catalog: tiny
version: "1"
controls:
  - id: T-INC-01
    title: Incidents are acknowledged
    intent: Every incident is acknowledged in time.
    severity: high
    mappings: {eu_ai_act: ["Art. 73"]}
    remediation: Fix it.
    evidence: [incident]
    params:
      ack_sla: {type: duration, description: Ack SLA., stricter: lower}
    checks:
      - id: acked_in_time
        kind: every
        description: Every incident is acknowledged within the SLA.
        evidence: incident
        window: 90d
        assert: 'r.acked_at - r.paged_at <= params.ack_sla'
        allow_empty: true
      - id: owned
        kind: every
        description: Every incident has an owner.
        evidence: incident
        window: 90d
        assert: 'r.owner != ""'
        allow_empty: true
  - id: T-PM-01
    title: Postmortems
    intent: SEV1 incidents get a postmortem.
    severity: high
    mappings: {eu_ai_act: ["Art. 73"]}
    remediation: Fix it.
    requires: [T-INC-01]
    evidence: [incident, postmortem]
    checks:
      - id: sev1_postmortem
        kind: covered
        description: Every SEV1 has a postmortem.
        evidence: incident
        where: 'r.severity == "SEV1"'
        window: 90d
        by: {evidence: postmortem, key: incident_id}
"""
CLASS = """
id: high
title: High
level: 3
controls: [T-INC-01, T-PM-01]
params:
  T-INC-01: {ack_sla: 15m}
"""
DEFAULTS = """
defaults:
  workflow: {id: wf, name: Workflow, owner: team, risk_class: high, launched: 2025-01-06}
  as_of: "2026-06-01T00:00:00Z"
  evidence:
    - id: INC-1
      kind: incident
      severity: SEV1
      aware_at: "2026-05-01T10:00:00Z"
      paged_at: "2026-05-01T10:00:00Z"
      acked_at: "2026-05-01T10:05:00Z"
      resolved_at: "2026-05-01T12:00:00Z"
      owner: alice
      users_affected: false
      budget_burn_pct: 1.0
      si_determination: "no"
      widespread_infringement: false
    - id: PM-1
      kind: postmortem
      incident_id: INC-1
      published_at: "2026-05-03T10:00:00Z"
      blameless: true
      root_causes: [cause]
      actions: []
"""


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    folder = tmp_path / "pol"
    (folder / "tests").mkdir(parents=True)
    (folder / "catalog.yaml").write_text(CATALOG.lstrip(), encoding="utf-8")
    (folder / "high.yaml").write_text(CLASS.lstrip(), encoding="utf-8")
    return folder


def write_cases(policies: Path, body: str, name: str = "tiny.test.yaml") -> Path:
    path = policies / "tests" / name
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


GOOD = (
    DEFAULTS
    + """
cases:
  - name: base passes
    expect: {T-INC-01: pass, T-PM-01: pass}
  - name: slow ack fails and blocks postmortems
    evidence:
      - {id: INC-1, acked_at: "2026-05-01T11:00:00Z"}
    expect: {T-INC-01: fail, T-PM-01: blocked}
    expect_findings:
      T-INC-01: ["acked_in_time: incident INC-1"]
  - name: missing postmortem fails
    remove: [PM-1]
    expect: {T-INC-01: pass, T-PM-01: fail}
"""
)


def test_passing_suite_exits_0_and_prints_one_line_per_case(
    run_cli: Callable[..., Run], policies: Path
) -> None:
    write_cases(policies, GOOD)
    run = run_cli(str(policies))
    assert run.code == 0, run.out + run.err
    lines = run.out.splitlines()
    shown = f"{policies.as_posix()}/tests/tiny.test.yaml"
    assert lines[:3] == [
        f"PASS {shown}::base passes",
        f"PASS {shown}::slow ack fails and blocks postmortems",
        f"PASS {shown}::missing postmortem fails",
    ]
    assert lines[-1] == "3 passed, 0 failed"


def test_wrong_expectation_exits_1_with_a_readable_diff(
    run_cli: Callable[..., Run], policies: Path
) -> None:
    path = write_cases(
        policies,
        DEFAULTS
        + """
cases:
  - name: wrongly expects a pass
    evidence:
      - {id: INC-1, acked_at: "2026-05-01T11:00:00Z"}
    expect: {T-INC-01: pass, T-PM-01: pass}
  - name: still right
    expect: {T-INC-01: pass}
""",
    )
    run = run_cli(str(policies))
    assert run.code == 1, run.out + run.err
    out = run.out
    assert "FAIL " in out and "::wrongly expects a pass" in out
    assert "PASS " in out and "::still right" in out
    line = path.read_text().splitlines().index("  - name: wrongly expects a pass") + 1
    assert f"tiny.test.yaml:{line}" in out
    rows = [" ".join(row.split()) for row in out.splitlines()]
    assert "control expected actual" in rows
    assert "T-INC-01 pass fail" in rows
    assert "T-PM-01 pass blocked" in rows
    assert any(row.startswith("- acked_in_time: incident INC-1") for row in rows), (
        "the failing finding is shown"
    )
    assert out.rstrip().endswith("1 passed, 1 failed")


def test_missing_finding_text_fails_the_case(run_cli: Callable[..., Run], policies: Path) -> None:
    write_cases(
        policies,
        DEFAULTS
        + """
cases:
  - name: expects a finding that is not there
    evidence:
      - {id: INC-1, acked_at: "2026-05-01T11:00:00Z"}
    expect: {T-INC-01: fail}
    expect_findings:
      T-INC-01: ["no such words"]
""",
    )
    run = run_cli(str(policies))
    assert run.code == 1
    assert "T-INC-01: no finding contains 'no such words'" in run.out


def test_malformed_case_file_exits_2_with_file_and_line(
    run_cli: Callable[..., Run], policies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(policies.parent)
    path = write_cases(
        policies,
        DEFAULTS
        + """
cases:
  - name: misspelled key
    expct: {T-INC-01: pass}
  - name: bad status
    expect: {T-INC-01: passed}
""",
    )
    run = run_cli(str(policies))
    assert run.code == 2
    text = path.read_text().splitlines()
    key_line = text.index("    expct: {T-INC-01: pass}") + 1
    status_line = text.index("    expect: {T-INC-01: passed}") + 1
    assert f"pol/tests/tiny.test.yaml:{key_line}:5 " in run.err
    assert "error[SCHEMA]: unknown key 'expct' (did you mean 'expect'?)" in run.err
    assert f"pol/tests/tiny.test.yaml:{status_line}:" in run.err  # the bad status, too
    assert "got 'passed'" in run.err
    assert "Traceback" not in run.err


def test_bad_evidence_is_reported_at_its_line_in_the_test_file(
    run_cli: Callable[..., Run], policies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(policies.parent)
    path = write_cases(
        policies,
        DEFAULTS
        + """
cases:
  - name: good
    expect: {T-INC-01: pass}
  - name: bad severity
    evidence:
      - {id: INC-1, severity: SEV9}
    expect: {T-INC-01: pass}
""",
    )
    run = run_cli(str(policies))
    assert run.code == 2, run.out + run.err
    text = path.read_text().splitlines()
    patch_line = text.index("      - {id: INC-1, severity: SEV9}") + 1
    errors = [line for line in run.err.splitlines() if "error[" in line]
    assert len(errors) == 1, run.err
    assert errors[0].startswith(f"pol/tests/tiny.test.yaml:{patch_line}:")
    assert "severity" in errors[0]
    assert "Traceback" not in run.err


def test_removing_an_unknown_record_is_an_input_error(
    run_cli: Callable[..., Run], policies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(policies.parent)
    path = write_cases(
        policies,
        DEFAULTS
        + """
cases:
  - name: unknown removal
    remove: [PM-404]
    expect: {T-INC-01: pass}
""",
    )
    run = run_cli(str(policies))
    assert run.code == 2
    remove_line = path.read_text().splitlines().index("    remove: [PM-404]") + 1
    assert f"pol/tests/tiny.test.yaml:{remove_line}:" in run.err
    assert "no base record has id 'PM-404'" in run.err


def test_patch_keeps_the_rest_of_the_base_record(policies: Path) -> None:
    path = write_cases(policies, GOOD)
    cases = {c.name: c for c in load_case_file(path)}
    base = {r.data["id"]: r.data for r in cases["base passes"].records}
    patched = {r.data["id"]: r.data for r in cases["slow ack fails and blocks postmortems"].records}
    assert patched["INC-1"]["acked_at"] == "2026-05-01T11:00:00Z"
    assert {k: v for k, v in patched["INC-1"].items() if k != "acked_at"} == {
        k: v for k, v in base["INC-1"].items() if k != "acked_at"
    }
    assert base["INC-1"]["workflow"] == "wf"  # envelope filled in
    assert base["INC-1"]["created_at"] == "2026-05-01T10:00:00Z"  # from the time field
    assert "PM-1" not in {r.data["id"] for r in cases["missing postmortem fails"].records}


def test_repeat_expands_a_series(policies: Path) -> None:
    path = write_cases(
        policies,
        """
        - name: series
          workflow: {id: wf, name: W, owner: team, risk_class: high, launched: 2025-01-06}
          as_of: "2026-06-01T00:00:00Z"
          evidence:
            - id: run-{n}
              kind: drift_log
              run_at: "2026-05-01T00:00:00Z"
              metric: psi
              value: 0.1
              threshold: 0.2
              breach: false
              repeat: {count: 12, every: 1h}
          expect: {T-INC-01: pass}
        """,
    )
    (case,) = load_case_file(path)
    ids = [r.data["id"] for r in case.records]
    assert ids == [f"run-{n:02d}" for n in range(12)]
    assert case.records[11].data["run_at"] == "2026-05-01T11:00:00Z"
    assert case.records[11].data["created_at"] == "2026-05-01T11:00:00Z"


def test_repeat_needs_n_in_the_id(policies: Path) -> None:
    path = write_cases(
        policies,
        """
        - name: series
          workflow: {id: wf, name: W, owner: team, risk_class: high, launched: 2025-01-06}
          as_of: "2026-06-01T00:00:00Z"
          evidence:
            - {id: run, kind: drift_log, run_at: "2026-05-01T00:00:00Z", repeat: {count: 2, every: 1h}}
          expect: {T-INC-01: pass}
        """,
    )
    with pytest.raises(InputErrors) as info:
        load_case_file(path)
    assert "must contain {n}" in str(info.value)
    assert ":5:" in str(info.value)


def test_coverage_counts_asserted_states_of_controls_and_checks(policies: Path) -> None:
    write_cases(policies, GOOD)
    suite = run_policy_tests(policies)
    cov = suite.coverage
    # T-INC-01 seen pass and fail; T-PM-01 pass and fail (the blocked case does not count).
    assert cov.controls == {
        "T-INC-01": frozenset({"pass", "fail"}),
        "T-PM-01": frozenset({"pass", "fail"}),
    }
    assert cov.control_pairs == (4, 4)
    assert cov.control_percent == 100.0
    # `owned` never failed: 5 of 6 (check, state) pairs.
    assert cov.checks[("T-INC-01", "owned")] == frozenset({"pass"})
    assert cov.check_pairs == (5, 6)
    assert cov.uncovered_checks() == [("T-INC-01/owned", ["fail"])]


def test_coverage_ignores_unasserted_controls_and_failing_cases(
    run_cli: Callable[..., Run], policies: Path
) -> None:
    write_cases(
        policies,
        DEFAULTS
        + """
cases:
  - name: asserts only INC
    expect: {T-INC-01: pass}
  - name: a failing case covers nothing
    remove: [PM-1]
    expect: {T-PM-01: pass}
""",
    )
    suite = run_policy_tests(policies)
    assert suite.coverage.controls == {
        "T-INC-01": frozenset({"pass"}),
        "T-PM-01": frozenset(),
    }
    assert suite.coverage.control_percent == 25.0
    assert suite.exit_code() == 1


def test_min_coverage_fails_below_the_threshold(
    run_cli: Callable[..., Run], policies: Path
) -> None:
    write_cases(
        policies,
        DEFAULTS
        + """
cases:
  - name: only the passing states
    expect: {T-INC-01: pass, T-PM-01: pass}
""",
    )
    assert run_cli(str(policies), "--min-coverage", "50").code == 0
    run = run_cli(str(policies), "--min-coverage", "50.1")
    assert run.code == 1
    assert "uncovered control T-INC-01: no case asserts it in a fail state" in run.out
    assert "control coverage 50.0% is below --min-coverage 50.1%" in run.out
    assert run.out.rstrip().endswith("1 passed, 0 failed")


def test_junit_report_of_a_failing_run_is_valid(policies: Path) -> None:
    write_cases(
        policies,
        DEFAULTS
        + """
cases:
  - name: wrong <expectation> & more
    remove: [PM-1]
    expect: {T-PM-01: pass}
  - name: right
    expect: {T-PM-01: pass}
""",
    )
    xml = policytest_junit(run_policy_tests(policies))
    doc = etree.fromstring(xml.encode())
    assert doc.get("tests") == "2" and doc.get("failures") == "1"
    failure = doc.find(".//testcase[@name='wrong <expectation> & more']/failure")
    assert failure is not None
    assert failure.get("message") == "T-PM-01: expected pass, got fail"
    assert doc.find(".//testcase[@name='right']/failure") is None
    xsd = etree.XMLSchema(etree.parse(str(standards_dir() / "jenkins-xunit-junit-10.xsd")))
    assert xsd.validate(doc), xsd.error_log.last_error


def test_no_cases_is_an_input_error(run_cli: Callable[..., Run], policies: Path) -> None:
    run = run_cli(str(policies))
    assert run.code == 2
    assert "no test cases found" in run.err


def test_broken_policy_is_reported_once_at_its_own_path(
    run_cli: Callable[..., Run], policies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(policies.parent)
    write_cases(policies, GOOD)
    (policies / "high.yaml").write_text(CLASS.replace("ack_sla: 15m", "ack_sla: soon"))
    run = run_cli(str(policies))
    assert run.code == 2
    errors = [line for line in run.err.splitlines() if "error[" in line]
    assert len(errors) == 1, run.err
    assert errors[0].startswith("pol/high.yaml:")
