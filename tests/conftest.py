"""Fixtures shared across the test folders. Helpers importable by name live in
tests/support (on ``pythonpath``: tests have no packages)."""

from __future__ import annotations

from pathlib import Path

import pytest
from projectkit import Kit

from assay.cli.replay import GateReplay


@pytest.fixture
def kit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Kit:
    """A small project in tmp_path (see tests/support/projectkit.py)."""
    return Kit(tmp_path / "project", capsys)


@pytest.fixture(autouse=True)
def _no_gate_replay(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Gates run in this process neither replay nor record (tests/cli/test_gate_replay.py,
    marked ``replay``, tests both): a test that patches the engine must not leave its
    outputs behind for another test, or for the examples' next user."""
    if request.node.get_closest_marker("replay") is None:
        monkeypatch.setattr(GateReplay, "lookup", lambda self: None)
        monkeypatch.setattr(GateReplay, "record", lambda self, *args, **kwargs: False)
