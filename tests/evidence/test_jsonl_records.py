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


def test_a_file_whose_quotes_differ_is_cleared_or_refused_as_a_whole_then_per_record() -> None:
    """Optional fields written with their default (``"resolved_at": null``) make the quote
    count differ: one parse of the whole batch clears such a file; a duplicate key in it
    is still found, at its record's line."""
    import json

    from assay.evidence.index import SourceFile, validate_json_lines

    lines = [
        json.dumps({**incident(f"I-{i}", f"2026-05-0{i}T00:00:00Z"), "resolved_at": None})
        for i in range(1, 5)
    ]
    source = SourceFile("evidence/records.jsonl", "0" * 64)
    records, errors = validate_json_lines("\n".join(lines).encode() + b"\n", source, {"wf"})
    assert (len(records), errors) == (4, [])
    lines[2] = lines[2].replace('"resolved_at": null', '"resolved_at": null, "resolved_at": null')
    records, errors = validate_json_lines("\n".join(lines).encode() + b"\n", source, {"wf"})
    assert [r.line for r in records] == [1, 2, 4]
    (error,) = errors
    assert "duplicate key 'resolved_at'" in str(error)
    assert error.location is not None and error.location.line == 3
