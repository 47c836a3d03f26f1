"""Evidence records: the common envelope and one model per evidence kind.

Every record carries the reference catalog's common envelope. Each kind names its *time field*:
the instant windows, freshness and deadlines are measured from.

The kinds themselves live in :mod:`assay.models.evidence_kinds`; this module holds the
envelope and the registry, so that loaders depend on one small surface.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from .base import StrictModel

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$"
"""Ids that people write and that name files (workflows, waivers): letters, digits, `-`, `_`
and single dots between them. No path separator (`/`, `\\`), no `..`, no `:` (a drive or a
stream name on some systems), no control, invisible or bidirectional character: an id can
be joined to a folder name without leaving it (`assay pack` names its output after one)."""

_INVISIBLE = (
    r"\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    r"\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
)
"""Control characters (C0, C1), soft hyphen, zero-width and bidirectional formatting
characters (U+200E/F, U+202A-E, U+2066-9: they reorder how text is shown), line and
paragraph separators, and the byte-order mark."""

RECORD_ID_PATTERN = rf"^[^\s{_INVISIBLE}](?:[^{_INVISIBLE}]*[^\s{_INVISIBLE}])?$"
"""Ids of evidence records come from other systems: any visible text without surrounding
whitespace (`INC-2026-0042`, `PM/INC/42`, `ticket #42`); never a control, invisible or
bidirectional character (U+202E would show `INC-1` for a different id). Record ids never
name files, so a `/` is allowed here."""


class Evidence(StrictModel):
    """The envelope every evidence record carries."""

    TIME_FIELD: ClassVar[str] = "created_at"

    id: str = Field(pattern=RECORD_ID_PATTERN, max_length=200)
    """Stable identifier of the record in its system of record."""
    kind: str
    """The evidence kind; decides which fields the record has."""
    workflow: str = Field(pattern=ID_PATTERN, max_length=200)
    """Id of the workflow this record is evidence for."""
    created_at: AwareDatetime
    """When the record was created (timezone-aware, e.g. 2026-05-01T12:00:00Z)."""
    recorded_by: str = Field(min_length=1)
    """Person or system that recorded it."""
    source_uri: str = Field(min_length=1)
    """Where the record lives in its system of record."""
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    """SHA-256 of the record's content: its fields without `sha256` (for a Markdown document,
    the front matter plus `body`, the text after it) as JSON with keys sorted, no spaces and
    non-ASCII escaped (lower-case hex). Checked by `assay evidence seal` and `verify`; at C4 the
    evidence files are also hash-chained in the evidence folder's ledger."""
    body: str | None = None
    """Free text: the body of a Markdown document after its front matter."""
