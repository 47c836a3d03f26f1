"""The `kit` fixture: a small project in tmp_path, built with tests/engine/projectkit.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The project builders live with the engine tests; tests have no packages (no __init__).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from projectkit import Kit  # noqa: E402


@pytest.fixture
def kit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Kit:
    return Kit(tmp_path / "project", capsys)
