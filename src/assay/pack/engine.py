"""The assessment engine as the pack sees it: ``load_project`` and ``assess``.

Kept behind one function so that verification and the CLI share a single seam (tests
substitute the engine here to exercise failure paths).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..evaluate import assess
from ..load.project import Project, load_project
from ..models.assessment import Assessment

LoadProject = Callable[[str | Path], Project]
Assess = Callable[..., Assessment]


def engine_functions() -> tuple[LoadProject, Assess]:
    """``(load_project, assess)`` of this Assay."""
    return load_project, assess
