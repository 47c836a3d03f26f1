"""``codec.pattern_violations``: the pattern-constrained fields of many records are checked
in one pass, and when that pass fails every record that breaks a pattern is found."""

from __future__ import annotations

from projectkit import drift

from assay.models import codec


def test_pattern_violations_find_each_culprit() -> None:
    records = [codec.convert(drift(f"D-{i}", "2026-05-01T00:00:00Z")) for i in range(5)]
    assert codec.pattern_violations("drift_log", records) == set()
    import msgspec

    broken = [msgspec.structs.replace(records[1], sha256="ABC"), records[2]]
    broken.append(msgspec.structs.replace(records[3], id=" leading space"))
    broken.append(msgspec.structs.replace(records[4], id="trailing\n"))
    assert codec.pattern_violations("drift_log", broken) == {0, 2, 3}
