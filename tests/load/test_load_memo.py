"""The loader's in-process memo of parsed, validated and compiled policy and workflow files:
a second load of the same bytes gives the same project and the same assessment bytes; a
changed file is read afresh; a file with errors is never remembered (it reports its
errors every time)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assay.errors import InputErrors
from assay.evaluate import assess_fleet
from assay.formats import get_formatter
from assay.load import project as loader
from assay.load.project import Project, load_project
from assay.models.time import parse_instant

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "hypercare-waivers"
AS_OF = parse_instant("2026-06-01T00:00:00Z")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(SCENARIO, target)
    (target / "expected.yaml").unlink()
    return target


def _json(project: Project) -> str:
    return get_formatter("json")(assess_fleet(project, None, AS_OF))


def _fresh(root: Path) -> tuple[Project, str]:
    loader._POLICIES.clear()
    loader._DOCUMENTS.clear()
    with load_project(root, now=AS_OF) as project:
        return project, _json(project)


def test_a_second_load_is_the_same_project_and_the_same_bytes(root: Path) -> None:
    first, first_json = _fresh(root)
    assert loader._POLICIES.get(next(iter(loader._POLICIES._items))) is not None
    with load_project(root, now=AS_OF) as again:
        assert _json(again) == first_json
        assert again.controls == first.controls
        assert again.classes == first.classes
        assert again.workflows == first.workflows
        assert again.waivers == first.waivers
        assert again.sources == first.sources
        assert again.undecidable == first.undecidable
        assert again.catalogs == first.catalogs
        assert set(again.expressions) == set(first.expressions)
        assert [(f.path, f.role, f.sha256, f.size) for f in again.files] == [
            (f.path, f.role, f.sha256, f.size) for f in first.files
        ]
        # The project's own dictionaries are not the memo's: changing one changes no
        # later load.
        again.sources.clear()
        again.controls.clear()
    with load_project(root, now=AS_OF) as third:
        assert third.sources == first.sources
        assert third.controls == first.controls


def test_a_changed_workflow_file_is_read_again(root: Path) -> None:
    _fresh(root)
    path = root / "workflows" / "scoring.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("name: ", "name: Renamed "), encoding="utf-8"
    )
    with load_project(root, now=AS_OF) as project:
        (workflow,) = project.workflows.values()
        assert workflow.name.startswith("Renamed ")


def test_a_changed_policy_file_is_read_again(root: Path) -> None:
    _fresh(root)
    path = root / "policies" / "high.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title: ", "title: Changed ", 1), encoding="utf-8")
    with load_project(root, now=AS_OF) as project:
        assert any(c.title.startswith("Changed ") for c in project.classes.values())


def test_a_file_with_errors_is_never_remembered(root: Path) -> None:
    _fresh(root)
    path = root / "workflows" / "scoring.yaml"
    good = path.read_text(encoding="utf-8")
    path.write_text(good + "surprise: 1\n", encoding="utf-8")
    messages = []
    for _ in range(2):
        with pytest.raises(InputErrors) as caught:
            load_project(root, now=AS_OF)
        messages.append(caught.value.lines())
    assert messages[0] == messages[1]
    assert any("surprise" in line for line in messages[0])
    path.write_text(good, encoding="utf-8")
    with load_project(root, now=AS_OF) as project:
        assert len(project.workflows) == 1


def test_a_policy_error_is_reported_on_every_load(root: Path) -> None:
    _fresh(root)
    path = root / "policies" / "high.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "bogus: true\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(InputErrors, match="bogus"):
            load_project(root, now=AS_OF)
