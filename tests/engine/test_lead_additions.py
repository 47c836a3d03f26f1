"""Behaviour added while integrating: plain-Python filter predicates agree with CEL, lint
flags ineffective hypercare values, a broken catalog does not echo through every class,
and an `every` check that could not be evaluated says so."""

from __future__ import annotations

import itertools

import pytest
from projectkit import AS_OF, Kit, check, control, drift, incident, param, risk_class, workflow

from assay.authoring.lint import lint_loaded
from assay.cel import compile_expression
from assay.cel.predicates import field_predicate
from assay.load.project import load_project
from assay.models import codec
from assay.models.evidence_kinds import EVIDENCE_KINDS

VARIABLES = frozenset({"r", "params", "now", "workflow", "release"})


def _drift_struct(**fields: object) -> object:
    record = drift("D-1", "2026-05-01T00:00:00Z", **fields)
    return codec.convert(record)


def test_field_predicates_agree_with_cel() -> None:
    sources = [
        "r.segment == null",
        "r.segment != null",
        "r.triaged_at == null",
        "r.breach",
        "!r.breach",
        " r.breach ",
    ]
    shapes = [
        {"segment": segment, "breach": breach, "triaged_at": triaged}
        for segment, breach, triaged in itertools.product(
            [None, "region=eu"], [True, False], [None, "2026-05-02T00:00:00Z"]
        )
    ]
    for source in sources:
        predicate = field_predicate(source, EVIDENCE_KINDS["drift_log"].model_fields)
        assert predicate is not None, source
        expr = compile_expression(source, allowed_variables=VARIABLES)
        for shape in shapes:
            data = _drift_struct(**shape)
            assert predicate(data) == expr.test({"r": data}), (source, shape)


def test_field_predicate_declines_what_it_cannot_answer_exactly() -> None:
    # Unknown fields, non-boolean bare fields and anything more complex run as CEL.
    for source in ["r.nope == null", "r.metric", "r.breach && r.segment == null", "r.value > 1"]:
        assert field_predicate(source, EVIDENCE_KINDS["drift_log"].model_fields) is None, source


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


def test_broken_catalog_is_reported_once_not_echoed_by_every_class(kit: Kit) -> None:
    ack = control("T-ACK-01", check("present"), remediaton="typo")  # misspelled key
    kit.setup([ack], [risk_class("high", 3, ["T-ACK-01"])], [workflow()], [])
    kit.dump("evidence/records.jsonl", [incident("I-1", "2026-05-01T00:00:00Z")])
    run = kit.run("gate", "--workflow", "wf", "--as-of", AS_OF)
    assert run.code == 2
    assert "unknown key 'remediaton'" in run.err
    assert "UNKNOWN-CONTROL" not in run.err


def test_every_check_that_could_not_be_evaluated_says_so(kit: Kit) -> None:
    broken = control("T-ERR-01", check("every", assert_="r.no_such_field == 1"))
    kit.setup(
        [broken],
        [risk_class("high", 3, ["T-ERR-01"])],
        [workflow()],
        [incident("I-1", "2026-05-01T00:00:00Z")],
    )
    result = kit.control("T-ERR-01")
    assert result.status == "error"
    assert "could not be evaluated on 1 incident record" in result.checks[0].summary


def test_a_workflow_may_name_its_class_by_an_alias(kit: Kit) -> None:
    present = control("T-P-01", check("present"))
    high = risk_class("high", 3, ["T-P-01"], aliases=["C3"])
    kit.setup(
        [present], [high], [workflow(risk_class="C3")], [incident("I-1", "2026-05-01T00:00:00Z")]
    )
    assessment = kit.assess()
    assert assessment.workflow.risk_class == "high"
    assert assessment.control("T-P-01").status == "pass"


def test_pattern_errors_in_json_lines_are_located(kit: Kit) -> None:
    present = control("T-P-01", check("present"))
    good = incident("I-1", "2026-05-01T00:00:00Z")
    bad_sha = {**incident("I-2", "2026-05-02T00:00:00Z"), "sha256": "not-a-digest"}
    bad_id = {**incident(" I-3", "2026-05-03T00:00:00Z")}
    kit.setup([present], [risk_class("high", 3, ["T-P-01"])], [workflow()], [good, bad_sha, bad_id])
    run = kit.run("gate", "--workflow", "wf", "--as-of", AS_OF)
    assert run.code == 2
    lines = run.err.splitlines()
    assert any(x.startswith("evidence/records.jsonl:2") and "sha256" in x for x in lines), run.err
    assert any(x.startswith("evidence/records.jsonl:3") and "/id" in x for x in lines), run.err
    assert "Traceback" not in run.err


def test_pattern_violations_find_each_culprit() -> None:
    records = [codec.convert(drift(f"D-{i}", "2026-05-01T00:00:00Z")) for i in range(5)]
    assert codec.pattern_violations("drift_log", records) == set()
    import msgspec

    broken = [msgspec.structs.replace(records[1], sha256="ABC"), records[2]]
    broken.append(msgspec.structs.replace(records[3], id=" leading space"))
    broken.append(msgspec.structs.replace(records[4], id="trailing\n"))
    assert codec.pattern_violations("drift_log", broken) == {0, 2, 3}


def test_json_lines_keep_their_line_numbers_on_every_path(kit: Kit) -> None:
    """The whole-file fast path and the per-line path (taken when blank lines are present)
    point at the same lines."""
    every = control("T-E-01", check("every", assert_='r.severity == "SEV4"'))
    high = risk_class("high", 3, ["T-E-01"])
    records = [incident(f"I-{i}", f"2026-05-0{i}T00:00:00Z") for i in range(1, 4)]
    kit.setup([every], [high], [workflow()], records)
    dense = kit.control("T-E-01").checks[0]
    lines = kit.text("evidence/records.jsonl").splitlines()
    kit.write("evidence/records.jsonl", "\n\n".join(lines) + "\n")
    sparse = kit.control("T-E-01").checks[0]
    assert [e.line for f in dense.findings for e in f.evidence] == [1, 2, 3]
    assert [e.line for f in sparse.findings for e in f.evidence] == [1, 3, 5]


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


def test_a_failing_finding_names_only_the_unmet_part_of_a_condition(kit: Kit) -> None:
    every = control(
        "T-E-01",
        check(
            "every",
            assert_='r.owner != "" && r.acked_at - r.paged_at <= params.ack && size(r.timeline) > 0',
        ),
        params={"ack": param()},
    )
    high = risk_class("high", 3, ["T-E-01"], params={"T-E-01": {"ack": "5m"}})
    slow_ack = incident(
        "I-1",
        "2026-05-01T00:00:00Z",
        acked_at="2026-05-01T00:30:00Z",
        timeline=[{"ts": "2026-05-01T00:00:00Z", "entry": "paged"}],
    )
    kit.setup([every], [high], [workflow()], [slow_ack])
    (finding,) = kit.control("T-E-01").checks[0].findings
    assert "does not meet `r.acked_at - r.paged_at <= params.ack`" in finding.message
    assert "size(r.timeline)" not in finding.message
    assert "ack=5m" in finding.message


def test_github_annotations_name_files_relative_to_where_ci_runs(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = control("T-E-01", check("every", assert_='r.severity == "SEV4"'))
    kit.setup([every], [risk_class("high", 3, ["T-E-01"])], [workflow()], [incident("I-1", AS_OF)])
    monkeypatch.chdir(kit.root.parent)
    run = kit.run("gate", "--workflow", "wf", "--as-of", AS_OF, "--format", "github")
    assert run.code == 1
    assert "::error file=project/evidence/records.jsonl,line=1," in run.out


def test_a_symlink_loop_in_evidence_does_not_hang_the_loader(kit: Kit) -> None:
    present = control("T-P-01", check("present"))
    kit.setup(
        [present], [risk_class("high", 3, ["T-P-01"])], [workflow()], [incident("I-1", AS_OF)]
    )
    (kit.root / "evidence" / "loop").symlink_to(kit.root / "evidence")
    assessment = kit.assess()
    assert assessment.control("T-P-01").status == "pass"
    assert [i.path for i in assessment.inputs if i.role == "evidence"] == ["evidence/records.jsonl"]


def test_a_pack_refuses_inputs_outside_the_project(kit: Kit) -> None:
    present = control("T-P-01", check("present"))
    kit.setup(
        [present], [risk_class("high", 3, ["T-P-01"])], [workflow()], [incident("I-1", AS_OF)]
    )
    (kit.root / "policies").rename(kit.root.parent / "shared-policies")
    kit.write("assay.yaml", "policies: [../shared-policies]\n")
    out = kit.root / "pack.pdf"
    run = kit.run("pack", "--workflow", "wf", "--as-of", AS_OF, "--unsigned", "--output", str(out))
    assert run.code == 2
    assert "input ../shared-policies/catalog.yaml lies outside the project folder" in run.err
    assert not out.exists()
