"""The shape every output format shares, and the registry the CLI picks from.

A formatter is a pure function ``(assessments) -> str``: it never mutates the frozen
:class:`~assay.models.assessment.Assessment`, never reads or writes files, and returns the
same bytes for the same input. A gate run covers one or more workflows, hence the sequence.
The CLI owns the I/O and the exit code (``fleet_exit_code``).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from assay.models.assessment import Assessment

INFORMATION_URI = "https://github.com/assay-compliance/assay"
"""Where a reader of a SARIF log or OSCAL document learns what Assay is."""


class Formatter(Protocol):
    """Render assessments as text; pure and deterministic."""

    def __call__(self, assessments: Sequence[Assessment]) -> str: ...


class Format(StrEnum):
    """The output formats of ``assay gate --format`` (values feed ``click.Choice``)."""

    TEXT = "text"
    JSON = "json"
    JUNIT = "junit"
    SARIF = "sarif"
    GITHUB = "github"
    MARKDOWN = "markdown"
    OSCAL = "oscal"
