"""`assay waivers`: every waiver of the fleet with its state at a time."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from authoring_kit import waiver_project
from click.testing import CliRunner

from assay.authoring.waivers import waiver_report
from assay.cli.authoring import parse_horizon, waivers_command
from assay.errors import UsageError
from assay.formats.waivers import waivers_text
from assay.load.project import Project, load_project
from assay.models.time import parse_instant

AS_OF = "2026-05-10T00:00:00Z"


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return waiver_project(tmp_path_factory.mktemp("waivers") / "project")


@pytest.fixture(scope="module")
def project(project_dir: Path) -> Project:
    return load_project(project_dir)


def _states(project: Project, when: str, horizon: timedelta = timedelta(days=30)) -> list[str]:
    report = waiver_report(project, parse_instant(when), horizon)
    return [f"{e.id}:{e.state}" for e in report.entries]


def test_every_state_sorted(project: Project) -> None:
    assert _states(project, AS_OF) == [
        "W-NOTICKET:invalid",  # invalid first, then by expiry
        "W-LONG:invalid",
        "W-EXPIRED:expired",
        "W-SOON:expiring_soon",
        "W-FUTURE:not_yet_valid",
        "W-ACTIVE:active",
    ]


def test_horizon_and_time_move_states(project: Project) -> None:
    # a 60-day horizon makes W-ACTIVE (46 days left) expiring soon too
    wide = _states(project, AS_OF, timedelta(days=60))
    assert "W-ACTIVE:expiring_soon" in wide and "W-SOON:expiring_soon" in wide
    # zero horizon: nothing is "soon"
    assert "W-SOON:active" in _states(project, AS_OF, timedelta(0))
    # at its expiry instant a waiver is expired (expiry is exclusive, like the gate)
    assert "W-SOON:expired" in _states(project, "2026-05-25T00:00:00Z")
    # from its approval instant a waiver applies
    assert "W-FUTURE:expiring_soon" in _states(project, "2026-06-01T00:00:00Z")


def test_problems_and_days_left(project: Project) -> None:
    report = waiver_report(project, parse_instant(AS_OF))
    entries = {e.id: e for e in report.entries}
    assert entries["W-LONG"].problem is not None and "60 days" in entries["W-LONG"].problem
    assert "ticket" in (entries["W-NOTICKET"].problem or "")
    assert entries["W-SOON"].days_left == 15 and entries["W-ACTIVE"].days_left == 46
    assert entries["W-EXPIRED"].days_left is None
    assert entries["W-ACTIVE"].file == "waivers/waivers.yaml" and entries["W-ACTIVE"].line == 1
    assert report.counts() == {
        "invalid": 2,
        "expired": 1,
        "expiring_soon": 1,
        "not_yet_valid": 1,
        "active": 1,
    }


def test_text_output(project: Project) -> None:
    text = waivers_text(waiver_report(project, parse_instant(AS_OF)))
    lines = text.splitlines()
    assert lines[0] == (
        "Waivers as of 2026-05-10T00:00:00Z (expiring soon = within 30 days): 2 invalid, "
        "1 expired, 1 expiring soon, 1 not yet valid, 1 active"
    )
    headings = [line for line in lines if line and not line.startswith(" ")][1:]
    assert headings == [
        "INVALID (2)",
        "EXPIRED (1)",
        "EXPIRING SOON (1)",
        "NOT YET VALID (1)",
        "ACTIVE (1)",
    ]
    assert (
        "  W-SOON  fraud / TEST-PM-01  [high]  expires 2026-05-25T00:00:00Z (in 15 days)" in lines
    )
    assert (
        "      requested by alice, approved by carol, no ticket  (waivers/waivers.yaml:46)" in lines
    )


def test_cli_json_is_deterministic(project_dir: Path) -> None:
    args = ["--project", str(project_dir), "--as-of", AS_OF, "--format", "json"]
    first = CliRunner().invoke(waivers_command, args, standalone_mode=False)
    again = CliRunner().invoke(waivers_command, args, standalone_mode=False)
    assert first.exception is None and first.return_value == 0
    assert first.output == again.output
    data = json.loads(first.output)
    assert data["horizon_days"] == 30
    assert [w["id"] for w in data["waivers"]][:2] == ["W-NOTICKET", "W-LONG"]
    assert data["waivers"][0]["source"] == {"file": "waivers/waivers.yaml", "line": 46}
    assert data["waivers"][0]["ticket"] is None


def test_cli_horizon_and_errors(project_dir: Path) -> None:
    result = CliRunner().invoke(
        waivers_command,
        ["--project", str(project_dir), "--as-of", AS_OF, "--horizon", "8w"],
        standalone_mode=False,
    )
    assert result.return_value == 0
    assert "2 expiring soon" in result.output.splitlines()[0]
    assert parse_horizon("12h") == timedelta(hours=12)
    with pytest.raises(UsageError, match="business days"):
        parse_horizon("5bd")
    with pytest.raises(UsageError, match="expected a duration"):
        parse_horizon("soon")
    bad = CliRunner().invoke(
        waivers_command,
        ["--project", str(project_dir), "--as-of", "2026-05-10T09:00"],
        standalone_mode=False,
    )
    assert isinstance(bad.exception, UsageError) and bad.exception.exit_code == 2


def test_project_without_waivers(tmp_path: Path) -> None:
    from authoring_kit import BASIC

    report = waiver_report(load_project(BASIC), parse_instant(AS_OF))
    assert report.entries == ()
    assert waivers_text(report).endswith("No waivers.\n")
