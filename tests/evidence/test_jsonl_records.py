"""JSON Lines evidence: records that break a field pattern are reported at their line, and
line numbers are the same on the whole-file fast path and the per-line path."""

from __future__ import annotations

from projectkit import AS_OF, Kit, check, control, incident, risk_class, workflow


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


def test_the_quick_duplicate_check_agrees_with_the_token_walk() -> None:
    """The C-parser pre-check clears a record only when the exact walk finds nothing:
    keys compared decoded, in nested objects and lists, escapes included."""
    from assay.evidence.index import _has_duplicate_key
    from assay.parsing.jsonsafe import find_duplicate_key

    cases = [
        '{"a": 1, "b": "x"}',
        '{"a": 1, "a": 2}',
        '{"a": 1, "\\u0061": 2}',
        '{"x": {"a": 1, "a": null}}',
        '{"x": [{"a": 1}, {"a": 1}]}',
        '{"x": [{"a": 1, "b": [{"c": 1, "c": 2}]}]}',
        '{"note": "\\"a\\": 1, \\"a\\": 2", "a": 1}',
        '{"a\\"": 1, "a": 2}',
        '{"a": "b", "b": "a"}',
        '{"": 1, "": 2}',
        '{"n": NaN}',
    ]
    for text in cases:
        walk = find_duplicate_key(text) is not None
        assert _has_duplicate_key(text) == walk, text
    assert [_has_duplicate_key(t) for t in cases] == [
        False, True, True, True, False, True, False, False, False, True, False,
    ]  # fmt: skip
