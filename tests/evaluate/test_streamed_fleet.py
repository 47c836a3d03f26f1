"""A fleet assessed and written a batch of workflows at a time: the same Assessments and
the same report bytes as the whole fleet at once, made only as they are asked for (so the
gate's memory is bounded by a batch, not by the fleet; asserted here by the order of
events, never by a size or a time)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from projectkit import copy_project

from assay import evaluate
from assay.checks import query
from assay.cli.main import main
from assay.evaluate import assess_fleet, iter_fleet
from assay.formats.json import format_json, json_chunks
from assay.load.project import load_project
from assay.models.assessment import Assessment
from assay.models.time import parse_instant

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-20T12:00:00Z"


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    return copy_project(ROOT / "examples", tmp_path / "examples")


@pytest.mark.parametrize("engine", ["rows", "duckdb"])
@pytest.mark.parametrize("batch", [1, 2, None])
def test_batches_give_the_assessments_of_the_whole_fleet(
    examples: Path, engine: str, batch: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every check as a query, so a batch's queries (their range of workflows) are the ones
    # compared with the fleet's.
    monkeypatch.setattr(query, "MIN_ROWS", 0)
    when = parse_instant(AS_OF)
    with load_project(examples, engine=engine) as project:
        ids = sorted(project.workflows)
        assert len(ids) >= 3
        whole = [a.model_dump_json() for a in assess_fleet(project, ids, when)]
        streamed = [a.model_dump_json() for a in iter_fleet(project, ids, when, batch=batch)]
    assert streamed == whole


def test_workflows_are_assessed_only_when_asked_for(
    examples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    original = evaluate._queried

    def logged(project: Any, workflows: Any, when: Any, release: Any) -> Any:
        calls.append(list(workflows))
        return original(project, workflows, when, release)

    monkeypatch.setattr(evaluate, "_queried", logged)
    worded: list[str] = []
    finish = evaluate._finished

    def finished(project: Any, state: Any, inputs: Any) -> Assessment:
        worded.append(state.resolved.workflow.id)
        return finish(project, state, inputs)

    monkeypatch.setattr(evaluate, "_finished", finished)
    project = load_project(examples, engine="rows")
    ids = sorted(project.workflows)
    items = iter_fleet(project, ids, parse_instant(AS_OF), batch=2)
    assert calls == []  # nothing is assessed before the first is asked for
    got = []
    for index, assessment in enumerate(items):
        got.append(assessment.workflow.id)
        # The batch holding this workflow, and none after it, has been queried; this
        # workflow, and none after it, has been worded.
        assert calls == [ids[start : start + 2] for start in range(0, index + 1, 2)]
        assert worded == ids[: index + 1]
    assert got == ids


def test_a_bad_request_is_refused_before_anything_is_assessed(examples: Path) -> None:
    project = load_project(examples, engine="rows")
    with pytest.raises(Exception, match="unknown workflow 'nope'"):
        iter_fleet(project, ["nope"], parse_instant(AS_OF))
    with pytest.raises(ValueError, match="batch"):
        iter_fleet(project, None, parse_instant(AS_OF), batch=0)


def test_the_json_report_asks_for_each_assessment_once_the_one_before_is_written(
    examples: Path,
) -> None:
    project = load_project(examples, engine="rows")
    fleet = assess_fleet(project, sorted(project.workflows), parse_instant(AS_OF))
    events: list[str] = []

    def handed(items: list[Assessment]) -> Iterator[Assessment]:
        for item in items:
            events.append(f"ask {item.workflow.id}")
            yield item

    chunks = []
    for chunk in json_chunks(handed(fleet)):
        events.append("write")
        chunks.append(chunk)
    assert b"".join(chunks).decode() == format_json(fleet)
    ids = [a.workflow.id for a in fleet]
    # Two are looked at before the first write (one workflow is written without the fleet
    # envelope), then each is asked for only after the one before it was written.
    order = ["0", "1", "w", "w", "w", *[x for i in range(2, len(ids)) for x in (str(i), "w")], "w"]
    assert events == ["write" if e == "w" else f"ask {ids[int(e)]}" for e in order]
    for fleet_size in (0, 1):
        assert b"".join(json_chunks(iter(fleet[:fleet_size]))).decode() == format_json(
            fleet[:fleet_size]
        )


@pytest.mark.parametrize("engine", ["rows", "duckdb"])
def test_the_gate_streams_json_with_the_bytes_of_the_whole_fleet(
    examples: Path,
    engine: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with load_project(examples, engine=engine) as project:
        expected = format_json(assess_fleet(project, None, parse_instant(AS_OF)))
    monkeypatch.setattr(evaluate, "FLEET_BATCH", 1)  # one workflow at a time
    asked: list[int] = []
    original = evaluate._queried

    def logged(project: Any, workflows: Any, when: Any, release: Any) -> Any:
        asked.append(len(workflows))
        return original(project, workflows, when, release)

    monkeypatch.setattr(evaluate, "_queried", logged)
    gate = ["gate", "--project", str(examples), "--all", "--as-of", AS_OF, "--engine", engine]
    capsys.readouterr()
    assert main([*gate, "--format", "json"]) == 1
    assert capsys.readouterr().out == expected
    report = tmp_path / "out" / "report.json"
    assert main([*gate, "--format", f"json={report}"]) == 1
    assert report.read_text(encoding="utf-8") == expected
    assert asked and set(asked) == {1}
    # One workflow: its Assessment, as the library gives it.
    one = sorted(load_project(examples, engine="rows").workflows)[0]
    capsys.readouterr()
    main(["gate", "--project", str(examples), "--workflow", one, "--as-of", AS_OF, "-f", "json"])
    with load_project(examples, engine=engine) as project:
        alone = format_json(assess_fleet(project, [one], parse_instant(AS_OF)))
    assert capsys.readouterr().out == alone


def test_the_streamed_report_is_kept_for_the_replay_only_when_it_can_be_recorded(
    examples: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from assay.cli import replay, stream

    project = load_project(examples, engine="rows")
    fleet = assess_fleet(project, sorted(project.workflows), parse_instant(AS_OF))
    expected = format_json(fleet)
    capsys.readouterr()
    with stream.stream_json(iter(fleet), None, keep=True) as (code, kept):
        assert code == 1 and capsys.readouterr().out == expected
        assert kept is not None and kept.target is None
        assert isinstance(kept.text, replay.Spool)  # in a file, not in memory
        assert b"".join(kept.chunks()).decode() == expected
        assert kept.length() == len(expected.encode())
    with stream.stream_json(iter(fleet), None, keep=False) as (code, kept):
        assert kept is None
    assert capsys.readouterr().out == expected
    monkeypatch.setattr(stream, "MAX_ENTRY_BYTES", len(expected.encode()) // 2)
    with stream.stream_json(iter(fleet), None, keep=True) as (code, kept):
        assert code == 1 and capsys.readouterr().out == expected  # written whole all the same
        assert kept is None  # too large to be recorded
