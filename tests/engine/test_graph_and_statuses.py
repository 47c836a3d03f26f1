"""The control graph (order, root causes, ignored dependencies) and the control statuses:
blocked, waived, expired waiver, error (fails closed), not applicable, prohibited."""

from __future__ import annotations

from typing import Any

from projectkit import (
    Kit,
    check,
    control,
    incident,
    review,
    risk_class,
    waiver,
    workflow,
)

from assay.graph import control_graph, evaluation_order, root_causes

PASSING = check("present", evidence="incident")
FAILING = check("present", evidence="quarterly_review")


def chain_kit(kit: Kit, a_check: dict[str, Any] = FAILING, **extra: Any) -> Kit:
    """A <- B <- C (C requires B requires A), and D requires X, which the class does not need."""
    controls = [
        control("T-A-01", a_check),
        control("T-B-01", PASSING, requires=["T-A-01"]),
        control("T-C-01", PASSING, requires=["T-B-01"]),
        control("T-D-01", PASSING, requires=["T-X-01"]),
        control("T-X-01", FAILING),
    ]
    return kit.setup(
        controls,
        [risk_class("high", 3, ["T-A-01", "T-B-01", "T-C-01", "T-D-01"])],
        [workflow(launched="2025-01-06")],
        [incident("I-1", "2026-05-01T00:00:00Z")],
        **extra,
    )


def test_graph_order_and_ignored_dependency(kit: Kit) -> None:
    project = chain_kit(kit).load()
    required = [project.controls[c] for c in ("T-C-01", "T-A-01", "T-D-01", "T-B-01")]
    graph = control_graph(required)
    assert sorted(graph.edges) == [("T-B-01", "T-A-01"), ("T-C-01", "T-B-01")]
    assert "T-X-01" not in graph
    assert evaluation_order(graph) == ["T-A-01", "T-D-01", "T-B-01", "T-C-01"]
    assert sorted(graph.successors("T-C-01")) == ["T-B-01"]
    statuses = {"T-A-01": "fail", "T-B-01": "blocked", "T-C-01": "blocked", "T-D-01": "pass"}
    assert root_causes(graph, "T-C-01", statuses) == ["T-A-01"]


def test_blocked_names_the_root_cause(kit: Kit) -> None:
    assessment = chain_kit(kit).assess()
    status = {c.id: c.status for c in assessment.controls}
    assert status == {"T-A-01": "fail", "T-B-01": "blocked", "T-C-01": "blocked", "T-D-01": "pass"}
    c = assessment.control("T-C-01")
    assert c.blocked_by == ["T-A-01"]
    assert c.summary == "Blocked: required control T-A-01 did not pass."
    # D's dependency on X is ignored: X is not required at this class and is not assessed.
    assert assessment.control("T-D-01").requires == []
    assert "T-X-01" not in status
    assert assessment.summary.verdict == "NON-COMPLIANT"
    assert assessment.exit_code == 1


def test_all_passing_is_compliant(kit: Kit) -> None:
    assessment = chain_kit(kit, PASSING).assess()
    assert {c.status for c in assessment.controls} == {"pass"}
    assert assessment.summary.compliant and assessment.exit_code == 0


def test_active_waiver_waives_and_unblocks(kit: Kit) -> None:
    w = waiver("W-1", "T-A-01", "2026-05-01T00:00:00Z", "2026-07-01T00:00:00Z")
    assessment = chain_kit(kit, waivers=[w]).assess()
    a = assessment.control("T-A-01")
    assert a.status == "waived"
    assert a.summary.startswith("Waived by W-1 until 2026-07-01 (approved by carol): ")
    assert assessment.control("T-C-01").status == "pass"
    assert assessment.exit_code == 0


def test_expired_waiver_fails_like_no_waiver(kit: Kit) -> None:
    w = waiver("W-1", "T-A-01", "2026-04-01T00:00:00Z", "2026-05-15T00:00:00Z")
    assessment = chain_kit(kit, waivers=[w]).assess()
    a = assessment.control("T-A-01")
    assert a.status == "fail"
    assert "Waiver W-1 expired on 2026-05-15 and no longer applies." in a.summary
    assert [x.state for x in a.waivers] == ["expired"]
    assert assessment.control("T-B-01").status == "blocked"
    assert assessment.exit_code == 1


def test_waiver_on_a_passing_control_keeps_pass(kit: Kit) -> None:
    w = waiver("W-1", "T-A-01", "2026-05-01T00:00:00Z", "2026-07-01T00:00:00Z")
    assert chain_kit(kit, PASSING, waivers=[w]).control("T-A-01").status == "pass"


def test_cel_runtime_error_fails_closed(kit: Kit) -> None:
    broken = check("every", assert_="int(r.owner) > 0")
    assessment = chain_kit(kit, broken).assess()
    a = assessment.control("T-A-01")
    assert a.status == "error"
    (result,) = a.checks
    assert result.status == "error"
    (finding,) = [f for f in result.findings if f.outcome == "error"]
    assert finding.message.startswith(
        "the assert condition could not be evaluated on incident I-1: "
    )
    assert finding.condition == "int(r.owner) > 0"
    assert finding.evidence[0].record_id == "I-1"
    assert assessment.control("T-B-01").status == "blocked"
    assert assessment.control("T-B-01").blocked_by == ["T-A-01"]
    assert not assessment.summary.compliant
    assert assessment.exit_code == 1


def test_not_applicable(kit: Kit) -> None:
    controls = [control("T-A-01", FAILING, applies_if="workflow.eu_scope")]
    kit.setup(
        controls,
        [risk_class("high", 3, ["T-A-01"])],
        [workflow()],
        [incident("I-1", "2026-05-01T00:00:00Z")],
    )
    assessment = kit.assess()
    assert assessment.control("T-A-01").status == "not_applicable"
    assert assessment.exit_code == 0


def test_prohibited_class_is_never_compliant(kit: Kit) -> None:
    kit.setup(
        [control("T-A-01", PASSING)],
        [
            risk_class("high", 3, ["T-A-01"]),
            risk_class("banned", 9, [], extends="high", prohibited=True),
        ],
        [workflow(risk_class="banned")],
        [incident("I-1", "2026-05-01T00:00:00Z"), review("R-1", "2026-05-01T00:00:00Z")],
    )
    assessment = kit.assess()
    assert assessment.summary.verdict == "PROHIBITED"
    assert not assessment.summary.compliant
    assert assessment.exit_code == 1
    assert assessment.prohibited_reason is not None
    assert "prohibited" in assessment.prohibited_reason and "denied" in assessment.prohibited_reason
    run = kit.run("gate", "-w", "wf", "--as-of", "2026-06-01T00:00:00Z")
    assert run.code == 1
    assert "prohibited" in run.out.lower()
