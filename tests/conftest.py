"""Fixtures shared across the test folders. Helpers importable by name live in
tests/support (on ``pythonpath``: tests have no packages)."""

from __future__ import annotations

from pathlib import Path

import pytest
from projectkit import Kit


@pytest.fixture
def kit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Kit:
    """A small project in tmp_path (see tests/support/projectkit.py)."""
    return Kit(tmp_path / "project", capsys)
