"""The shape every output format shares, and the registry the CLI picks from.

Every family of formatters (the gate's here; lint, diff, waivers, policy tests, explain and
graph in their own modules) has the same shape: a ``StrEnum`` of format names that feeds
``click.Choice``, a ``Protocol`` for the formatter, pure formatters, and a registry mapping
every name to its formatter. :func:`choose` turns a user-given name into a member of the
enum or raises a :class:`~assay.errors.UsageError` listing the valid names.

A formatter is a pure function ``(assessments) -> str``: it never mutates the frozen
:class:`~assay.models.assessment.Assessment`, never reads or writes files, and returns the
same bytes for the same input. A gate run covers one or more workflows, hence the sequence.
The CLI owns the I/O and the exit code (``fleet_exit_code``).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol, TypeVar

from assay.errors import UsageError
from assay.models.assessment import Assessment

E = TypeVar("E", bound=StrEnum)

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


def choose(formats: type[E], name: str, what: str) -> E:
    """The member of ``formats`` called ``name``; UsageError naming the valid ones otherwise."""
    try:
        return formats(name)
    except ValueError:
        valid = ", ".join(f.value for f in formats)
        raise UsageError(f"unknown {what} format {name!r}; expected one of: {valid}") from None
