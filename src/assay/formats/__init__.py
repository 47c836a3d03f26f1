"""Gate output formats: one module per format behind the :class:`Formatter` protocol.

``FORMATTERS`` maps every :class:`Format` to its formatter; ``get_formatter`` turns a
user-given name into one, or raises :class:`~assay.errors.UsageError` listing the valid names.
"""

from __future__ import annotations

from .base import Format, Formatter, choose
from .github import format_github
from .json import format_json
from .junit import format_junit
from .markdown import format_markdown
from .oscal import format_oscal
from .sarif import format_sarif
from .text import format_text

FORMATTERS: dict[Format, Formatter] = {
    Format.TEXT: format_text,
    Format.JSON: format_json,
    Format.JUNIT: format_junit,
    Format.SARIF: format_sarif,
    Format.GITHUB: format_github,
    Format.MARKDOWN: format_markdown,
    Format.OSCAL: format_oscal,
}


def get_formatter(name: str | Format) -> Formatter:
    """The formatter for a format name (as given to ``--format``); UsageError when unknown."""
    return FORMATTERS[choose(Format, name, "output")]


__all__ = ["FORMATTERS", "Format", "Formatter", "get_formatter"]
