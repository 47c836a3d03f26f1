"""`assay gate --format github`: annotations name files relative to where CI runs (the
repository root), not to the project folder."""

from __future__ import annotations

import pytest
from projectkit import AS_OF, Kit, check, control, incident, risk_class, workflow


def test_github_annotations_name_files_relative_to_where_ci_runs(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = control("T-E-01", check("every", assert_='r.severity == "SEV4"'))
    kit.setup([every], [risk_class("high", 3, ["T-E-01"])], [workflow()], [incident("I-1", AS_OF)])
    monkeypatch.chdir(kit.root.parent)
    run = kit.run("gate", "--workflow", "wf", "--as-of", AS_OF, "--format", "github")
    assert run.code == 1
    assert "::error file=project/evidence/records.jsonl,line=1," in run.out
