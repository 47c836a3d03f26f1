"""Fixtures of the evidence tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder with the default layout (evidence/ is the evidence folder)."""
    (tmp_path / "evidence").mkdir()
    return tmp_path
