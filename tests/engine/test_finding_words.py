"""Findings and summaries in plain words: what was required and what was found, never CEL
or a Python repr; the CEL kept apart in ``Finding.condition``; a check that "found none"
names the closest record that did not count, with its file and line; a blocked control's
own failures counted.

2026-06-01 (the default as-of) is a Monday.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from projectkit import (
    Kit,
    check,
    control,
    drift,
    incident,
    param,
    postmortem,
    review,
    risk_class,
    workflow,
)

import assay
from assay.authoring.policytest import load_cases
from assay.authoring.policytest.runner import materialise
from assay.checks.base import MAX_FINDINGS
from assay.evaluate import assess
from assay.load import load_files
from assay.models.assessment import Assessment, CheckResult

ROOT = Path(__file__).resolve().parents[2]
EVIDENCE_FILE = "evidence/records.jsonl"
CEL_OR_REPR = re.compile(
    r"\br\.|\bsrc\.|params\.|&&|\|\||==|!=|`|\bTrue\b|\bFalse\b|\bNone\b|(?<!\w)'[^']*'"
)
"""CEL syntax, or a value as Python prints it (True, None, 'text')."""


def sentences(assessment: Assessment) -> list[str]:
    out: list[str] = []
    for c in assessment.controls:
        out.append(c.summary)
        for k in c.checks:
            out.append(k.summary)
            out.extend(f.message for f in k.findings)
    return out


def leaks(assessment: Assessment) -> list[str]:
    return [text for text in sentences(assessment) if CEL_OR_REPR.search(text)]


def test_no_sentence_of_the_examples_contains_cel_or_a_python_repr() -> None:
    project = assay.load_project(ROOT / "examples")
    when = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    for wf in sorted(project.workflows):
        assessment = assay.assess(project, wf, when)
        assert leaks(assessment) == [], wf
        for c in assessment.controls:
            for k in c.checks:
                for f in k.findings:
                    # Every failing finding points at evidence, except "nothing matched".
                    if f.outcome == "fail" and "matches" not in f.message:
                        assert f.evidence, f.message
                    if f.outcome == "pass":
                        assert f.condition is None or k.kind == "aggregate"


# Cases of the shipped policy tests whose failing conditions are the most intricate: lists
# of items, alternatives, guards, another record's fields, a pooled ratio.
INTRICATE = {
    "CHG fails with one approver where two are needed": (
        "approvers has 1 item where id is not author",
        "at least 2 is required (min_approvers for class high)",
    ),
    "OBS fails when an alert routes to a rota that does not exist": (
        'alert "errors": the alert\'s rotation_id is "fraud-old", and rotation_id of '
        'oncall schedule rota-1 is "fraud-primary"; they must be equal',
    ),
    "OBS fails when production runs a dependency version other than the pinned one": (
        'dependency "xgboost"',
        '"2.1.0"',
    ),
    "ONCALL fails on a day without a primary on call": ('shift "jane.doe"',),
    "PM fails when the only P1 action closed after its due date": (
        "is 0 % (0 of 1, over 1 postmortem); at least 90 % "
        "(min_action_on_time_ratio for class high) is required",
    ),
    "TRANSP fails when the card does not declare the Art. 13 instructions": (
        'transparency has no entry "art13"',
        "required as require_role_notice is true for class high",
    ),
    "RETRAIN fails when whoever recorded the run also approved its change": (
        'approver "lee.kim": id is "lee.kim", and recorded_by of retraining run train-1 is '
        '"lee.kim"; they must differ',
    ),
    "HITL fails when an overseer's training is more than a year old": (
        'overseer "lee.kim": the time from trained_at to period_end is 451 days 13 h; at most '
        "365 days is allowed (training_max_age for class limited)",
    ),
    "FEEDBACK fails when items stay open beyond 30 days": (
        "the share of feedback items where closed_at is set and the time from received_at to "
        "closed_at is at most 30 days (closure_time for class minimal) is 0 %",
    ),
    "BUDGET fails when the budget starts after the launch": (
        "it must be earlier than 2025-06-03 00:00 UTC (24 h after the workflow's launch date)",
    ),
}


def test_intricate_conditions_of_the_shipped_policy_tests_read_in_words() -> None:
    policies = ROOT / "src" / "assay" / "bundled" / "policies"
    cases = {case.name: case for case in load_cases(policies)}
    assert set(INTRICATE) <= set(cases)
    for name, expected in INTRICATE.items():
        case = cases[name]
        files, _ = materialise(case, policies)
        assessment = assess(load_files(files), case.workflow.id, case.as_of, case.release)
        assert leaks(assessment) == [], name
        failing = [
            f for c in assessment.controls for k in c.checks for f in k.findings
            if f.outcome == "fail"
        ]  # fmt: skip
        for text in expected:
            assert any(text in f.message for f in failing), (name, text)
        # The CEL is kept for the curious, apart from the sentence.
        assert any(f.condition for f in failing), name


def single(
    kit: Kit,
    the_check: dict[str, Any],
    evidence: list[dict[str, Any]],
    params: dict[str, dict[str, Any]] | None = None,
    values: dict[str, Any] | None = None,
) -> CheckResult:
    kit.setup(
        [control("T-ONE-01", the_check, params=params)],
        [risk_class("high", 3, ["T-ONE-01"], {"T-ONE-01": values} if values else None)],
        [workflow(launched="2025-01-06")],
        evidence,
    )
    (result,) = kit.control("T-ONE-01").checks
    return result


def test_fresh_that_found_none_names_the_closest_record_and_why(kit: Kit) -> None:
    fresh = check(
        "fresh",
        evidence="quarterly_review",
        max_age="92d",
        where="r.pmm_coverage >= params.min_coverage",
    )
    result = single(
        kit,
        fresh,
        [
            review("R-1", "2026-03-01T00:00:00Z", pmm_coverage=0.5),
            review("R-2", "2026-05-01T00:00:00Z", pmm_coverage=0.7),
        ],
        {"min_coverage": param("number", "higher")},
        {"min_coverage": 0.95},
    )
    assert result.status == "fail"
    assert result.summary == (
        "Expected a quarterly review no older than 92 days; found none that counts."
    )
    closest = next(f for f in result.findings if f.message.startswith("the closest"))
    # Neither counts; the newest of them is named.
    assert closest.message == (
        "the closest quarterly review, R-2 (held_at 2026-05-01 00:00 UTC), does not count: "
        "pmm_coverage is 0.7; at least 0.95 is required (min_coverage for class high)"
    )
    assert closest.condition == "r.pmm_coverage >= params.min_coverage"
    assert [(e.file, e.line, e.record_id) for e in closest.evidence] == [(EVIDENCE_FILE, 2, "R-2")]


def test_present_that_found_none_names_the_closest_record_and_why(kit: Kit) -> None:
    present = check("present", evidence="drift_log", where="r.breach", min=1)
    result = single(kit, present, [drift("D-1", "2026-05-30T00:00:00Z")])
    assert result.status == "fail"
    assert [f.message for f in result.findings] == [
        "no drift log matches; at least 1 is required",
        "the closest drift log, D-1 (run_at 2026-05-30 00:00 UTC), does not count: breach is "
        "false; it must be true",
    ]
    assert result.findings[1].evidence[0].line == 1


def test_every_with_no_evidence_names_the_closest_record(kit: Kit) -> None:
    every = check(
        "every", evidence="incident", where='r.severity == "SEV1"', assert_='r.owner != ""'
    )
    result = single(kit, every, [incident("I-1", "2026-05-01T00:00:00Z", severity="SEV3")])
    assert result.status == "fail"
    messages = [f.message for f in result.findings]
    assert messages == [
        "no incident matches: no evidence",
        "the closest incident, I-1 (aware_at 2026-05-01 00:00 UTC), does not count: severity "
        'is "SEV3"; it must be "SEV1"',
    ]


def test_an_untriaged_breach_says_so_with_its_metric_time_and_sla(kit: Kit) -> None:
    triaged = check(
        "covered",
        evidence="drift_log",
        where="r.breach",
        window="90d",
        by={
            "evidence": "drift_log",
            "key": "id",
            "where": 'r.triaged_at != null && r.triage_ref != null && r.triage_ref != ""',
        },
        deadline="$sla",
        from_field="run_at",
        to_field="triaged_at",
    )
    evidence = [
        drift("D-1", "2026-05-20T03:15:00Z", breach=True, metric="psi_income"),
        drift(
            "D-2",
            "2026-05-21T03:15:00Z",
            breach=True,
            triaged_at="2026-05-25T09:00:00Z",
            triage_ref="INC-9",
        ),
    ]
    result = single(kit, triaged, evidence, {"sla": param()}, {"sla": "2bd"})
    assert result.status == "fail"
    fail, late = (f for f in result.findings if f.outcome == "fail")
    assert fail.message == (
        "drift log D-1: the breach at 2026-05-20 03:15 UTC on psi_income has not been triaged "
        "(triaged_at is missing; and triage_ref is missing); it had to be triaged within 2 "
        "business days of run_at (sla for class high), by 2026-05-22 03:15 UTC"
    )
    assert fail.condition == "r.triaged_at != null && r.triage_ref != null"
    assert late.message == (
        "drift log D-2: the breach at 2026-05-21 03:15 UTC on psi was triaged too late: "
        "triaged_at is 2026-05-25 09:00 UTC; it had to be triaged within 2 business days of "
        "run_at (sla for class high), by 2026-05-25 03:15 UTC"
    )
    assert [e.record_id for e in fail.evidence] == ["D-1"]


def test_a_pooled_ratio_reads_as_the_share_it_stands_for(kit: Kit) -> None:
    on_time = check(
        "aggregate",
        evidence="postmortem",
        window="90d",
        function="sum",
        value=(
            'double(size(r.actions.filter(a, a.priority == "P1" && a.closed_at != null '
            "&& a.closed_at <= a.due))) - params.share * double(size(r.actions.filter(a, "
            'a.priority == "P1")))'
        ),
        op=">=",
        threshold=0,
    )
    actions = [
        {"owner": "a", "priority": "P1", "due": "2026-05-10T00:00:00Z",
         "closed_at": "2026-05-09T00:00:00Z"},
        {"owner": "b", "priority": "P1", "due": "2026-05-10T00:00:00Z",
         "closed_at": "2026-05-12T00:00:00Z"},
    ]  # fmt: skip
    result = single(
        kit,
        on_time,
        [
            incident("I-1", "2026-05-01T00:00:00Z"),
            postmortem("PM-1", "I-1", "2026-05-02T00:00:00Z", actions=actions),
        ],
        {"share": param("number", "higher")},
        {"share": 0.9},
    )
    assert result.status == "fail"
    (finding,) = result.findings
    assert finding.message == (
        'the share of actions where priority is "P1" that also meet: closed_at is set and '
        "closed_at is no later than due is 50 % (1 of 2, over 1 postmortem); at least 90 % "
        "(share for class high) is required"
    )
    assert result.summary.startswith('Expected the share of actions where priority is "P1"')
    assert result.summary.endswith("to be at least 90 % (share for class high); it is not met.")


def test_many_failures_are_put_in_words_only_as_far_as_they_are_shown(kit: Kit) -> None:
    every = check("every", window="90d", assert_="r.blameless", evidence="postmortem")
    evidence = [
        postmortem(f"PM-{i:02d}", "I-1", f"2026-05-{i + 1:02d}T00:00:00Z", blameless=False)
        for i in range(MAX_FINDINGS + 5)
    ]
    result = single(kit, every, evidence)
    assert result.summary == "A every check: 25 of 25 postmortems do not."
    assert result.omitted == 5
    assert len(result.findings) == MAX_FINDINGS
    assert [f.evidence[0].line for f in result.findings] == list(range(1, MAX_FINDINGS + 1))
    assert all(f.message.endswith(": blameless is false; it must be true") for f in result.findings)
    assert all(f.condition == "r.blameless" for f in result.findings)


@pytest.fixture
def blocked_kit(kit: Kit) -> Kit:
    """T-B-01 requires T-A-01, which fails; T-B-01's own two checks: one fails."""
    failing = check("present", evidence="quarterly_review", id_="review")
    passing = check("present", evidence="incident", id_="incidents")
    stale = check("fresh", evidence="incident", id_="fresh_incident", max_age="7d")
    return kit.setup(
        [
            control("T-A-01", failing),
            control("T-B-01", passing, stale, requires=["T-A-01"]),
            control("T-C-01", passing, requires=["T-A-01"]),
        ],
        [risk_class("high", 3, ["T-A-01", "T-B-01", "T-C-01"])],
        [workflow(launched="2025-01-06")],
        [incident("I-1", "2026-05-01T00:00:00Z")],
    )


def test_a_blocked_control_counts_its_own_failures(blocked_kit: Kit) -> None:
    assessment = blocked_kit.assess()
    b = assessment.control("T-B-01")
    assert b.status == "blocked"
    assert b.summary == (
        "Blocked: required control T-A-01 did not pass; 1 of its 2 own checks also fails: "
        "Expected an incident no older than 7 days; the newest (I-1, aware_at 2026-05-01 "
        "00:00 UTC) is 31 days old."
    )
    c = assessment.control("T-C-01")
    assert (c.status, c.summary) == ("blocked", "Blocked: required control T-A-01 did not pass.")
    # counts list each control once; blocked_failing says how many blocked ones also fail.
    assert assessment.summary.counts["blocked"] == 2
    assert assessment.summary.blocked_failing == 1
    assert assessment.to_dict()["summary"]["blocked_failing"] == 1


def test_blocked_failing_cannot_exceed_the_blocked_controls() -> None:
    from assay.models.assessment import Summary, Verdict

    with pytest.raises(ValueError, match="blocked_failing=2 is not within the 1 blocked"):
        Summary(
            counts={"blocked": 1},
            blocked_failing=2,
            compliant=False,
            verdict=Verdict.NON_COMPLIANT,
        )
