"""`assay diff OLD.json NEW.json`: what changed between two assessments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from authoring_kit import BASIC
from click.testing import CliRunner

from assay.authoring.diff import diff_assessments, load_assessments
from assay.cli.authoring import diff_command
from assay.errors import InputError, UsageError
from assay.evaluate import assess
from assay.formats.diff import diff_text
from assay.formats.json import format_json
from assay.load.project import load_project
from assay.models.time import parse_instant

EARLY = "2026-05-20T00:00:00Z"  # INC-2 acked late: TEST-INC-01 fails, the rest blocked
LATE = "2026-09-20T00:00:00Z"  # INC-2 out of the window; no review: TEST-REVIEW-01 fails


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("diff")
    project = load_project(BASIC)
    out = {}
    for name, when in (("early", EARLY), ("late", LATE)):
        assessment = assess(project, "fraud", parse_instant(when))
        out[name] = base / f"{name}.json"
        out[name].write_text(format_json([assessment]), encoding="utf-8")
    return out


def _run(*args: str) -> tuple[int | None, str, BaseException | None]:
    result = CliRunner().invoke(diff_command, list(args), standalone_mode=False)
    return result.return_value, result.output, result.exception


def test_statuses_of_the_fixture(files: dict[str, Path]) -> None:
    early = {c.id: c.status for c in load_assessments(files["early"])[0].controls}
    late = {c.id: c.status for c in load_assessments(files["late"])[0].controls}
    assert early == {"TEST-INC-01": "fail", "TEST-PM-01": "blocked", "TEST-REVIEW-01": "blocked"}
    assert late == {"TEST-INC-01": "pass", "TEST-PM-01": "pass", "TEST-REVIEW-01": "fail"}


def test_worse_direction_names_the_controls(files: dict[str, Path]) -> None:
    d = diff_assessments(load_assessments(files["late"]), load_assessments(files["early"]))
    assert [c.control for c in d.newly_failing] == ["TEST-INC-01", "TEST-PM-01"]
    assert [c.control for c in d.changed] == ["TEST-REVIEW-01"]
    assert d.newly_passing == () and d.added == () and d.removed == ()
    assert len(d.worse) == 2 and not d.verdict_changed
    assert diff_text(d) == (
        "This change made 2 controls worse.\n"
        "\n"
        "fraud: NON-COMPLIANT (unchanged); 0 controls unchanged\n"
        "  Newly failing (2):\n"
        "    TEST-INC-01        pass -> fail  [high] Incidents are acknowledged\n"
        "    TEST-PM-01         pass -> blocked  [high] Postmortems\n"
        "  Changed status (1):\n"
        "    TEST-REVIEW-01     fail -> blocked  [medium] Reviews\n"
    )


def test_better_direction_in_markdown(files: dict[str, Path]) -> None:
    code, out, exc = _run(str(files["early"]), str(files["late"]), "--format", "markdown")
    assert exc is None and code == 0
    assert "**This change made 0 controls worse and 2 better.**" in out
    assert "### Newly passing (2)" in out and "### Newly failing" not in out
    assert "| `fraud` | `TEST-INC-01` Incidents are acknowledged | fail | pass | high |" in out
    assert "| `fraud` | `TEST-REVIEW-01` Reviews | blocked | fail | medium |" in out


def test_identical_assessments(files: dict[str, Path]) -> None:
    code, out, _ = _run(str(files["early"]), str(files["early"]))
    assert code == 0
    assert out.startswith("No control changed status.\n")
    assert "3 controls unchanged" in out


def test_fleet_form_added_removed_and_verdict(files: dict[str, Path], tmp_path: Path) -> None:
    late = json.loads(files["late"].read_text(encoding="utf-8"))
    # the new side drops TEST-REVIEW-01 (the only failure) and gates a second workflow
    fixed = json.loads(json.dumps(late))
    fixed["controls"] = [c for c in fixed["controls"] if c["id"] != "TEST-REVIEW-01"]
    fixed["summary"] = {**fixed["summary"], "compliant": True, "verdict": "COMPLIANT"}
    other = json.loads(json.dumps(late))
    other["workflow"]["id"] = "another"
    fleet = tmp_path / "fleet.json"
    fleet.write_text(
        json.dumps({"assessments": [other, fixed], "compliant": False}), encoding="utf-8"
    )
    d = diff_assessments(load_assessments(files["late"]), load_assessments(fleet))
    assert [w.workflow for w in d.workflows] == ["another", "fraud"]
    assert [(c.workflow, c.control) for c in d.removed] == [("fraud", "TEST-REVIEW-01")]
    assert [(c.control, c.new) for c in d.added] == [
        ("TEST-INC-01", "pass"),
        ("TEST-PM-01", "pass"),
        ("TEST-REVIEW-01", "fail"),
    ]
    assert [c.control for c in d.worse] == ["TEST-REVIEW-01"]  # added and failing
    assert d.verdict_changed
    text = diff_text(d)
    assert "another: absent -> NON-COMPLIANT" in text
    assert "fraud: NON-COMPLIANT -> COMPLIANT" in text
    assert "TEST-REVIEW-01     fail -> absent" in text


def test_bad_files_are_located_input_errors(files: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": "1",\n  "controls": [}\n', encoding="utf-8")
    code, _, exc = _run(str(broken), str(files["late"]))
    assert isinstance(exc, InputError) and exc.exit_code == 2
    assert str(exc).startswith(f"{broken}:2:16: error[JSON]: invalid JSON: ")

    data = json.loads(files["late"].read_text(encoding="utf-8"))
    data["controls"][1]["status"] = "green"
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_assessments(wrong)
    loc = info.value.location
    assert loc is not None and loc.pointer == "/controls/1/status"
    assert loc.line is not None
    line = wrong.read_text(encoding="utf-8").splitlines()[loc.line - 1]
    assert '"status": "green"' in line
    assert "got 'green'" in info.value.message

    other = tmp_path / "other.json"
    other.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match="not an Assay assessment"):
        load_assessments(other)
    with pytest.raises(InputError, match="cannot read file"):
        load_assessments(tmp_path / "missing.json")


def test_usage_errors(files: dict[str, Path]) -> None:
    one = load_assessments(files["late"])
    with pytest.raises(UsageError, match="appears twice"):
        diff_assessments(one + one, one)
    code, _, exc = _run(str(files["late"]), str(files["late"]), "--format", "html")
    assert code is None and exc is not None and "'html' is not one of" in str(exc)
