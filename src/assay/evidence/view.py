"""What the later stages see of a project's evidence: records by workflow and kind.

Two implementations: :class:`~assay.evidence.index.EvidenceIndex` holds every record in
memory (a project loaded from memory: policy tests, ``verify --reassess``), and
:class:`~assay.evidence.store.StoredEvidence` rebuilds a workflow's records from the
evidence store the first time they are asked for (a project on disk: one workflow of a
large fleet costs that workflow's records, not the fleet's).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from .index import Record


class EvidenceView(Protocol):
    """Validated evidence records, by workflow and kind, oldest first."""

    def records(self, workflow: str, kind: str) -> Sequence[Record]:
        """Records of one kind for one workflow, oldest first (ties by id)."""
        ...

    def by_key(self, workflow: str, kind: str, field: str) -> dict[Any, list[Record]]:
        """Records of a kind grouped by the value of ``field``."""
        ...

    def created_after_by_file(self, workflow: str, as_of: datetime) -> dict[str, int]:
        """Per file, how many records of ``workflow`` were created after ``as_of``."""
        ...

    def files_of(self, workflow: str) -> set[str]:
        """Paths of the evidence files that hold records of ``workflow``."""
        ...

    def __len__(self) -> int:
        """How many records the project holds."""
        ...
