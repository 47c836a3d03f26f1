"""A ``where`` whose top-level ``&&``/``||`` operands do not read the record is evaluated
with those operands folded once; folding never changes which records are selected."""

from __future__ import annotations

from projectkit import Kit, check, control, incident, param, risk_class, workflow


def test_record_independent_operands_are_folded_without_changing_answers(kit: Kit) -> None:
    """A `where` whose top-level `&&`/`||` chain has operands that do not read the record is
    evaluated with those operands folded once; the same condition hidden behind a ternary
    (no folding) must select exactly the same records, including when an operand errs."""
    conditions = [
        'params.strict && r.severity == "SEV1"',
        '!params.strict || r.severity == "SEV1"',
        "params.strict || r.breach_missing_field == 1",  # decisive constant hides the error
        'params.strict && r.owner != "" && workflow.id == "wf"',
        'workflow.metadata.tier == "gold" && r.severity == "SEV1"',  # constant errs: no folding
    ]
    records = [
        incident("I-1", "2026-05-01T00:00:00Z", severity="SEV1"),
        incident("I-2", "2026-05-02T00:00:00Z", severity="SEV2"),
    ]
    for strict in (True, False):
        controls = []
        for i, condition in enumerate(conditions):
            for variant, where in (("f", condition), ("t", f"({condition}) ? true : false")):
                controls.append(
                    control(
                        f"T-{variant.upper()}{i}-01",
                        check("present", where=where, min=2),
                        params={"strict": param("boolean", "true")},
                    )
                )
        ids = [c["id"] for c in controls]
        high = risk_class("high", 3, ids, params={cid: {"strict": strict} for cid in ids})
        kit.setup(controls, [high], [workflow()], records)
        assessment = kit.assess()
        for i in range(len(conditions)):
            folded = assessment.control(f"T-F{i}-01").checks[0]
            plain = assessment.control(f"T-T{i}-01").checks[0]
            assert (folded.status, folded.records) == (plain.status, plain.records), (
                conditions[i],
                strict,
            )
