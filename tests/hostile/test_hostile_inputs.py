"""Hostile and broken inputs, in one table: each case breaks one thing of a valid project
and says what must happen — the exit code (2 for an input error: the gate fails closed;
1 where the input is usable but must not pass), where the error points (file, then line
and column found by searching the text the case wrote, so the expectation does not depend
on the code under test) and a fragment of the message. No case may end in a traceback or
in the catch-all ``internal error`` line (reaching it is a bug), and none may quote a byte
of a file outside the project.

The cases follow issue 8: fail-open inputs (duplicate keys, coerced booleans, ambiguous
aliases, records from the future, look-alike identities), crashes without a location
(YAML constructors, JSON edge cases, overflows) and resources (bounded reads, the project
boundary, ids that name files, CEL size and cost).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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
    """Where the error must point and a fragment of its message; for a case that must end
    non-compliant (exit 1), the fragment is looked for in the report instead."""

    file: str
    line: int | None
    column: int | None
    fragment: str
    exit: int = 2
    argv: tuple[str, ...] = field(default=GATE)

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


# --- issue 8: fail-open inputs (each must end exit 2, or non-compliant, never 0) ------

SEV1_LATE = (
    '{"id": "INC-S1", "kind": "incident", "workflow": "wf", "created_at": "2026-05-10T10:00:00Z", '
    '"recorded_by": "bot", "source_uri": "https://x/s1", "sha256": "' + "a" * 64 + '", '
    '"severity": "SEV1", "aware_at": "2026-05-10T10:00:00Z", '
    '"paged_at": "2026-05-10T10:00:00Z", "acked_at": "2026-05-10T11:00:00Z", '
    '"owner": "alice", "users_affected": true, "budget_burn_pct": 1.0, '
    '"si_determination": "no", "widespread_infringement": false}\n'
)
"""A SEV1 acknowledged an hour late: fails T-INC-01 (15 minutes) and, with no postmortem,
T-PM-01 (whose waiver the base project holds)."""


def jsonl_duplicate_key_hides_failure(kit: Kit) -> Expect:
    # Last wins would read the on-time acknowledgement and pass T-INC-01.
    line = SEV1_LATE.replace(
        '"acked_at": "2026-05-10T11:00:00Z"',
        '"acked_at": "2026-05-10T11:00:00Z", "acked_at": "2026-05-10T10:05:00Z"',
    )
    text = kit.text("evidence/incidents.jsonl") + line
    kit.write("evidence/incidents.jsonl", text)
    return at(
        "evidence/incidents.jsonl",
        text,
        '"acked_at": "2026-05-10T10:05',
        "duplicate key 'acked_at'",
    )


def jsonl_duplicate_key_compact(kit: Kit) -> Expect:
    line = SEV1_LATE.replace(", ", ",").replace(": ", ":")
    line = line.replace('"users_affected":true', '"users_affected":true,"users_affected":false')
    text = kit.text("evidence/incidents.jsonl") + line
    kit.write("evidence/incidents.jsonl", text)
    return at(
        "evidence/incidents.jsonl", text, '"users_affected":false', "duplicate key 'users_affected'"
    )


def jsonl_duplicate_key_null_first(kit: Kit) -> Expect:
    line = SEV1_LATE.replace(
        '"owner": "alice"',
        '"resolved_at": null, "owner": "alice", "resolved_at": "2026-05-10T12:00:00Z"',
    )
    text = kit.text("evidence/incidents.jsonl") + line
    kit.write("evidence/incidents.jsonl", text)
    return at(
        "evidence/incidents.jsonl", text, '"resolved_at": "2026', "duplicate key 'resolved_at'"
    )


def json_duplicate_key_in_list(kit: Kit) -> Expect:
    records = "[\n" + JSON_RECORD.replace('"id": "INC-J"', '"id": "INC-J", "id": "INC-K"') + "]\n"
    kit.write("evidence/incident.json", records)
    return at("evidence/incident.json", records, '"id": "INC-K"', "duplicate key 'id'")


def string_yes_for_typed_boolean(kit: Kit) -> Expect:
    text = replace(
        kit,
        "workflows/wf.yaml",
        "owner: risk-ml\n",
        "owner: risk-ml\nmetadata:\n  decides_about_people: yes\n",
    )
    return at("workflows/wf.yaml", text, "yes", "expected true or false")


def quoted_off_for_boolean(kit: Kit) -> Expect:
    text = replace(
        kit, "workflows/wf.yaml", "owner: risk-ml\n", "owner: risk-ml\neu_scope: 'off'\n"
    )
    return at("workflows/wf.yaml", text, "'off'", "expected true or false")


def yaml_1_1_sexagesimal_integer(kit: Kit) -> Expect:
    text = replace(kit, "policies/high.yaml", "min_count: 1", "min_count: 190:20:30")
    return at("policies/high.yaml", text, "190:20:30", "expected an integer, got '190:20:30'")


def yaml_1_1_binary_integer(kit: Kit) -> Expect:
    text = replace(kit, "policies/high.yaml", "min_count: 1", "min_count: 0b1010")
    return at("policies/high.yaml", text, "0b1010", "expected an integer, got '0b1010'")


def yaml_1_1_underscore_integer(kit: Kit) -> Expect:
    text = replace(kit, "policies/high.yaml", "level: 3", "level: 12_000")
    return at("policies/high.yaml", text, "12_000", "expected an integer")


def quoted_number_for_integer(kit: Kit) -> Expect:
    text = replace(kit, "policies/high.yaml", "level: 3", 'level: "3"')
    return at("policies/high.yaml", text, '"3"', "expected an integer")


def applies_if_on_untyped_metadata_applies(kit: Kit) -> Expect:
    # `"yes" == true` is false in CEL: deciding on the untyped value would make T-INC-01
    # not applicable and hide the late acknowledgement. The control applies, and says why.
    replace(
        kit,
        "policies/catalog.yaml",
        "    evidence: [incident]\n    params:",
        "    applies_if: workflow.metadata.customer_facing == true\n    evidence: [incident]\n    params:",
    )
    replace(
        kit,
        "workflows/wf.yaml",
        "owner: risk-ml\n",
        "owner: risk-ml\nmetadata:\n  customer_facing: 'yes'\n",
    )
    kit.write("evidence/incidents.jsonl", kit.text("evidence/incidents.jsonl") + SEV1_LATE)
    return Expect(
        "",
        None,
        None,
        "applies_if cannot be decided on typed workflow fields",
        exit=1,
        argv=(*GATE, "--format", "json"),
    )


def applies_if_that_fails_applies(kit: Kit) -> Expect:
    replace(
        kit,
        "policies/catalog.yaml",
        "    evidence: [incident]\n    params:",
        "    applies_if: workflow.role.startsWith(1)\n    evidence: [incident]\n    params:",
    )
    kit.write("evidence/incidents.jsonl", kit.text("evidence/incidents.jsonl") + SEV1_LATE)
    return Expect(
        "",
        None,
        None,
        "applies_if could not be evaluated",
        exit=1,
        argv=(*GATE, "--format", "json"),
    )


def ambiguous_class_alias(kit: Kit) -> Expect:
    replace(kit, "policies/high.yaml", "level: 3\n", "level: 3\naliases: [C3]\n")
    other = CLASS.replace("id: high", "id: lenient").replace("level: 3", "level: 2\naliases: [C3]")
    other = other.replace("controls: [T-INC-01, T-PM-01]", "controls: [T-INC-01]")
    kit.write("policies/lenient.yaml", other)
    replace(kit, "workflows/wf.yaml", "risk_class: high", "risk_class: C3")
    return at(
        "policies/high.yaml", kit.text("policies/high.yaml"), "C3",
        "claimed by more than one risk class: high (policies/high.yaml:", nth=2,
    )  # fmt: skip


def alias_equal_to_another_class_id(kit: Kit) -> Expect:
    other = CLASS.replace("id: high", "id: lenient").replace(
        "level: 3", "level: 2\naliases: [high]"
    )
    kit.write("policies/lenient.yaml", other)
    text = kit.text("policies/lenient.yaml")
    return at(
        "policies/lenient.yaml", text, "[high]", "claimed by more than one risk class", column=False
    )


def record_from_the_future(kit: Kit) -> Expect:
    future = SEV1_LATE.replace(
        '"created_at": "2026-05-10T10:00:00Z"', '"created_at": "2099-01-01T00:00:00Z"'
    )
    text = kit.text("evidence/incidents.jsonl") + future
    kit.write("evidence/incidents.jsonl", text)
    return Expect("evidence/incidents.jsonl", text.count("\n"), None, "lies in the future")


def confusable_approver(kit: Kit) -> Expect:
    # Cyrillic а in the approver: one person approving their own waiver of T-PM-01.
    replace(kit, "waivers/w.yaml", "requested_by: alice", "requested_by: ahmed.khan")
    replace(kit, "waivers/w.yaml", "approved_by: carol", "approved_by: \u0430hmed.khan")
    kit.write("evidence/incidents.jsonl", kit.text("evidence/incidents.jsonl") + SEV1_LATE)
    return Expect("", None, None, "approved_by mixes scripts (Cyrillic, Latin)", exit=1)


def full_width_same_person(kit: Kit) -> Expect:
    replace(kit, "waivers/w.yaml", "requested_by: alice", "requested_by: Carol")
    replace(
        kit, "waivers/w.yaml", "approved_by: carol", "approved_by: \uff43\uff41\uff52\uff4f\uff4c"
    )
    kit.write("evidence/incidents.jsonl", kit.text("evidence/incidents.jsonl") + SEV1_LATE)
    return Expect("", None, None, "approved_by must differ from requested_by", exit=1)


def bidi_override_identity(kit: Kit) -> Expect:
    replace(kit, "waivers/w.yaml", "approved_by: carol", "approved_by: car\u202eol")
    kit.write("evidence/incidents.jsonl", kit.text("evidence/incidents.jsonl") + SEV1_LATE)
    return Expect("", None, None, "U+202E", exit=1)


# --- crashes without a location: YAML constructors, in every YAML input ----------------


def _yaml_value(
    rel: str, old: str, new: str, needle: str, fragment: str
) -> Callable[[Kit], Expect]:
    def case(kit: Kit) -> Expect:
        text = replace(kit, rel, old, new)
        return at(rel, text, needle, fragment)

    return case


YAML_CONSTRUCTOR_CASES = {
    "impossible_date": (
        "workflows/wf.yaml",
        "launched: 2026-01-05",
        "launched: 2026-02-30",
        "2026-02-30",
        "day is out of range",
    ),
    "hour_24": (
        "evidence/incident.yaml",
        "acked_at: 2026-05-02T10:05:00Z",
        "acked_at: 2026-05-02T24:00:00Z",
        "2026-05-02T24",
        "hour must be in 0..23",
    ),
    "minute_60": (
        "evidence/incident.yaml",
        "acked_at: 2026-05-02T10:05:00Z",
        "acked_at: 2026-05-02T12:60:00Z",
        "2026-05-02T12:60",
        "minute must be in 0..59",
    ),
    "offset_25h": (
        "waivers/w.yaml",
        "approved_at: 2026-05-01T00:00:00Z",
        "approved_at: 2026-05-01T00:00:00+25:00",
        "2026-05-01T00:00:00+25",
        "less than 24 hours",
    ),
    "year_0": (
        "workflows/wf.yaml",
        "launched: 2026-01-05",
        "launched: 0000-01-05",
        "0000-01-05",
        "year 0 is out of range",
    ),
    "huge_integer": (
        "policies/high.yaml",
        "min_count: 1",
        "min_count: " + "9" * 4400,
        "9999",
        "integer out of range",
    ),
    "tag_float_text": (
        "policies/high.yaml",
        "level: 3",
        "level: !!float x",
        "!!float",
        "expected a decimal number",
    ),
    "tag_int_text": (
        "policies/high.yaml",
        "level: 3",
        "level: !!int x",
        "!!int",
        "expected a decimal integer",
    ),
    "tag_timestamp_month_13": (
        "workflows/wf.yaml",
        "launched: 2026-01-05",
        "launched: !!timestamp 2026-13-01",
        "!!timestamp",
        "month must be in 1..12",
    ),
    "tag_binary": (
        "workflows/wf.yaml",
        "name: Fraud scoring",
        "name: !!binary aGVsbG8=",
        "!!binary",
        "!!binary is not allowed",
    ),
    "tag_python": (
        "workflows/wf.yaml",
        "name: Fraud scoring",
        "name: !!python/object:os.system x",
        "!!python",
        "is not allowed",
    ),
    "yaml_nan": (
        "evidence/incident.yaml",
        "budget_burn_pct: 1.0",
        "budget_burn_pct: .nan",
        ".nan",
        "numbers must be finite",
    ),
    "yaml_inf_threshold": (
        "policies/catalog.yaml",
        'severity: high\n    mappings: {eu_ai_act: ["Art. 73"]}\n    remediation: Acknowledge',
        'severity: high\n    mappings: {eu_ai_act: ["Art. 73"]}\n    remediation: Acknowledge',
        "severity",
        "x",
    ),
}
del YAML_CONSTRUCTOR_CASES["yaml_inf_threshold"]


def yaml_lone_surrogate(kit: Kit) -> Expect:
    text = replace(kit, "evidence/incident.yaml", "owner: alice", 'owner: "al\\ud800ice"')
    return at(
        "evidence/incident.yaml", text, '"al', "invalid Unicode character escape", column=False
    )


def nul_byte_in_yaml(kit: Kit) -> Expect:
    text = replace(kit, "workflows/wf.yaml", "name: Fraud scoring", "name: Fraud\x00scoring")
    return at("workflows/wf.yaml", text, "\x00", "U+0000 is not allowed")


def constructor_error_in_front_matter(kit: Kit) -> Expect:
    doc = "---\n" + YAML_RECORD.replace("kind: incident", "kind: postmortem").split("severity:")[0]
    doc += "incident_id: INC-1\npublished_at: 2026-05-03T25:00:00Z\nblameless: true\n---\nBody.\n"
    kit.write("evidence/pm.md", doc)
    return at("evidence/pm.md", doc, "2026-05-03T25", "hour must be in 0..23")


def constructor_error_in_config(kit: Kit) -> Expect:
    kit.write("assay.yaml", "max_yaml_bytes: !!int 5_000\n")
    return Expect("assay.yaml", 1, 17, "expected a decimal integer")


def quoted_string_for_config_integer(kit: Kit) -> Expect:
    kit.write("assay.yaml", 'max_yaml_bytes: "5000"\n')
    return Expect("assay.yaml", 1, 17, "expected an integer")


def empty_workflow_file(kit: Kit) -> Expect:
    kit.write("workflows/empty.yaml", "")
    return Expect("workflows/empty.yaml", 1, 1, "the file is empty")


def folder_name_too_long(kit: Kit) -> Expect:
    name = "e" * 300
    kit.write("assay.yaml", f"evidence: [{name}]\n")
    return Expect(name, None, None, "too long")


# --- crashes without a location: JSON ---------------------------------------------------


def _json_with(kit: Kit, old: str, new: str) -> str:
    text = JSON_RECORD.replace(old, new, 1)
    assert text != JSON_RECORD
    kit.write("evidence/incident.json", text)
    return text


def json_5000_digit_integer(kit: Kit) -> Expect:
    text = _json_with(kit, '"budget_burn_pct": 1.0', '"budget_burn_pct": ' + "7" * 5000)
    return Expect("evidence/incident.json", line_col(text, "7777")[0], None, "invalid JSON")


def json_deep_nesting(kit: Kit) -> Expect:
    kit.write("evidence/incident.json", "[" * 100_000 + "]" * 100_000)
    return Expect("evidence/incident.json", 1, 65, "nesting deeper than 64 levels")


def json_nesting_inside_a_record(kit: Kit) -> Expect:
    text = _json_with(kit, '"owner": "alice"', '"owner": ' + "[" * 70 + "1" + "]" * 70)
    line, column = line_col(text, '"owner": [')
    # The record's own `{` is the first level: the 64th `[` is the 65th level.
    return Expect("evidence/incident.json", line, column + 9 + 63, "nesting deeper than 64 levels")


def json_lone_surrogate_in_timestamp(kit: Kit) -> Expect:
    text = _json_with(kit, '"paged_at": "2026-05-01T10:00:00Z"', '"paged_at": "\\ud800"')
    return Expect("evidence/incident.json", line_col(text, "\\ud800")[0], None, "invalid JSON")


def json_lone_surrogate_in_text(kit: Kit) -> Expect:
    text = _json_with(kit, '"owner": "alice"', '"owner": "al\\udc00ice"')
    return Expect("evidence/incident.json", line_col(text, "\\udc00")[0], None, "invalid JSON")


def json_nan(kit: Kit) -> Expect:
    text = _json_with(kit, '"budget_burn_pct": 1.0', '"budget_burn_pct": NaN')
    return at("evidence/incident.json", text, "NaN", "invalid JSON")


def json_infinity(kit: Kit) -> Expect:
    text = _json_with(kit, '"budget_burn_pct": 1.0', '"budget_burn_pct": -Infinity')
    return at("evidence/incident.json", text, "Infinity", "invalid JSON")


def json_1e999(kit: Kit) -> Expect:
    text = _json_with(kit, '"budget_burn_pct": 1.0', '"budget_burn_pct": 1e999')
    return Expect("evidence/incident.json", line_col(text, "1e999")[0], None, "invalid JSON")


def jsonl_nan(kit: Kit) -> Expect:
    lines = JSONL.splitlines(keepends=True)
    lines[1] = lines[1].replace('"budget_burn_pct": 1.0', '"budget_burn_pct": NaN')
    text = "".join(lines)
    kit.write("evidence/incidents.jsonl", text)
    return at("evidence/incidents.jsonl", text, "NaN", "invalid JSON")


def jsonl_deep_nesting(kit: Kit) -> Expect:
    text = JSONL + "[" * 5000 + "]" * 5000 + "\n"
    kit.write("evidence/incidents.jsonl", text)
    return Expect("evidence/incidents.jsonl", 4, 65, "nesting deeper than 64 levels")


def json_not_utf8(kit: Kit) -> Expect:
    data = JSON_RECORD.replace('"owner": "alice"', '"owner": "al\xffice"').encode("utf-8")
    data = data.replace(b"\xc3\xbf", b"\xff")
    kit.write("evidence/incident.json", data)
    line, column = line_col(JSON_RECORD, '"owner": "alice"')
    return Expect("evidence/incident.json", line, column + 12, "not valid UTF-8")


def record_id_with_bidi_override(kit: Kit) -> Expect:
    text = replace(kit, "evidence/incident.yaml", "id: INC-Y", "id: INC-\u202eY")
    return at(
        "evidence/incident.yaml", text, "INC-\u202e", "no control, invisible or bidirectional"
    )


# --- overflow and bounds ---------------------------------------------------------------


def far_future_resolution(kit: Kit) -> Expect:
    text = replace(
        kit,
        "evidence/incident.yaml",
        "owner: alice",
        "owner: alice\nresolved_at: 9999-12-31T23:00:00Z",
    )
    return Expect(
        "evidence/incident.yaml",
        line_col(text, "id: INC-Y")[0],
        None,
        "resolved_at lies after 9000-01-01",
    )


def window_too_long(kit: Kit) -> Expect:
    text = replace(kit, "policies/catalog.yaml", "window: 90d", "window: 99999999999d")
    return at("policies/catalog.yaml", text, "99999999999d", "a duration can be at most 36600d")


def business_days_too_many(kit: Kit) -> Expect:
    text = replace(kit, "policies/catalog.yaml", "window: 90d", "window: 2500000bd")
    return at("policies/catalog.yaml", text, "2500000bd", "a duration can be at most")


def hypercare_days_too_many(kit: Kit) -> Expect:
    text = kit.text("policies/high.yaml") + "hypercare:\n  days: 999999999999\n"
    kit.write("policies/high.yaml", text)
    return at("policies/high.yaml", text, "999999999999", "at most 36600 days")


def zero_rate_period(kit: Kit) -> Expect:
    text = replace(
        kit,
        "policies/catalog.yaml",
        "        allow_empty: true\n",
        "        allow_empty: true\n      - id: rate\n        kind: aggregate\n"
        "        description: Incidents per period.\n        evidence: incident\n"
        "        window: 30d\n        function: rate\n        per: 0d\n        op: '<='\n"
        "        threshold: 5\n        allow_empty: true\n",
    )
    return at(
        "policies/catalog.yaml", text, "per: 0d", "`per` must be longer than zero", column=False
    )


def as_of_year_1(kit: Kit) -> Expect:
    return Expect(
        "",
        None,
        None,
        "outside the supported range",
        argv=("gate", "-w", "wf", "--as-of", "0001-01-01T00:00:00Z"),
    )


def cel_huge_expression(kit: Kit) -> Expect:
    big = " + ".join(["r.budget_burn_pct"] * 2000)
    text = replace(
        kit,
        "policies/catalog.yaml",
        "'r.acked_at - r.paged_at <= params.ack_sla'",
        f"'{big} >= 0.0'",
    )
    return at("policies/catalog.yaml", text, "r.budget_burn_pct +", "characters long; at most 4096")


def cel_deep_sum(kit: Kit) -> Expect:
    deep = "+".join(["1"] * 150)  # 299 nodes, but 150 levels deep
    text = replace(
        kit, "policies/catalog.yaml", "'r.acked_at - r.paged_at <= params.ack_sla'", f"'{deep} > 0'"
    )
    return at("policies/catalog.yaml", text, "1+1", "operators nested")


def cel_quadratic_cost(kit: Kit) -> Expect:
    items = ", ".join(["1"] * 300)
    expr = f"[{items}].all(x, [{items}].exists(y, [{items}].exists(z, x == y)))"
    text = replace(
        kit, "policies/catalog.yaml", "'r.acked_at - r.paged_at <= params.ack_sla'", f"'{expr}'"
    )
    return at("policies/catalog.yaml", text, "[1, 1", "steps per record")


# --- resources and the project boundary ---------------------------------------------------


SECRET = "ghp_THIS-IS-A-SECRET-TOKEN-7f3a"


def symlink_to_outside_secret(kit: Kit) -> Expect:
    secret = kit.root.parent / "git-credentials"
    secret.write_text(f"https://user:{SECRET}@github.example\n", encoding="utf-8")
    (kit.root / "workflows/creds.yaml").symlink_to(secret)
    return Expect("workflows/creds.yaml", None, None, "leads outside the project folder")


def symlink_to_etc_passwd(kit: Kit) -> Expect:
    (kit.root / "evidence/passwd.yaml").symlink_to("/etc/passwd")
    return Expect("evidence/passwd.yaml", None, None, "leads outside the project folder")


def symlink_to_dev_zero(kit: Kit) -> Expect:
    (kit.root / "evidence/zero.jsonl").symlink_to("/dev/zero")
    return Expect("evidence/zero.jsonl", None, None, "leads outside the project folder")


def dev_zero_in_an_allowed_folder(kit: Kit) -> Expect:
    kit.write("assay.yaml", "outside_folders: [/dev]\n")
    (kit.root / "evidence/zero.jsonl").symlink_to("/dev/zero")
    return Expect(
        "evidence/zero.jsonl", None, None, "expected a regular file, found a character device"
    )


def fifo_evidence(kit: Kit) -> Expect:
    os.mkfifo(kit.root / "evidence/pipe.jsonl")
    return Expect("evidence/pipe.jsonl", None, None, "expected a regular file, found a named pipe")


def huge_yaml_not_read(kit: Kit) -> Expect:
    # A sparse 200 MB file: refused from its size, before a byte is read.
    with (kit.root / "workflows/big.yaml").open("wb") as handle:
        handle.truncate(200_000_000)
    return Expect("workflows/big.yaml", None, None, "larger than the limit of 5000000")


def dotdot_entry_in_config(kit: Kit) -> Expect:
    (kit.root.parent / "elsewhere").mkdir(exist_ok=True)
    kit.write("assay.yaml", "waivers: [../elsewhere]\n")
    return Expect("../elsewhere", None, None, "leads outside the project folder")


def workflow_id_traversal(kit: Kit) -> Expect:
    text = replace(kit, "workflows/wf.yaml", "id: wf", "id: x/../../../../elsewhere/assay-escape")
    return at("workflows/wf.yaml", text, "x/../", "expected an id of letters, digits")


def workflow_id_with_bidi(kit: Kit) -> Expect:
    text = replace(kit, "workflows/wf.yaml", "id: wf", 'id: "wf\\u202e"')
    return at("workflows/wf.yaml", text, '"wf', "expected an id of letters, digits")


HOSTILE: dict[str, Callable[[Kit], Expect]] = {
    fn.__name__: fn
    for fn in (
        jsonl_duplicate_key_hides_failure,
        jsonl_duplicate_key_compact,
        jsonl_duplicate_key_null_first,
        json_duplicate_key_in_list,
        string_yes_for_typed_boolean,
        quoted_off_for_boolean,
        yaml_1_1_sexagesimal_integer,
        yaml_1_1_binary_integer,
        yaml_1_1_underscore_integer,
        quoted_number_for_integer,
        applies_if_on_untyped_metadata_applies,
        applies_if_that_fails_applies,
        ambiguous_class_alias,
        alias_equal_to_another_class_id,
        record_from_the_future,
        confusable_approver,
        full_width_same_person,
        bidi_override_identity,
        yaml_lone_surrogate,
        nul_byte_in_yaml,
        constructor_error_in_front_matter,
        constructor_error_in_config,
        quoted_string_for_config_integer,
        empty_workflow_file,
        folder_name_too_long,
        json_5000_digit_integer,
        json_deep_nesting,
        json_nesting_inside_a_record,
        json_lone_surrogate_in_timestamp,
        json_lone_surrogate_in_text,
        json_nan,
        json_infinity,
        json_1e999,
        jsonl_nan,
        jsonl_deep_nesting,
        json_not_utf8,
        record_id_with_bidi_override,
        far_future_resolution,
        window_too_long,
        business_days_too_many,
        hypercare_days_too_many,
        zero_rate_period,
        as_of_year_1,
        cel_huge_expression,
        cel_deep_sum,
        cel_quadratic_cost,
        symlink_to_outside_secret,
        symlink_to_etc_passwd,
        symlink_to_dev_zero,
        dev_zero_in_an_allowed_folder,
        fifo_evidence,
        huge_yaml_not_read,
        dotdot_entry_in_config,
        workflow_id_traversal,
        workflow_id_with_bidi,
    )
}
HOSTILE.update(
    {f"yaml_{name}": _yaml_value(*args) for name, args in YAML_CONSTRUCTOR_CASES.items()}
)


def copied_evidence_in_the_store(kit: Kit) -> Expect:
    """A byte-identical copy of an evidence file doubles every record (a count of them must
    not pass); the store holds the shared content once and must still see it twice."""
    kit.write("evidence/z-incidents.jsonl", kit.text("evidence/incidents.jsonl"))
    return Expect(
        "evidence/z-incidents.jsonl",
        1,
        None,
        "duplicate incident id",
        argv=(*GATE, "--engine", "duckdb"),
    )


CASES: dict[str, Callable[[Kit], Expect]] = {
    fn.__name__: fn
    for fn in (
        malformed_yaml,
        copied_evidence_in_the_store,
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
CASES.update(HOSTILE)


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
def test_hostile_input(kit: Kit, case: str) -> None:
    base(kit)
    expect = CASES[case](kit)
    run = kit.run(*expect.argv)
    output = run.out + run.err
    assert "Traceback" not in output
    assert "internal error" not in output, output
    assert SECRET not in output
    assert run.code == expect.exit, output
    if expect.exit != 2:
        # Usable input that must not pass: the report says why.
        assert expect.fragment in run.out, run.out
        return
    lines = assert_problem_lines(run.err)
    matching = [line for line in lines if expect.fragment in line]
    assert matching, f"no line mentions {expect.fragment!r}:\n{run.err}"
    if not expect.file:
        return  # a usage error: no file to point at
    # The location is the exact prefix: file, then line (and column), then a space or
    # " (at /pointer)" — never a nearby line.
    # A case that does not pin the column accepts any column on the right line.
    any_column = r"(?::\d+)?" if expect.line is not None and expect.column is None else ""
    pattern = re.escape(expect.prefix()) + any_column + r"(?: \(at [^)]*\))?: error\["
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


# --- other commands: the same rules wherever a file is read ------------------------------


def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from assay.cli import main

    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_diff_refuses_deep_nesting_with_a_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    code, output = _main(capsys, "diff", str(deep), str(deep))
    assert code == 2
    assert "internal error" not in output and "Traceback" not in output
    assert f"{deep}:1:65: error[JSON]: nesting deeper than 64 levels" in output


def test_diff_refuses_duplicate_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dup = tmp_path / "dup.json"
    dup.write_text('{"schema_version": "1",\n "schema_version": "2"}\n', encoding="utf-8")
    code, output = _main(capsys, "diff", str(dup), str(dup))
    assert code == 2
    assert f"{dup}:2:2: error[JSON]: duplicate key 'schema_version'" in output


def test_policy_test_files_follow_the_yaml_rules(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    base(kit)
    text = (
        "defaults:\n  workflow: {id: wf, name: W, owner: o, risk_class: high, "
        "launched: 2026-01-05}\n  as_of: '2026-06-01T00:00:00Z'\ncases:\n"
        "  - name: impossible\n    as_of: 2026-02-30T00:00:00Z\n    expect: {}\n"
    )
    kit.write("policies/x.test.yaml", text)
    code, output = _main(capsys, "policy", "test", str(kit.root / "policies"))
    assert code == 2, output
    assert "internal error" not in output and "Traceback" not in output
    line, column = line_col(text, "2026-02-30")
    assert f"x.test.yaml:{line}:{column}: error[YAML]: not a valid date or timestamp" in output


def test_waiver_horizon_is_bounded(kit: Kit) -> None:
    base(kit)
    run = kit.run("waivers", "--as-of", "2026-06-01T00:00:00Z", "--horizon", "99999999999d")
    assert run.code == 2
    assert "internal error" not in run.out + run.err
    assert "at most 36600d" in run.err


def test_the_catch_all_is_a_last_defence_only(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    # The catch-all works (an unexpected exception still fails closed, exit 2)...
    base(kit)
    import importlib

    cli_main = importlib.import_module("assay.cli.main")

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli_main, "assess_many", boom)
    run = kit.run(*GATE)
    assert run.code == 2
    assert run.err.startswith("internal error: RuntimeError")
    # ...and no case of the table reaches it: test_hostile_input asserts that for each.


def test_verify_reassess_runs_nothing_on_an_untrusted_pack(kit: Kit, tmp_path: Path) -> None:
    base(kit)
    pack = tmp_path / "wf.pdf"
    run = kit.run("pack", "--workflow", "wf", "--as-of", "2026-06-01T00:00:00Z", "--unsigned",
                  "--output", str(pack))  # fmt: skip
    assert run.code == 0, run.err
    from assay.cli import main

    code = main(["verify", str(pack), "--reassess", "--format", "json"])
    assert code == 3
    # An unsigned pack's signature cannot be trusted: its embedded policy (CEL included)
    # is not re-run.
    from assay.pack.verify import verify_pack

    report = verify_pack(pack.read_bytes(), [], reassess=True)
    (check,) = [c for c in report.checks if c.name == "reassessment"]
    assert not check.ok and check.detail.startswith("not run")
