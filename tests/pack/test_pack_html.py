"""render_html: exact output (golden file), escaping of hostile evidence, contents."""

from __future__ import annotations

import os
from pathlib import Path

from pack_support import HOSTILE

from assay.load.project import Project
from assay.models.assessment import Assessment
from assay.pack import render_html
from assay.pack.html import SignerView
from assay.pack.manifest import MANIFEST_NAME

GOLDEN = Path(__file__).parent / "golden" / "pack.html"


def test_render_html_matches_golden(sample_assessment: Assessment, sample_project: Project) -> None:
    signer = SignerView("Assay Test Signer", "AB:CD:" + ":".join(["00"] * 30))
    html = render_html(sample_assessment, sample_project, signer=signer)
    assert 'SHA-256 <code class="fingerprint">AB:CD:00' in html
    if os.environ.get("ASSAY_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(html, encoding="utf-8")
    assert html == GOLDEN.read_text(encoding="utf-8"), (
        "pack HTML changed; review it and re-run with ASSAY_UPDATE_GOLDEN=1"
    )


def test_hostile_evidence_is_escaped(unsigned_html: str) -> None:
    assert HOSTILE not in unsigned_html
    assert "<script" not in unsigned_html
    assert '<img src="file:' not in unsigned_html and "<link rel=" not in unsigned_html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in unsigned_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in unsigned_html


def test_html_names_every_control_and_verdict(
    unsigned_html: str, sample_assessment: Assessment
) -> None:
    assert "NON-COMPLIANT" in unsigned_html
    for control in sample_assessment.controls:
        assert f'id="control-{control.id}"' in unsigned_html
        assert f'href="#control-{control.id}"' in unsigned_html
    assert "unsigned</strong>" in unsigned_html
    assert 'name="dcterms.created" content="2026-05-01T12:00:00Z"' in unsigned_html


def test_findings_link_to_the_evidence_index(unsigned_html: str) -> None:
    from assay.pack.html import anchor

    target = anchor("inputs/evidence/changes.jsonl")
    assert f'href="#{target}"' in unsigned_html and f'id="{target}"' in unsigned_html
    assert MANIFEST_NAME in unsigned_html


def test_other_workflows_evidence_stays_out(unsigned_html: str) -> None:
    assert "evidence/other.jsonl" not in unsigned_html


def test_a_summary_that_restates_the_description_is_not_doubled(
    unsigned_html: str, sample_assessment: Assessment
) -> None:
    checks = [k for c in sample_assessment.controls for k in c.checks]
    restating = [k for k in checks if k.summary.startswith(k.description.rstrip("."))]
    own = [k for k in checks if k not in restating]
    assert restating and own  # the sample has both kinds
    for k in restating:
        assert f'<p class="check-desc">{k.description}</p>' not in unsigned_html
        assert k.summary in unsigned_html
    for k in own:
        assert f'<p class="check-desc">{k.description}</p>' in unsigned_html
