"""Excerpts that show the decision: the record each finding points at, one field per row
with its file line, the fields the check read highlighted, no token broken, one excerpt
per record per finding; the appendix, the graph, the verdict word and the pointer legend."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml
from pack_support import Render

from assay.load.project import Project
from assay.models.assessment import Assessment, EvidencePointer, Verdict
from assay.pack.excerpts import MAX_TOKEN_CHARS, ExcerptSource
from assay.pack.policy import resolved_policy_for
from assay.pack.svg import HEAVY


def _article(page: str, control: str) -> str:
    start = page.index(f'<article class="control" id="control-{control}">')
    return page[start : page.index("</article>", start)]


def _excerpt_marks(fragment: str) -> list[tuple[str, str]]:
    """(row text without its line number, mark) of every excerpt line below the pointer
    lines of the ``<pre class="excerpt">`` blocks of ``fragment``; the mark is ``key`` (a
    field of the unmet condition), ``read`` (another field the check read) or ``""``."""
    rows = []
    for block in re.findall(r'<pre class="excerpt">(.*?)</pre>', fragment, re.S):
        mark = ""
        for line in block.split("\n"):
            if line.startswith("<a "):  # a pointer line
                mark = ""
                continue
            opened = re.match(r'<span class="(\w+)">', line)
            mark = opened[1] if opened else mark
            text = html.unescape(re.sub(r"<[^>]+>", "", line))
            rows.append((re.sub(r"^\s*\d*\s+", "", text).rstrip(), mark))
            mark = "" if "</span>" in line else mark
    return rows


def _excerpt_rows(fragment: str) -> list[tuple[str, bool]]:
    """(row text, highlighted?) of the excerpt lines of ``fragment``."""
    return [(text, bool(mark)) for text, mark in _excerpt_marks(fragment)]


def _failing_findings(fragment: str) -> list[str]:
    return re.findall(r'<li class="finding outcome-fail">(.*?)</li>', fragment, re.S)


def test_failing_canary_excerpt_shows_started_at_and_ended_at(unsigned_html: str) -> None:
    [finding] = _failing_findings(_article(unsigned_html, "PROD-CANARY-01"))
    rows = _excerpt_rows(finding)
    # The canary report of dep-3: its times are what the 48 h minimum was measured on.
    assert ("started_at: 2026-04-21T08:00:00Z", True) in rows
    assert ("ended_at: 2026-04-22T14:00:00Z", True) in rows
    assert ("verdict: pass", True) in rows and ("max_traffic_pct: 5", True) in rows
    # The deployment it gates: the promotion time the deadline runs from, and the filter.
    assert ("promoted_at: 2026-04-22T15:00:00Z", True) in rows
    assert ("environment: prod", True) in rows
    assert ("emergency: false (not in the file: the default)", True) in rows
    # The fields of the condition the canary did not meet are marked apart.
    marks = dict(_excerpt_marks(finding))
    assert marks["started_at: 2026-04-21T08:00:00Z"] == "key"  # the canary's (r)
    assert marks["ended_at: 2026-04-22T14:00:00Z"] == "key"
    assert marks["verdict: pass"] == "read" and marks["started_at: 2026-04-21T08:00:00Z"]
    # A failure shows its records whole: what the check did not read is there, plain.
    assert ("id: canary-dep-3", False) in rows and ("kind: canary_report", False) in rows
    assert ("sample_size: 120003", False) in rows
    assert ("source_uri: https://ci.example.com/canary_report/canary-dep-3", False) in rows


def test_failing_canary_excerpt_in_the_pdf_text(
    unsigned_render: Render, tmp_path: Path, run_tool: object
) -> None:
    path = tmp_path / "pack.pdf"
    path.write_bytes(unsigned_render.pdf)
    text = run_tool("pdftotext", "-layout", path, "-", check=True).stdout  # type: ignore[operator]
    start = text.index("canary-dep-3 does not count")
    window = text[start : start + 3000]
    assert re.search(r"\bstarted_at: 2026-04-21T08:00:00Z", window)
    assert re.search(r"\bended_at: 2026-04-22T14:00:00Z", window)
    # The rows keep the file's line numbers: dep-3 starts on line 33 of deploys.yaml.
    assert re.search(r"\b33\s+id: dep-3", window)


def test_excerpts_keep_the_file_lines_and_break_no_token(
    sample_assessment: Assessment, sample_project: Project
) -> None:
    source = ExcerptSource(sample_project.files)
    files = {f.path: f.data.decode().split("\n") for f in sample_project.files}
    seen_yaml = seen_jsonl = 0
    for control in sample_assessment.controls:
        for check in control.checks:
            for finding in check.findings:
                for pointer in finding.evidence:
                    excerpt = source.excerpt(pointer, check.reads.get(pointer.kind or ""))
                    assert excerpt is not None, pointer
                    for row in excerpt.rows:
                        assert all(len(t) <= MAX_TOKEN_CHARS for t in row.text.split(" "))
                        if row.line is None:
                            continue
                        key = row.text.split(":", 1)[0].lstrip("- ")
                        source_line = files[pointer.file][row.line - 1]
                        assert key in source_line, (pointer.file, row.line, row.text)
                    seen_yaml += pointer.file.endswith(".yaml")
                    seen_jsonl += pointer.file.endswith(".jsonl")
    assert seen_yaml and seen_jsonl


def test_a_long_json_lines_value_is_cut_at_a_word_and_keeps_its_tokens() -> None:
    from assay.pack.excerpts import _scalar

    value = "word " * 40 + "https://example.com/" + "x" * 90
    shown = _scalar(value)
    assert shown.endswith(" …") and len(shown) < 150
    assert all(len(token) <= MAX_TOKEN_CHARS for token in _scalar("y" * 200).split(" "))


def test_one_excerpt_per_record_per_finding(unsigned_html: str) -> None:
    # A drift run records its own triage, so each finding lists the record twice.
    article = _article(unsigned_html, "PROD-DRIFT-01")
    findings = re.findall(r'<li class="finding outcome-(?:pass|fail)">(.*?)</li>', article, re.S)
    covered = [f for f in findings if "was triaged" in f]
    assert len(covered) == 2
    for finding in covered:
        assert finding.count('<pre class="excerpt">') == 1
        assert finding.count("<a href=") == 1  # one pointer line, one record


def test_unknown_reads_show_the_whole_record(sample_project: Project) -> None:
    source = ExcerptSource(sample_project.files)
    pointer = EvidencePointer(file="evidence/canaries.jsonl", line=3, sha256="0" * 64)
    excerpt = source.excerpt(pointer, None)
    assert excerpt is not None and not excerpt.hidden
    assert not any(row.read for row in excerpt.rows)
    assert [r.text for r in excerpt.rows if r.text.startswith("source_uri")]
    nested = [r for r in excerpt.rows if r.depth == 2]
    assert [r.text for r in nested][:2] == ["canary: 0.011", "control: 0.012"]
    assert "- name: error_rate" in [r.text for r in excerpt.rows if r.depth == 1]
    missing = EvidencePointer(file="evidence/canaries.jsonl", line=99, sha256="0" * 64)
    assert source.excerpt(missing) is None


def test_appendix_b_is_yaml_and_tables_of_the_embedded_policy(
    unsigned_html: str, sample_assessment: Assessment, sample_project: Project
) -> None:
    appendix = unsigned_html[unsigned_html.index('id="appendix-policy"') :]
    appendix = appendix[: appendix.index("</section>")]
    assert "\\&#34;" not in appendix  # no JSON string escapes
    assert '"controls"' not in appendix and 'class="json"' not in appendix
    policy = resolved_policy_for(sample_assessment, sample_project)
    listings = [
        yaml.safe_load(html.unescape(text))
        for text in re.findall(r'<pre class="yaml">(.*?)</pre>', appendix, re.S)
    ]
    embedded = [control["checks"] for control in policy["controls"] if control["checks"]]
    assert listings == embedded  # what is printed is what is embedded, check for check
    for control in policy["controls"]:
        assert f'<code class="cid">{control["id"]}</code>' in appendix


def test_the_graph_is_laid_out_by_dot_with_failed_and_blocked_marked(
    unsigned_html: str, sample_assessment: Assessment
) -> None:
    graph = unsigned_html[unsigned_html.index('<figure class="graph">') :]
    graph = graph[: graph.index("</figure>")]
    assert 'class="graph"' in graph  # Graphviz's own top group
    for control in sample_assessment.controls:
        assert f"status&#45;{control.status}" in graph or f"status-{control.status}" in graph
    heavy = re.findall(r'class="node status&#45;(\w+)">.*?stroke-width="([0-9.]+)"', graph, re.S)
    assert heavy and all((float(w) > 2) == (s in HEAVY) for s, w in heavy)
    assert 'class="edge blocked"' in graph
    assert "blocking dependency" in graph


def test_one_verdict_word_everywhere(unsigned_html: str, sample_assessment: Assessment) -> None:
    word = sample_assessment.verdict.value
    assert word == Verdict.NON_COMPLIANT.value
    assert "NOT COMPLIANT" not in unsigned_html.upper().replace("NON-COMPLIANT", "")
    cover = unsigned_html[: unsigned_html.index('<nav class="toc">')]
    assert f'<span class="verdict-text">{word}</span>' in cover
    assert f"· {word}" in cover  # the running footer of every page
    summary = unsigned_html[unsigned_html.index('id="summary"') :]
    assert f'<strong class="bad">{word}</strong>' in summary


def test_the_pointer_notation_is_explained(unsigned_html: str) -> None:
    legend = unsigned_html[unsigned_html.index('<div class="legend">') :]
    legend = legend[: legend.index("</div>")]
    assert "<code>file:line /N</code>" in legend
    assert "counting from 0" in legend and "JSON Lines" in legend
    # And the notation is what the findings use: a YAML list item carries its /N.
    assert "evidence/deploys.yaml:33 /2</a>" in unsigned_html
    assert "evidence/canaries.jsonl:3</a>" in unsigned_html


def test_passing_findings_are_sampled_and_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from projectkit import Kit, check, control, incident, postmortem, risk_class

    from assay.pack.html import PASSES_SHOWN, render_html

    covered = check(
        "covered", "incident", by={"evidence": "postmortem", "key": "incident_id"},
        deadline="5d", from_field="aware_at", to_field="published_at",
    )  # fmt: skip
    days = range(1, PASSES_SHOWN + 5)
    kit = Kit(
        tmp_path, capsys
    ).setup(
        [control("C-PM-01", covered)],
        [risk_class("high", 3, ["C-PM-01"])],
        evidence=[incident(f"INC-{d}", f"2026-05-{d:02d}T00:00:00Z") for d in days]
        # every incident has its postmortem in time but the first
        + [postmortem(f"PM-{d}", f"INC-{d}", f"2026-05-{d + 1:02d}T00:00:00Z") for d in days[1:]],
    )
    page = render_html(kit.assess(), kit.load())
    article = _article(page, "C-PM-01")
    assert article.count('<li class="finding outcome-fail">') == 1  # every failure
    assert article.count('<li class="finding outcome-pass">') == PASSES_SHOWN
    assert "3 more passing findings of this check are listed in the embedded" in article
