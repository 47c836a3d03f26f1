"""The text report fits a terminal: wrapped to the width, failures first, colour only when
asked, ``quiet`` for failures only, the CEL behind a finding shown apart from its words."""

from __future__ import annotations

import functools
import re
import shutil
from pathlib import Path

import pytest

from assay.evaluate import assess
from assay.formats._common import counts_sentence, pointer_text
from assay.formats.text import DEFAULT_WIDTH, format_text
from assay.load.project import load_project
from assay.models.assessment import Assessment
from assay.models.time import parse_instant

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@functools.cache
def examples_fleet() -> tuple[Assessment, ...]:
    project = load_project(EXAMPLES)
    when = parse_instant("2026-11-20T12:00:00Z")
    return tuple(assess(project, wf, when) for wf in project.workflows)


def _pointers(assessments: list[Assessment]) -> set[str]:
    return {
        pointer_text(p)
        for a in assessments
        for c in a.controls
        for check in c.checks
        for f in check.findings
        for p in f.evidence
    }


def _fleets(noncompliant: Assessment, compliant: Assessment) -> list[list[Assessment]]:
    return [[noncompliant], [noncompliant, compliant], list(examples_fleet())]


@pytest.mark.parametrize("width", [40, 57, 72, 80, 100, 132])
def test_no_line_is_wider_than_the_width_but_an_unbreakable_token(
    width: int, noncompliant: Assessment, compliant: Assessment
) -> None:
    for fleet in _fleets(noncompliant, compliant):
        pointers = _pointers(fleet)
        for quiet in (False, True):
            out = format_text(fleet, width=width, quiet=quiet)
            for line in out.splitlines():
                if len(line) <= width:
                    continue
                body = line.strip()
                # an evidence pointer is never broken (a terminal recognises it as a path),
                # nor is a single word longer than the room left
                assert body.removeprefix("at ") in pointers or " " not in body, (width, line)


@pytest.mark.parametrize("width", [40, 63, 100])
def test_wrapping_only_moves_words(
    width: int, noncompliant: Assessment, compliant: Assessment
) -> None:
    for fleet in _fleets(noncompliant, compliant):
        # (a table too narrow for a TITLE column puts each title under its row instead)
        wide = [word for word in format_text(fleet, width=10_000).split() if word != "TITLE"]
        words = [word for word in format_text(fleet, width=width).split() if word != "TITLE"]
        assert words == wide


def test_the_default_width_is_100_and_the_examples_needed_wrapping() -> None:
    fleet = list(examples_fleet())
    out = format_text(fleet)
    assert out == format_text(fleet, width=DEFAULT_WIDTH) and DEFAULT_WIDTH == 100
    assert max(len(line) for line in out.splitlines()) <= 100
    assert max(len(line) for line in format_text(fleet, width=10_000).splitlines()) > 200


def test_a_number_keeps_its_unit_and_a_moment_stays_whole() -> None:
    fleet = list(examples_fleet())
    unit = re.compile(r"(h|m|%|days?|UTC)\b")
    for width in range(40, 101):
        lines = format_text(fleet, width=width).splitlines()
        for before, line in zip(lines, lines[1:], strict=False):
            first = line.strip()
            if re.search(r"(^|\s)[0-9][0-9.]*$", before):  # "30" then "h 0 m" on the next
                assert not unit.match(first), (width, before, line)
            if re.search(r"[0-9]{4}-[0-9]{2}-[0-9]{2}$", before):
                assert not re.match(r"[0-9]{2}:[0-9]{2}", first), (width, before, line)


def test_failures_first_and_passes_on_one_wrapped_line(
    noncompliant: Assessment, compliant: Assessment
) -> None:
    out = format_text([compliant, noncompliant])
    # the non-compliant workflow first, though chat-assistant sorts before fraud-scoring
    assert out.index("fraud-scoring  ") < out.index("chat-assistant  ")
    assert out.endswith("2 workflows, 1 non-compliant (fraud-scoring): NON-COMPLIANT\n")
    claims = format_text([next(a for a in examples_fleet() if a.workflow.id == "claims-triage")])
    rows = [line for line in claims.splitlines() if re.match(r"  (FAIL|BLOCKED|PASS) {2,}", line)]
    assert [row.split()[0] for row in rows] == ["FAIL"] * 3 + ["BLOCKED"] * 3 + ["PASS"]
    assert rows[-1].startswith("  PASS     14 controls: PROD-BUDGET-01, PROD-CHG-01,")
    assert claims.index("  PASS     14 controls") < claims.index("  Details")


def test_quiet_shows_only_what_fails(noncompliant: Assessment, compliant: Assessment) -> None:
    out = format_text([noncompliant, compliant], quiet=True)
    assert "chat-assistant" not in out.split("\n\n")[0]
    assert out.startswith("fraud-scoring  NON-COMPLIANT: 2 fail, 1 error, 1 blocked, 1 waived")
    shown = re.findall(r"^  (FAIL|ERROR|BLOCKED|WAIVED|PASS|N/A) (\S+)", out, re.M)
    assert shown == [
        ("FAIL", "PROD-CANARY-01"),
        ("FAIL", "PROD-EVAL-01"),
        ("ERROR", "PROD-DRIFT-01"),
        ("BLOCKED", "PROD-ROLLBACK-01"),
    ]
    assert "PROD-MONITOR-01" not in out and "PROD-INCIDENT-01" not in out
    assert out.endswith("2 workflows, 1 non-compliant (fraud-scoring): NON-COMPLIANT\n")
    assert format_text([compliant], quiet=True) == "chat-assistant  COMPLIANT: 1 pass\n"


def test_colour_only_when_asked_and_it_changes_no_text(noncompliant: Assessment) -> None:
    fleet = [noncompliant, *examples_fleet()]
    plain = format_text(fleet)
    assert "\x1b" not in plain
    for quiet in (False, True):
        painted = format_text(fleet, color=True, quiet=quiet)
        assert ANSI.sub("", painted) == format_text(fleet, quiet=quiet)
    painted = format_text(fleet, color=True)
    assert "  \x1b[31mFAIL\x1b[0m     PROD-CANARY-01" in painted
    assert "\x1b[1;31mNON-COMPLIANT\x1b[0m:" in painted
    assert "\x1b[2m        condition: " in painted
    # colour never pushes a line past the width: widths are measured without it
    assert max(len(ANSI.sub("", line)) for line in painted.splitlines()) <= 100


def test_the_condition_is_a_line_of_its_own_once_per_check(noncompliant: Assessment) -> None:
    out = format_text([noncompliant], width=200)
    conditions = [line.strip() for line in out.splitlines() if "condition:" in line]
    canary = noncompliant.control("PROD-CANARY-01").checks[0]
    (cel,) = {f.condition for f in canary.findings if f.outcome == "fail"}
    assert cel and f"condition: {cel}" in conditions
    assert conditions.count(f"condition: {cel}") == 1  # c-17 and c-18 share it
    message = next(line for line in out.splitlines() if "canary report c-17" in line)
    assert "params." not in message and "r." not in message.replace("r.", "", 0)
    assert "at most 5 % is allowed" in message


def test_blocked_controls_failing_their_own_checks_are_counted() -> None:
    claims = next(a for a in examples_fleet() if a.workflow.id == "claims-triage")
    assert claims.summary.blocked_failing == 1
    assert counts_sentence(claims) == "3 fail, 3 blocked (1 also fails its own checks), 14 pass"
    assert "VERDICT     NON-COMPLIANT: 3 fail, 3 blocked (1 also fails its own checks)" in (
        format_text([claims])
    )


def test_a_prohibited_workflow_says_so_and_nothing_else(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "p")
    card = tmp_path / "p" / "workflows" / "credit-limit.yaml"
    card.write_text(
        re.sub(r"(?m)^risk_class: .*$", "risk_class: prohibited", card.read_text("utf-8")),
        encoding="utf-8",
    )
    project = load_project(tmp_path / "p")
    when = parse_instant("2026-11-20T12:00:00Z")
    fleet = [assess(project, wf, when) for wf in project.workflows]
    banned = next(a for a in fleet if a.workflow.id == "credit-limit")
    out = format_text([banned])
    assert "  VERDICT     PROHIBITED\n" in out
    assert "no controls" not in out and "NON-COMPLIANT" not in out
    fleet_out = format_text(fleet, width=200)
    assert fleet_out.startswith("credit-limit  ")  # the worst verdict first
    assert fleet_out.endswith(
        "3 workflows, 2 non-compliant (claims-triage, support-assistant), 1 prohibited "
        "(credit-limit): PROHIBITED\n"
    )
    assert format_text(fleet, quiet=True).startswith("credit-limit  PROHIBITED\n  prohibited: ")


def test_every_failing_controls_summary_is_told(
    noncompliant: Assessment, compliant: Assessment
) -> None:
    # the summary may say more than its checks: a waiver that expired, why it applies
    for fleet in _fleets(noncompliant, compliant):
        flat = " ".join(format_text(fleet, width=80).split())
        for a in fleet:
            for c in a.controls:
                own_failures = any(check.status != "pass" for check in c.checks)
                if c.status in ("pass", "not_applicable") or (c.blocked_by and not own_failures):
                    continue
                assert " ".join(c.summary.split()) in flat, (a.workflow.id, c.id)
    assert "Waiver W-3 expired on 2026-11-01 and no longer applies." in " ".join(
        format_text([noncompliant]).split()
    )
