"""docs/catalog.md is the Markdown rendering of the bundled policies, and what it shows for
each class is what the engine resolves."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

import assay
from assay.formats.catalog_markdown import _lineage, _values, catalog_markdown
from assay.models.config import BUNDLED_POLICIES
from assay.models.policy import Catalog, Control, RiskClass
from assay.resolve import _params, lineage, typed_value

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "catalog.md"


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> assay.Project:
    root = tmp_path_factory.mktemp("bundled")
    (root / "assay.yaml").write_text("policies: [bundled]\n", encoding="utf-8")
    (root / "evidence").mkdir()
    (root / "evidence" / "drill.yaml").write_text(
        "id: d-1\nkind: drill_record\nworkflow: wf\ncreated_at: 2026-01-05T00:00:00Z\n"
        "recorded_by: sre\nsource_uri: https://example.test/d-1\nsha256: '" + "0" * 64 + "'\n"
        "drill_type: rollback\nperformed_at: 2026-01-05T00:00:00Z\nmeasured_rto_min: 5\n"
        "result: pass\n",
        encoding="utf-8",
    )
    (root / "workflows").mkdir()
    (root / "workflows" / "wf.yaml").write_text(
        "id: wf\nname: W\nowner: o\nrisk_class: minimal\nlaunched: 2026-01-05\n",
        encoding="utf-8",
    )
    return assay.load_project(root)


def bundled_catalogs() -> list[tuple[str, str]]:
    catalog = Catalog.model_validate(
        yaml.safe_load((BUNDLED_POLICIES / "catalog.yaml").read_text(encoding="utf-8"))
    )
    return [(catalog.catalog, catalog.version)]


def render(project: assay.Project) -> str:
    return catalog_markdown(
        project.controls.values(), project.classes.values(), catalogs=bundled_catalogs()
    )


def test_docs_catalog_is_the_rendering_of_the_bundled_policies(bundled: assay.Project) -> None:
    text = render(bundled)
    if os.environ.get("ASSAY_UPDATE_GOLDEN") == "1":
        DOC.write_text(text, encoding="utf-8")
    assert DOC.read_text(encoding="utf-8") == text, (
        "docs/catalog.md is stale: review the policy change and re-run with "
        "ASSAY_UPDATE_GOLDEN=1 (or `assay catalog export --format markdown`)"
    )
    assert text.startswith("# Control catalog: prod-reference 1.0.0\n")
    # A check on files (sealed) names what it reads in words, not a placeholder kind.
    assert "on `all`" not in text and "(sealed on every evidence file)" in text
    for control_id in bundled.controls:
        assert f"\n## {control_id}\n" in text


def _same(spec: Any, a: Any, b: Any) -> bool:
    ta, tb = typed_value(spec, a), typed_value(spec, b)
    if isinstance(ta, tuple):
        return set(ta) == set(tb)
    return bool(ta == tb)


@pytest.mark.parametrize("class_id", ["minimal", "limited", "high", "critical"])
def test_values_shown_are_the_engines(class_id: str, bundled: assay.Project) -> None:
    """Class values after inheritance, and the stricter hypercare ones, as resolve() has them."""
    chain = lineage(bundled, class_id)
    mine = _lineage(bundled.classes, class_id)
    required = {cid for risk in chain for cid in risk.controls}
    checked = 0
    for cid in sorted(required):
        control = bundled.controls[cid]
        plain, _ = _params(control, chain, in_hypercare=False)
        strict, _ = _params(control, chain, in_hypercare=True)
        for name, spec in control.params.items():
            value, hypercare = _values(cid, name, spec, mine)
            assert value is not None and _same(
                spec, value, str(plain[name]) if spec.type == "duration" else plain[name]
            )
            shown_hc = hypercare if hypercare is not None else value
            engine_hc = strict[name]
            engine_hc = str(engine_hc) if spec.type == "duration" else engine_hc
            if isinstance(engine_hc, tuple):
                engine_hc = list(engine_hc)
            assert _same(spec, shown_hc, engine_hc), (cid, name, shown_hc, engine_hc)
            checked += 1
    assert checked > 50


def _control(**fields: Any) -> Control:
    base: dict[str, Any] = {
        "id": "X-PIPE-01",
        "title": "A | B <script>alert(1)</script>",
        "intent": "Line one\nline | two",
        "severity": "low",
        "evidence": ["incident"],
        "params": {"due": {"type": "duration", "description": "Due | soon", "stricter": "lower"}},
        "checks": [
            {
                "id": "c",
                "kind": "present",
                "description": "Something exists.",
                "evidence": "incident",
                "where": 'r.severity == "SEV1" || r.owner != ""',
            }
        ],
        "mappings": {"eu_ai_act": ["Art. 72"]},
        "remediation": "Fix it.",
    }
    base.update(fields)
    return Control.model_validate(base)


def test_author_text_cannot_break_the_tables() -> None:
    risk = RiskClass.model_validate(
        {
            "id": "low",
            "title": "Low | class",
            "level": 1,
            "controls": ["X-PIPE-01"],
            "params": {"X-PIPE-01": {"due": "5bd"}},
            "hypercare": {"params": {"X-PIPE-01": {"due": "2bd"}}},
        }
    )
    text = catalog_markdown([_control()], [risk])
    assert "A \\| B &lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>" not in text
    assert "Line one line \\| two" in text
    row = next(line for line in text.splitlines() if line.startswith("| `due`"))
    assert row == (
        "| `due` | Due \\| soon | lower | 5 business days (5bd)<br>hypercare: "
        "2 business days (2bd) |"
    )
    # CEL sits in a code block, outside any table.
    assert '  where: r.severity == "SEV1" || r.owner != ""' in text


def test_the_rendering_is_deterministic(bundled: assay.Project) -> None:
    once = render(bundled)
    again = catalog_markdown(
        bundled.controls.values(),
        reversed(list(bundled.classes.values())),
        catalogs=bundled_catalogs(),
    )
    assert once == again


def test_catalog_export_markdown_from_the_cli_is_docs_catalog(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from assay.cli import main

    examples = Path(__file__).resolve().parents[2] / "examples"  # policies: [bundled]
    assert main(["catalog", "export", "--format", "markdown", "--project", str(examples)]) == 0
    assert capsys.readouterr().out == DOC.read_text(encoding="utf-8")
