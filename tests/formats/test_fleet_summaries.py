"""A fleet's CI summaries fit GitHub's limits: the Markdown job summary stays far below
1 MiB for 200 workflows, and the annotations stay within 10 errors and 10 warnings per
step, saying how many were not shown and logging them instead.

The fleet comes from the benchmark's generator (benchmarks/generate_fleet.py), small and
every workflow troubled; 25 generated workflows are assessed and each assessment is given
eight workflow ids, making 200 workflows whose reports are as big as 200 generated ones,
at an eighth of the time.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from assay import assess, load_project
from assay.formats.github import PER_STEP, format_github
from assay.formats.markdown import SUMMARY_BUDGET, format_markdown
from assay.models.assessment import Assessment
from assay.models.time import parse_instant

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-20T12:00:00Z"
MIB = 1024 * 1024
SMALL = [
    "--workflows", "25", "--drift-records", "500", "--deploys", "75", "--incidents", "25",
    "--feedback", "50", "--troubled-share", "1.0", "--seed", "11", "--as-of", AS_OF,
]  # fmt: skip


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> list[Assessment]:
    spec = importlib.util.spec_from_file_location(
        "generate_fleet", ROOT / "benchmarks" / "generate_fleet.py"
    )
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generator  # dataclasses look their module up while being built
    spec.loader.exec_module(generator)
    out = tmp_path_factory.mktemp("fleet") / "fleet"
    generator.generate(generator.parse_args(["--out", str(out), *SMALL]))
    project = load_project(out)
    when = parse_instant(AS_OF)
    generated = [assess(project, wf, when) for wf in project.workflows]
    assert len(generated) == 25
    return [
        a.model_copy(
            update={"workflow": a.workflow.model_copy(update={"id": f"{a.workflow.id}-{n}"})}
        )
        for n in range(8)
        for a in generated
    ]


def test_the_fleet_is_big_and_troubled(fleet: list[Assessment]) -> None:
    assert len({a.workflow.id for a in fleet}) == 200
    assert sum(1 for a in fleet if not a.compliant) >= 150


def test_a_200_workflow_summary_is_far_below_githubs_limit(fleet: list[Assessment]) -> None:
    out = format_markdown(fleet)
    size = len(out.encode())
    assert size <= SUMMARY_BUDGET <= MIB // 2
    # every workflow has its overview row, failing ones first
    rows = re.findall(
        r"^\| `([^`]+)` \|.*\| (✅ Compliant|❌ Non-compliant|⛔ Prohibited) \|", out, re.M
    )
    assert sorted(name for name, _ in rows) == sorted(a.workflow.id for a in fleet)
    verdicts = [verdict for _, verdict in rows]
    assert verdicts == sorted(verdicts, key=lambda v: not v.startswith(("❌", "⛔")))
    # passes are collapsed: no pass rows, each workflow's passes inside one <details>
    assert "| **pass** |" not in out and "| **not applicable** |" not in out
    assert out.count("<details>") == out.count("</details>")
    assert re.search(r"<details>\n<summary>\d+ controls pass", out)
    # a failing workflow has a section or is named as left out, never silently dropped
    sections = set(re.findall(r"^### .*?: `([^`]+)`", out, re.M))
    note = re.search(r"_The sections of (\d+) more workflows are left out[^_]*_", out)
    named = set(re.findall(r"`([^`]+)`", note.group(0))) if note else set()
    for a in fleet:
        if not a.compliant:
            assert a.workflow.id in sections | named or (note and " more." in note.group(0))
    if note:
        assert int(note.group(1)) == sum(1 for a in fleet if not a.compliant) - len(sections)


def test_the_budget_holds_whatever_it_is(fleet: list[Assessment]) -> None:
    everything = format_markdown(fleet, max_bytes=100 * MIB)
    assert "left out" not in everything
    assert len(re.findall(r"^### ❌", everything, re.M)) == sum(1 for a in fleet if not a.compliant)
    for budget in (20_000, 100_000, 300_000):
        out = format_markdown(fleet, max_bytes=budget)
        assert len(out.encode()) <= budget
        shown = len(re.findall(r"^### ❌", out, re.M))
        left = re.search(r"_The sections of (\d+) more workflow", out)
        assert left is not None and shown + int(left.group(1)) == sum(
            1 for a in fleet if not a.compliant
        )
    small = format_markdown(fleet, max_bytes=20_000)
    assert "more workflows (" in small  # even the overview table gave way, and says so


def test_annotations_stay_within_the_per_step_caps(fleet: list[Assessment]) -> None:
    out = format_github(fleet)
    lines = out.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    errors = [line for line in commands if line.startswith("::error ")]
    warnings = [line for line in commands if line.startswith("::warning ")]
    notices = [line for line in commands if line.startswith("::notice ")]
    assert len(errors) == PER_STEP == 10
    assert len(warnings) <= PER_STEP and len(notices) == 1
    assert len(errors) + len(warnings) + len(notices) <= 50  # the per-job cap
    # the others are in the log, inside a group, as plain lines (never commands)
    start = lines.index(next(line for line in lines if line.startswith("::group::")))
    end = lines.index("::endgroup::")
    hidden = lines[start + 1 : end]
    assert hidden and all(re.match(r"(error|warning): \S", line) for line in hidden)
    total = len(errors) + len(hidden)  # every finding is either an annotation or a line
    assert f"::group::Assay: {len(hidden)} more findings" in lines[start]
    assert f"Not shown as annotations: {total - PER_STEP} of {total} errors" in notices[0]
    assert notices[0].count("%0A") <= 25  # a verdict per workflow for 20, then a count
    bad = sum(1 for a in fleet if not a.compliant)
    assert f"… and 180 more workflows ({bad - 20} not compliant)" in notices[0]
    # the most severe are the ones annotated
    ranks = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    severity = {c.id: c.severity for a in fleet for c in a.controls}
    shown = [ranks[severity[re.search(r"title=(\S+)", e).group(1)]] for e in errors]  # type: ignore[union-attr]
    logged = [ranks[severity[re.search(r": (PROD-\S+) ", h).group(1)]] for h in hidden]  # type: ignore[union-attr]
    assert max(shown) <= min(logged)


def test_a_small_gate_annotates_everything(noncompliant: Assessment) -> None:
    out = format_github([noncompliant])
    assert "::group::" not in out and "Not shown" not in out
    assert all(line.startswith("::") for line in out.splitlines())
