"""Helpers of the evidence tests: fixture exports, and reading what an import wrote."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def fixture(project: Path, *names: str) -> list[Path]:
    """Copy fixture files into the project's ``exports/`` folder (as a user would have them)."""
    out: list[Path] = []
    for name in names:
        target = project / "exports" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / name, target)
        out.append(target)
    return out


def records(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON Lines file, in file order."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to show that nothing was written)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
