"""A gate of one workflow through the store reads that workflow's share of the evidence,
and gives what reading every workflow gives."""

from __future__ import annotations

from projectkit import Kit, check, control, drift, risk_class, workflow

from assay.evidence.index import EvidenceIndex
from assay.evidence.store import StoredEvidence
from assay.load.project import load_project
from assay.models.time import parse_instant


def _setup(kit: Kit) -> None:
    kit.setup(
        controls=[control("C-1", check("present", "drift_log", min=1))],
        classes=[risk_class("high", 3, ["C-1"])],
        workflows=[workflow("a"), workflow("b")],
    )
    kit.dump(
        "evidence/a.jsonl",
        [
            drift("a1", "2026-05-01T00:00:00Z", workflow="a"),
            drift("a2", "2026-05-20T00:00:00Z", workflow="a"),
        ],
    )
    kit.dump(
        "evidence/b.jsonl",
        [
            drift("b1", "2026-05-02T00:00:00Z", workflow="b"),
            drift("b2", "2026-05-21T00:00:00Z", workflow="b"),
            drift("b3", "2026-05-22T00:00:00Z", workflow="b"),
        ],
    )
    kit.dump("evidence/both.jsonl", [drift("ab", "2026-05-25T00:00:00Z", workflow="a")])


def test_records_after_the_as_of_are_counted_for_one_workflow_or_all_alike(kit: Kit) -> None:
    _setup(kit)
    as_of = parse_instant("2026-05-10T00:00:00Z")
    rows = load_project(kit.root, engine="rows")
    assert isinstance(rows.evidence, EvidenceIndex)
    expected = {w: rows.evidence.created_after_by_file(w, as_of) for w in ("a", "b")}
    assert expected == {
        "a": {"evidence/a.jsonl": 1, "evidence/both.jsonl": 1},
        "b": {"evidence/b.jsonl": 2},
    }
    with load_project(kit.root, engine="duckdb") as project:
        evidence = project.evidence
        assert isinstance(evidence, StoredEvidence)
        assert evidence.created_after_by_file("b", as_of) == expected["b"]
        assert evidence._later is not None and evidence._later[2] == {"b"}
        assert set(evidence._later[1]) == {"b"}  # the first workflow is counted alone
        assert evidence.created_after_by_file("a", as_of) == expected["a"]
        assert evidence._later[2] is None  # a second one: every workflow at once
        assert evidence.created_after_by_file("b", as_of) == expected["b"]
        later = parse_instant("2026-05-21T12:00:00Z")
        assert evidence.created_after_by_file("b", later) == {"evidence/b.jsonl": 1}
        assert evidence.created_after_by_file("a", later) == {"evidence/both.jsonl": 1}


def test_one_workflow_reads_the_object_rows_of_its_own_files_only(kit: Kit) -> None:
    _setup(kit)
    with load_project(kit.root, engine="duckdb") as project:
        evidence = project.evidence
        assert isinstance(evidence, StoredEvidence)
        store = evidence.store
        assert store._all_objects is None  # opening reads no object rows
        assert evidence.count({"b"}, "drift_log") == 3
        assert [r.id for r in evidence.records("b", "drift_log")] == ["b1", "b2", "b3"]
        b_blobs = {f.blob for f in store.files if f.path == "evidence/b.jsonl"}
        assert store._all_objects is None and set(store._some_objects) == b_blobs
        assert store.kinds() == ["drift_log"]
        # A second workflow: every blob's objects at once, and the same answers as a
        # count over every file.
        assert evidence.count({"a"}, "drift_log") == 3  # a.jsonl's two and both.jsonl's one
        assert [r.id for r in evidence.records("a", "drift_log")] == ["a1", "a2", "ab"]
        assert store._all_objects is not None
        assert evidence.count({"a", "b"}, "drift_log") == 6
        assert evidence.count({"b"}, "drift_log") == 3
        assert evidence.count({"b"}, "incident") == 0
