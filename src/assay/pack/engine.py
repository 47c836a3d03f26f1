"""The assessment engine as the pack sees it: ``load_project`` and ``assess``.

They are looked up on the ``assay`` package at call time: the package re-exports the pack,
so importing the engine at module import time would be circular.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..models.assessment import Assessment

LoadProject = Callable[[Path], Any]
Assess = Callable[..., Assessment]


def engine_functions() -> tuple[LoadProject, Assess]:
    """``(assay.load_project, assay.assess)``; an InputError when the engine is missing."""
    module = importlib.import_module("assay")
    load, assess = getattr(module, "load_project", None), getattr(module, "assess", None)
    if not callable(load) or not callable(assess):
        raise InputError("this Assay build has no assessment engine (load_project/assess)")
    return load, assess
