"""Loading a project: a broken catalog is reported once (not echoed by every class that
names its controls), a workflow may name its class by an alias, and a symlink loop under
the evidence folder does not hang discovery."""

from __future__ import annotations

from projectkit import AS_OF, Kit, check, control, incident, risk_class, workflow


def test_broken_catalog_is_reported_once_not_echoed_by_every_class(kit: Kit) -> None:
    ack = control("T-ACK-01", check("present"), remediaton="typo")  # misspelled key
    kit.setup([ack], [risk_class("high", 3, ["T-ACK-01"])], [workflow()], [])
    kit.dump("evidence/records.jsonl", [incident("I-1", "2026-05-01T00:00:00Z")])
    run = kit.run("gate", "--workflow", "wf", "--as-of", AS_OF)
    assert run.code == 2
    assert "unknown key 'remediaton'" in run.err
    assert "UNKNOWN-CONTROL" not in run.err


def test_a_workflow_may_name_its_class_by_an_alias(kit: Kit) -> None:
    present = control("T-P-01", check("present"))
    high = risk_class("high", 3, ["T-P-01"], aliases=["C3"])
    kit.setup(
        [present], [high], [workflow(risk_class="C3")], [incident("I-1", "2026-05-01T00:00:00Z")]
    )
    assessment = kit.assess()
    assert assessment.workflow.risk_class == "high"
    assert assessment.control("T-P-01").status == "pass"


def test_a_symlink_loop_in_evidence_does_not_hang_the_loader(kit: Kit) -> None:
    present = control("T-P-01", check("present"))
    kit.setup(
        [present], [risk_class("high", 3, ["T-P-01"])], [workflow()], [incident("I-1", AS_OF)]
    )
    (kit.root / "evidence" / "loop").symlink_to(kit.root / "evidence")
    assessment = kit.assess()
    assert assessment.control("T-P-01").status == "pass"
    assert [i.path for i in assessment.inputs if i.role == "evidence"] == ["evidence/records.jsonl"]
