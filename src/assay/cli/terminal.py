"""What the terminal wants: colour and width for the text report.

The formatters are pure (colour, width and quiet are parameters); this is where the CLI
decides them. Colour: ``--color``/``--no-color`` when given, else none when ``NO_COLOR`` is
set to anything non-empty (https://no-color.org) or ``TERM=dumb``, else colour exactly when
the output is a terminal. Width: ``--width`` when given, else the terminal's columns, else
:data:`~assay.formats.text.DEFAULT_WIDTH` -- a file or a CI log gets the same bytes
wherever it is written.
"""

from __future__ import annotations

import os
import shutil
from typing import IO

from ..formats.text import DEFAULT_WIDTH


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or exotic stream
        return False


def use_color(flag: bool | None, stream: IO[str] | None) -> bool:
    """Whether to colour text written to ``stream`` (None: a file)."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return stream is not None and is_terminal(stream)


def text_width(flag: int | None, stream: IO[str] | None) -> int:
    """The width to wrap text written to ``stream`` (None: a file) to."""
    if flag is not None:
        return flag
    if stream is not None and is_terminal(stream):
        # Honours $COLUMNS, then asks the terminal; 0 when it cannot tell.
        columns = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
        return columns if columns > 0 else DEFAULT_WIDTH
    return DEFAULT_WIDTH
