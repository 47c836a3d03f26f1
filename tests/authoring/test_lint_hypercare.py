"""`assay policy lint` on hypercare parameters: a hypercare value that is no stricter than
the class value has no effect, and lint says so where it is written."""

from __future__ import annotations

from projectkit import Kit, check, control, incident, param, risk_class, workflow

from assay.authoring.lint import lint_loaded
from assay.load.project import load_project


def test_hypercare_value_looser_than_the_class_is_flagged(kit: Kit) -> None:
    ack = control(
        "T-ACK-01",
        check("every", assert_="r.acked_at - r.paged_at <= params.ack", allow_empty=True),
        params={"ack": param()},
    )
    high = risk_class(
        "high",
        3,
        ["T-ACK-01"],
        params={"T-ACK-01": {"ack": "15m"}},
        hypercare={"days": 90, "params": {"T-ACK-01": {"ack": "30m"}}},
    )
    kit.setup([ack], [high], [workflow()], [incident("I-1", "2026-05-01T00:00:00Z")])
    findings = lint_loaded(load_project(kit.root))
    codes = [(f.code, f.location.file, f.location.line) for f in findings]
    text = kit.text("policies/class-high.yaml")
    line = text.splitlines().index(next(x for x in text.splitlines() if "ack: 30m" in x)) + 1
    assert ("HYPERCARE-NO-EFFECT", "policies/class-high.yaml", line) in codes
