"""A positive Art. 5 screen denies every release and cannot be waived; a waiver that
breaks governance fails its own workflow closed and leaves the others gateable."""

from __future__ import annotations

import json

from projectkit import Kit, check, control, record, risk_class, waiver, workflow

from assay.authoring.lint import lint_loaded
from assay.models.assessment import Verdict


def _card(id_: str, screen: str, reviewed_at: str, workflow_id: str = "wf") -> dict[str, object]:
    return record(
        "model_card",
        id_,
        workflow=workflow_id,
        model_version="1",
        risk_class="C3",
        eu_class="high",
        eu_scope=True,
        role="provider",
        intended_purpose="scoring",
        art5_screen=screen,
        reviewed_at=reviewed_at,
        declared_metrics={"auc": 0.9},
        limitations="none known",
        dependencies=[],
        transparency={},
        previous_good_version="0",
        approved_at=reviewed_at,
    )


def _gate_project(
    kit: Kit, *, cards: list[dict[str, object]], waivers: list[dict[str, object]]
) -> Kit:
    art5 = check(
        "covered",
        "model_card",
        id_="art5_flag_cleared",
        where='r.art5_screen == "flagged"',
        by={
            "evidence": "model_card",
            "key": "workflow",
            "source_key": "workflow",
            "where": 'r.art5_screen == "clear" && r.reviewed_at > src.reviewed_at',
        },
        prohibits=True,
    )
    present = check("present", "model_card", id_="has_card")
    return kit.setup(
        controls=[control("T-CLASS-01", art5, present)],
        classes=[risk_class("high", 3, ["T-CLASS-01"])],
        workflows=[workflow("wf"), workflow("other")],
        evidence=cards,
        waivers=waivers,
    )


def test_flagged_screen_is_prohibited_and_its_waiver_never_applies(kit: Kit) -> None:
    _gate_project(
        kit,
        cards=[_card("MC-1", "flagged", "2026-05-01T00:00:00Z")],
        waivers=[waiver("W-1", "T-CLASS-01", "2026-05-02T00:00:00Z", "2026-07-01T00:00:00Z")],
    )
    assessment = kit.assess()
    assert assessment.verdict is Verdict.PROHIBITED
    assert assessment.exit_code == 1
    result = assessment.control("T-CLASS-01")
    assert result.status == "fail"
    assert [w.state for w in result.waivers] == ["invalid"]
    assert "prohibition gate" in (result.waivers[0].problem or "")
    assert assessment.prohibited_reason is not None
    assert "art5_flag_cleared" in assessment.prohibited_reason
    lint = lint_loaded(kit.load())
    assert any(f.code == "WAIVER" and f.level == "error" for f in lint)
    run = kit.run("gate", "--workflow", "wf", "--as-of", "2026-06-01T00:00:00Z", "--format", "json")
    assert run.code == 1
    assert json.loads(run.out)["summary"]["verdict"] == "PROHIBITED"


def test_cleared_screen_is_an_ordinary_verdict(kit: Kit) -> None:
    _gate_project(
        kit,
        cards=[
            _card("MC-1", "flagged", "2026-05-01T00:00:00Z"),
            _card("MC-2", "clear", "2026-05-10T00:00:00Z"),
        ],
        waivers=[],
    )
    assert kit.assess().verdict is Verdict.COMPLIANT


def test_self_approved_waiver_fails_its_workflow_and_the_others_still_gate(kit: Kit) -> None:
    healthy = [_card("MC-9", "clear", "2026-05-01T00:00:00Z", workflow_id="other")]
    bad = waiver(
        "W-SELF",
        "T-CLASS-01",
        "2026-05-02T00:00:00Z",
        "2026-07-01T00:00:00Z",
        requested_by="Ahmed.Khan",
        approved_by="ahmed.khan",
    )
    _gate_project(
        kit, cards=[_card("MC-1", "clear", "2026-05-01T00:00:00Z"), *healthy], waivers=[bad]
    )
    other = kit.run("gate", "--workflow", "other", "--as-of", "2026-06-01T00:00:00Z")
    assert other.code == 0, other.out + other.err
    wf = kit.assess()
    result = wf.control("T-CLASS-01")
    assert result.status == "fail"  # every check passes, the invalid waiver fails it closed
    assert result.waivers[0].state == "invalid"
    assert "approved_by must differ from requested_by" in (result.waivers[0].problem or "")
    assert "fails its control closed" in result.summary
    gate = kit.run("gate", "--all", "--as-of", "2026-06-01T00:00:00Z", "--format", "text")
    assert gate.code == 1
    assert "W-SELF" in gate.out
