"""The `kit` fixture: a small project in tmp_path (see projectkit.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from projectkit import Kit


@pytest.fixture
def kit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Kit:
    return Kit(tmp_path / "project", capsys)
