"""Hostile and broken inputs: every case exits 2 with the exact location, one line per
problem, and never a traceback.

Each case starts from a valid project (checked by ``test_base_project_is_valid``), breaks
one thing, and says where the error must point: the file, and the line and column found
by searching the text the case wrote, so the expectation does not depend on the code
under test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from projectkit import Kit, line_col

CATALOG = """\
catalog: test
version: "1"
controls:
  - id: T-INC-01
    title: Incidents are acknowledged
    intent: Every incident is acknowledged in time.
    severity: high
    mappings: {eu_ai_act: ["Art. 73"]}
    remediation: Acknowledge pages faster.
    evidence: [incident]
    params:
      ack_sla:
        type: duration
        description: Longest time from page to acknowledgement.
        stricter: lower
      min_count:
        type: integer
        description: Fewest incidents expected.
        stricter: higher
    checks:
      - id: acked
        kind: every
        description: Every incident is acknowledged within the SLA.
        evidence: incident
        window: 90d
        assert: 'r.acked_at - r.paged_at <= params.ack_sla'
        allow_empty: true
  - id: T-PM-01
    title: Postmortems
    intent: SEV1 incidents get a postmortem.
    severity: high
    mappings: {eu_ai_act: ["Art. 73"]}
    remediation: Write the postmortem.
    requires: [T-INC-01]
    evidence: [incident, postmortem]
    checks:
      - id: sev1_pm
        kind: covered
        description: Every SEV1 has a postmortem.
        evidence: incident
        where: 'r.severity == "SEV1"'
        by: {evidence: postmortem, key: incident_id}
"""

CLASS = """\
id: high
title: C3 High
level: 3
controls: [T-INC-01, T-PM-01]
params:
  T-INC-01: {ack_sla: 15m, min_count: 1}
"""

WORKFLOW = """\
id: wf
name: Fraud scoring
owner: risk-ml
risk_class: high
launched: 2026-01-05
"""

INCIDENT_FIELDS = (
    '"kind": "incident", "workflow": "wf", "created_at": "2026-05-01T10:00:00Z", '
    '"recorded_by": "bot", "source_uri": "https://x/i", "sha256": "' + "a" * 64 + '", '
    '"severity": "SEV2", "aware_at": "2026-05-01T10:00:00Z", '
    '"paged_at": "2026-05-01T10:00:00Z", "acked_at": "2026-05-01T10:05:00Z", '
    '"owner": "alice", "users_affected": false, "budget_burn_pct": 1.0, '
    '"si_determination": "no", "widespread_infringement": false'
)
JSONL = "".join(f'{{"id": "INC-{n}", {INCIDENT_FIELDS}}}\n' for n in (1, 2, 3))

YAML_RECORD = """\
id: INC-Y
kind: incident
workflow: wf
created_at: 2026-05-02T10:00:00Z
recorded_by: bot
source_uri: https://x/y
sha256: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
severity: SEV2
aware_at: 2026-05-02T10:00:00Z
paged_at: 2026-05-02T10:00:00Z
acked_at: 2026-05-02T10:05:00Z
owner: alice
users_affected: false
budget_burn_pct: 1.0
si_determination: "no"
widespread_infringement: false
"""

JSON_RECORD = "{\n" + INCIDENT_FIELDS.replace(", ", ",\n") + ',\n"id": "INC-J"\n}\n'

WAIVER = """\
id: W-1
workflow: wf
control: T-PM-01
reason: Accepted while the fix is rolled out.
requested_by: alice
approved_by: carol
approved_at: 2026-05-01T00:00:00Z
expires_at: 2026-07-01T00:00:00Z
"""

FILES = {
    "policies/catalog.yaml": CATALOG,
    "policies/high.yaml": CLASS,
    "workflows/wf.yaml": WORKFLOW,
    "waivers/w.yaml": WAIVER,
    "evidence/incidents.jsonl": JSONL,
    "evidence/incident.yaml": YAML_RECORD,
    "evidence/incident.json": JSON_RECORD,
}

GATE = ("gate", "-w", "wf", "--as-of", "2026-06-01T00:00:00Z")
PROBLEM_LINE = re.compile(r"^(?:\S[^\n]*: )?error\[[A-Z0-9-]+\]: \S")
LOCATION = re.compile(r"^([^:\s]+)(?::(\d+))?")


@dataclass(frozen=True)
class Expect:
    """Where the error must point and a fragment of its message."""

    file: str
    line: int | None
    column: int | None
    fragment: str

    def prefix(self) -> str:
        text = self.file
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text


def base(kit: Kit) -> None:
    for rel, text in FILES.items():
        kit.write(rel, text)


def replace(kit: Kit, rel: str, old: str, new: str) -> str:
    """Replace ``old`` (once, must exist) in file ``rel``; return the new text."""
    text = kit.text(rel)
    assert old in text, f"{old!r} not in {rel}"
    text = text.replace(old, new, 1)
    kit.write(rel, text)
    return text


def at(
    rel: str, text: str, needle: str, fragment: str, *, column: bool = True, nth: int = 1
) -> Expect:
    line, col = line_col(text, needle, nth)
    return Expect(rel, line, col if column else None, fragment)


# --- the cases: each breaks the base project and returns where the error must point ----


def malformed_yaml(kit: Kit) -> Expect:
    text = replace(kit, "workflows/wf.yaml", "name: Fraud scoring", "name: Fraud: scoring")
    line, col = line_col(text, ": scoring")
    return Expect("workflows/wf.yaml", line, col, "mapping values are not allowed")


def duplicate_key_policy(kit: Kit) -> Expect:
    text = replace(
        kit,
        "policies/catalog.yaml",
        "    severity: high\n",
        "    severity: high\n    title: Again\n",
    )
    return at("policies/catalog.yaml", text, "title: Again", "duplicate key 'title'")


def duplicate_key_workflow(kit: Kit) -> Expect:
    text = replace(
        kit, "workflows/wf.yaml", "risk_class: high\n", "risk_class: high\nowner: someone\n"
    )
    return at("workflows/wf.yaml", text, "owner: someone", "duplicate key 'owner'")


def duplicate_key_yaml_evidence(kit: Kit) -> Expect:
    text = replace(
        kit, "evidence/incident.yaml", "owner: alice\n", "owner: alice\nseverity: SEV1\n"
    )
    return at("evidence/incident.yaml", text, "severity: SEV1", "duplicate key 'severity'")


def duplicate_key_json_evidence(kit: Kit) -> Expect:
    text = replace(
        kit,
        "evidence/incident.json",
        '"owner": "alice",\n',
        '"owner": "alice",\n"severity": "SEV1",\n',
    )
    return at("evidence/incident.json", text, '"severity": "SEV1"', "duplicate key 'severity'")


def alias_bomb(kit: Kit) -> Expect:
    bomb = "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10))
    text = kit.text("evidence/incident.yaml") + 'l0: &l0 "lol"\n' + bomb
    kit.write("evidence/incident.yaml", text)
    return at("evidence/incident.yaml", text, "&l0", "anchors (&l0) are not allowed")


def merge_key(kit: Kit) -> Expect:
    text = replace(
        kit, "workflows/wf.yaml", "owner: risk-ml\n", "owner: risk-ml\nmetadata:\n  <<: {team: a}\n"
    )
    return at("workflows/wf.yaml", text, "<<", "merge keys (<<) are not allowed")


def huge_file(kit: Kit) -> Expect:
    kit.write("assay.yaml", "max_yaml_bytes: 20000\n")
    filler = "".join(f"# filler line {n:05d} to make the file large\n" for n in range(1000))
    kit.write("evidence/incident.yaml", filler + YAML_RECORD)
    return Expect("evidence/incident.yaml", None, None, "larger than the limit of 20000")


def deep_nesting(kit: Kit) -> Expect:
    # 100 levels of block mappings: the node at depth 65 is the first one refused.
    text = "".join("  " * depth + "a:\n" for depth in range(100)) + "  " * 100 + "b: 1\n"
    kit.write("evidence/deep.yaml", text)
    return Expect("evidence/deep.yaml", 66, 131, "nesting deeper than 64 levels")


def dependency_cycle(kit: Kit) -> Expect:
    text = replace(
        kit,
        "policies/catalog.yaml",
        "    evidence: [incident]\n    params:",
        "    requires: [T-PM-01]\n    evidence: [incident]\n    params:",
    )
    return at(
        "policies/catalog.yaml",
        text,
        "[T-PM-01]",
        "dependency cycle in `requires`: T-INC-01 -> T-PM-01 -> T-INC-01",
    )


def unknown_control_in_class(kit: Kit) -> Expect:
    text = replace(kit, "policies/high.yaml", "T-PM-01]", "T-PM-01, T-NOPE-01]")
    return at("policies/high.yaml", text, "T-NOPE-01", "unknown control 'T-NOPE-01'")


def unknown_control_in_requires(kit: Kit) -> Expect:
    text = replace(
        kit, "policies/catalog.yaml", "requires: [T-INC-01]", "requires: [T-INC-01, T-NOPE-01]"
    )
    return at("policies/catalog.yaml", text, "T-NOPE-01", "unknown control 'T-NOPE-01'")


def unknown_control_in_waiver(kit: Kit) -> Expect:
    text = replace(kit, "waivers/w.yaml", "control: T-PM-01", "control: T-NOPE-01")
    return at("waivers/w.yaml", text, "T-NOPE-01", "unknown control 'T-NOPE-01'")


def unknown_kind_in_evidence(kit: Kit) -> Expect:
    text = replace(kit, "evidence/incident.yaml", "kind: incident", "kind: incidnet")
    return at("evidence/incident.yaml", text, "incidnet", "unknown evidence kind 'incidnet'")


def unknown_kind_in_catalog(kit: Kit) -> Expect:
    text = replace(
        kit,
        "policies/catalog.yaml",
        "evidence: [incident, postmortem]",
        "evidence: [incident, postmortems]",
    )
    return at("policies/catalog.yaml", text, "postmortems", "unknown evidence kind 'postmortems'")


def unknown_risk_class(kit: Kit) -> Expect:
    text = replace(kit, "workflows/wf.yaml", "risk_class: high", "risk_class: hihg")
    return at("workflows/wf.yaml", text, "hihg", "unknown risk class 'hihg'")


def string_for_integer_param(kit: Kit) -> Expect:
    text = replace(kit, "policies/high.yaml", "min_count: 1", "min_count: three")
    return at("policies/high.yaml", text, "three", "expected an integer, got 'three'")


def list_for_mapping(kit: Kit) -> Expect:
    text = replace(
        kit, "workflows/wf.yaml", "owner: risk-ml\n", "owner: risk-ml\nmetadata: [team, repo]\n"
    )
    return at("workflows/wf.yaml", text, "[team, repo]", "dictionary")


def naive_timestamp_yaml(kit: Kit) -> Expect:
    text = replace(
        kit,
        "evidence/incident.yaml",
        "paged_at: 2026-05-02T10:00:00Z",
        "paged_at: 2026-05-02T10:00:00",
    )
    return at("evidence/incident.yaml", text, "2026-05-02T10:00:00\n", "timezone-aware")


def naive_timestamp_jsonl(kit: Kit) -> Expect:
    lines = JSONL.splitlines(keepends=True)
    lines[1] = lines[1].replace(
        '"paged_at": "2026-05-01T10:00:00Z"', '"paged_at": "2026-05-01T10:00:00"'
    )
    kit.write("evidence/incidents.jsonl", "".join(lines))
    return Expect("evidence/incidents.jsonl", 2, None, "timezone-aware")


def bad_duration(kit: Kit) -> Expect:
    text = replace(kit, "policies/high.yaml", "ack_sla: 15m", "ack_sla: 24x")
    return at("policies/high.yaml", text, "24x", "expected a duration like")


def bad_cel_quoted(kit: Kit) -> Expect:
    text = replace(kit, "policies/catalog.yaml", "r.acked_at - r.paged_at <=", "r.acked_at - <=")
    # The parser trips on `<=`: the column must point at it in the file.
    return at("policies/catalog.yaml", text, "<= params.ack_sla", "invalid CEL in `assert`")


def bad_cel_block(kit: Kit) -> Expect:
    text = replace(
        kit,
        "policies/catalog.yaml",
        "        assert: 'r.acked_at - r.paged_at <= params.ack_sla'\n",
        "        assert: >-\n          r.acked_at - <= params.ack_sla\n",
    )
    return at("policies/catalog.yaml", text, "<= params.ack_sla", "invalid CEL in `assert`")


def cel_undeclared_variable(kit: Kit) -> Expect:
    text = replace(kit, "policies/catalog.yaml", "'r.severity == \"SEV1\"'", "'r.severity == sev'")
    return at("policies/catalog.yaml", text, "sev'", "unknown variable 'sev'")


def evidence_for_unknown_workflow(kit: Kit) -> Expect:
    text = replace(kit, "evidence/incident.yaml", "workflow: wf", "workflow: other-wf")
    return at("evidence/incident.yaml", text, "other-wf", "unknown workflow 'other-wf'")


def empty_evidence_folder(kit: Kit) -> Expect:
    for rel in FILES:
        if rel.startswith("evidence/"):
            (kit.root / rel).unlink()
    return Expect("evidence", None, None, "no evidence files found")


def unreadable_file(kit: Kit) -> Expect:
    path = kit.root / "evidence/incidents.jsonl"
    path.chmod(0)
    if os.access(path, os.R_OK):
        # Running as root: permissions do not stop reads. A dangling symlink cannot be
        # read by anyone, so the case still asserts a real refusal.
        path.chmod(0o644)
        path.unlink()
        path.symlink_to(kit.root / "evidence/missing-target.jsonl")
        return Expect("evidence/incidents.jsonl", None, None, "cannot read file")
    return Expect("evidence/incidents.jsonl", None, None, "permission denied")


def invalid_utf8(kit: Kit) -> Expect:
    data = (
        YAML_RECORD.replace("owner: alice", "owner: al\xffice")
        .encode("utf-8")
        .replace(b"\xc3\xbf", b"\xff")
    )
    kit.write("evidence/incident.yaml", data)
    line, column = line_col(YAML_RECORD, "owner: alice")
    # The column of the bad byte: "owner: al" is nine characters.
    return Expect("evidence/incident.yaml", line, column + 9, "not valid UTF-8")


def jsonl_not_json(kit: Kit) -> Expect:
    lines = JSONL.splitlines(keepends=True)
    lines.insert(2, '{"id": "INC-9", "kind": incident}\n')
    text = "".join(lines)
    kit.write("evidence/incidents.jsonl", text)
    return at("evidence/incidents.jsonl", text, "incident}", "invalid JSON")


def unknown_key_workflow(kit: Kit) -> Expect:
    text = replace(kit, "workflows/wf.yaml", "owner: risk-ml", "ownr: risk-ml")
    return at("workflows/wf.yaml", text, "ownr", "unknown key 'ownr' (did you mean 'owner'?)")


def unknown_key_control(kit: Kit) -> Expect:
    text = replace(
        kit,
        "policies/catalog.yaml",
        "    remediation: Write the postmortem.",
        "    remediaton: Write the postmortem.",
    )
    return at(
        "policies/catalog.yaml",
        text,
        "remediaton",
        "unknown key 'remediaton' (did you mean 'remediation'?)",
    )


def unknown_key_evidence(kit: Kit) -> Expect:
    text = replace(kit, "evidence/incident.yaml", "owner: alice", "ownr: alice")
    return at("evidence/incident.yaml", text, "ownr", "unknown key 'ownr' (did you mean 'owner'?)")


CASES: dict[str, Callable[[Kit], Expect]] = {
    fn.__name__: fn
    for fn in (
        malformed_yaml,
        duplicate_key_policy,
        duplicate_key_workflow,
        duplicate_key_yaml_evidence,
        duplicate_key_json_evidence,
        alias_bomb,
        merge_key,
        huge_file,
        deep_nesting,
        dependency_cycle,
        unknown_control_in_class,
        unknown_control_in_requires,
        unknown_control_in_waiver,
        unknown_kind_in_evidence,
        unknown_kind_in_catalog,
        unknown_risk_class,
        string_for_integer_param,
        list_for_mapping,
        naive_timestamp_yaml,
        naive_timestamp_jsonl,
        bad_duration,
        bad_cel_quoted,
        bad_cel_block,
        cel_undeclared_variable,
        evidence_for_unknown_workflow,
        empty_evidence_folder,
        unreadable_file,
        invalid_utf8,
        jsonl_not_json,
        unknown_key_workflow,
        unknown_key_control,
        unknown_key_evidence,
    )
}


def assert_problem_lines(err: str) -> list[str]:
    """Every line of stderr is one located problem; returns the lines."""
    lines = err.splitlines()
    assert lines, "no error printed"
    for line in lines:
        assert PROBLEM_LINE.match(line), f"not a one-line problem report: {line!r}"
    return lines


def test_base_project_is_valid(kit: Kit) -> None:
    base(kit)
    run = kit.run(*GATE)
    assert run.err == ""
    assert run.code in (0, 1)


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_exits_2_with_location(kit: Kit, case: str) -> None:
    base(kit)
    expect = CASES[case](kit)
    run = kit.run(*GATE)
    assert "Traceback" not in run.out + run.err
    assert run.code == 2, run.out + run.err
    lines = assert_problem_lines(run.err)
    matching = [line for line in lines if expect.fragment in line]
    assert matching, f"no line mentions {expect.fragment!r}:\n{run.err}"
    # The location is the exact prefix: file, then line (and column), then a space or
    # " (at /pointer)" — never a nearby line.
    pattern = re.escape(expect.prefix()) + r"(?: \(at [^)]*\))?: error\["
    assert any(re.match(pattern, line) for line in matching), (
        f"expected location {expect.prefix()!r}:\n{run.err}"
    )


def test_naive_as_of_is_a_usage_error(kit: Kit) -> None:
    base(kit)
    run = kit.run("gate", "-w", "wf", "--as-of", "2026-06-01T00:00:00")
    assert "Traceback" not in run.out + run.err
    assert run.code == 2
    (line,) = assert_problem_lines(run.err)
    assert "--as-of" in line and "no timezone" in line
    assert run.out == ""


def test_several_errors_are_all_reported_sorted(kit: Kit) -> None:
    base(kit)
    cls = replace(kit, "policies/high.yaml", "T-PM-01]", "T-PM-01, T-NOPE-01]")
    wf = replace(kit, "workflows/wf.yaml", "owner: risk-ml", "ownr: risk-ml")
    wf = replace(kit, "workflows/wf.yaml", "launched: 2026-01-05", "launched: soon")
    kit.write("workflows/zz.yaml", WORKFLOW.replace("id: wf", "id: wf2").replace("high", "nope"))
    catalog = replace(kit, "policies/catalog.yaml", "T-INC-01]", "T-INC-01, T-GONE-01]")
    run = kit.run(*GATE)
    assert run.code == 2
    assert "Traceback" not in run.out + run.err
    lines = assert_problem_lines(run.err)
    expected = [
        f"policies/catalog.yaml:{line_col(catalog, 'T-GONE-01')[0]}:",
        f"policies/high.yaml:{line_col(cls, 'T-NOPE-01')[0]}:",
        f"workflows/wf.yaml:{line_col(wf, 'ownr')[0]}:",
        f"workflows/wf.yaml:{line_col(wf, 'soon')[0]}:",
        f"workflows/zz.yaml:{line_col(WORKFLOW, 'high')[0]}:",
    ]
    for prefix in expected:
        assert any(line.startswith(prefix) for line in lines), f"{prefix!r} missing:\n{run.err}"
    keys = []
    for line in lines:
        match = LOCATION.match(line)
        assert match, line
        keys.append((match.group(1), int(match.group(2) or 0)))
    assert keys == sorted(keys), f"not sorted by file then line:\n{run.err}"
