"""Evidence file readers, one module per file format, behind one small Protocol.

A reader turns the bytes of one file into raw records, each with the line and JSON
pointer it came from. Validation against the evidence models happens afterwards, in
:mod:`assay.load.evidence`, the same way for every format.
"""

from __future__ import annotations

from .base import RawRecord, Reader, ReaderLimits, reader_for, supported_suffixes

__all__ = ["RawRecord", "Reader", "ReaderLimits", "reader_for", "supported_suffixes"]
