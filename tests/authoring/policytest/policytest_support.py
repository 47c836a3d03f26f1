"""Shared constants and types of the `assay policy test` tests (a unique module name, so
that it never collides with another folder's conftest)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Run:
    """The outcome of one CLI run."""

    code: int
    out: str
    err: str
