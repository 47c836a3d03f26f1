"""`python -m assay`."""

from .cli import entry_point

entry_point()
