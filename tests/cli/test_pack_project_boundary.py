"""`assay pack` carries only inputs inside the project folder: a policy folder outside it is
refused (exit 2) and no pack is written."""

from __future__ import annotations

from projectkit import AS_OF, Kit, check, control, incident, risk_class, workflow


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
    # Refused when the project is loaded, before any pack is built (item 11 of issue 8).
    assert "../shared-policies: error[OUTSIDE]: this path leads outside the project" in run.err
    assert not out.exists()
