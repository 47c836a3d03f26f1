"""The command-line shell: parse options, call the library, pick a formatter, write, exit."""

from .main import cli, entry_point, main

__all__ = ["cli", "entry_point", "main"]
