"""The engine version, recorded in every Assessment."""

__version__ = "0.1.0"
