"""What `assay diff` finds: the control changes between two sets of assessments.

A diff is data: :func:`assay.authoring.diff.diff_assessments` computes it and the
formatters of :mod:`assay.formats.diff` render it. Every control whose status differs is
classified once:

* ``newly_failing``: accepted before (pass, waived, not_applicable), not accepted now;
* ``newly_passing``: not accepted before, accepted now;
* ``changed``: another status change on the same side (e.g. fail → blocked, pass → waived);
* ``added`` / ``removed``: the control (or the whole workflow) is on one side only.

"Worse" is newly failing plus added controls that are not accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .assessment import ACCEPTED

ChangeKind = Literal["newly_failing", "newly_passing", "changed", "added", "removed"]
KINDS: tuple[ChangeKind, ...] = ("newly_failing", "added", "changed", "newly_passing", "removed")
"""Report order: what got worse first."""


@dataclass(frozen=True, order=True)
class ControlChange:
    """One control of one workflow whose status is not the same on both sides."""

    workflow: str
    control: str
    kind: ChangeKind
    old: str | None
    """Status in the old assessment; None when the control was added."""
    new: str | None
    """Status in the new assessment; None when the control was removed."""
    title: str
    severity: str
    summary: str
    """The new side's one-line summary (the old side's for a removed control)."""

    @property
    def worse(self) -> bool:
        """Newly failing, or added and not accepted."""
        return self.kind == "newly_failing" or (self.kind == "added" and self.new not in ACCEPTED)


@dataclass(frozen=True)
class WorkflowDiff:
    """The changes of one workflow; a verdict is None on the side it is missing from."""

    workflow: str
    old_verdict: str | None
    new_verdict: str | None
    old_as_of: str | None
    new_as_of: str | None
    changes: tuple[ControlChange, ...]
    unchanged: int

    @property
    def verdict_changed(self) -> bool:
        return self.old_verdict != self.new_verdict


@dataclass(frozen=True)
class AssessmentDiff:
    """The differences between two sets of assessments, paired by workflow id."""

    workflows: tuple[WorkflowDiff, ...]

    @property
    def changes(self) -> tuple[ControlChange, ...]:
        return tuple(c for w in self.workflows for c in w.changes)

    def of_kind(self, kind: ChangeKind) -> tuple[ControlChange, ...]:
        return tuple(c for c in self.changes if c.kind == kind)

    @property
    def newly_failing(self) -> tuple[ControlChange, ...]:
        return self.of_kind("newly_failing")

    @property
    def newly_passing(self) -> tuple[ControlChange, ...]:
        return self.of_kind("newly_passing")

    @property
    def changed(self) -> tuple[ControlChange, ...]:
        return self.of_kind("changed")

    @property
    def added(self) -> tuple[ControlChange, ...]:
        return self.of_kind("added")

    @property
    def removed(self) -> tuple[ControlChange, ...]:
        return self.of_kind("removed")

    @property
    def worse(self) -> tuple[ControlChange, ...]:
        return tuple(c for c in self.changes if c.worse)

    @property
    def verdict_changed(self) -> bool:
        return any(w.verdict_changed for w in self.workflows)
