"""The reference CEL implementation: the ``cel`` package's Rust extension, on its own.

The package's ``__init__`` also imports its command-line interface (rich, prompt_toolkit,
typer, pygments: 0.1-0.4 s of start-up on the development machine, measured with
``python -X importtime``) and an optional standard library that only takes effect when
passed to a context. Assay calls ``compile`` and ``evaluate`` of the extension and
nothing else, so it loads the extension module ``cel.cel`` directly, registered under its
own name: a later ``import cel`` (a test, a user) finds it and does not load it twice.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any


def _load() -> ModuleType:
    loaded = sys.modules.get("cel.cel")
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("cel")  # finds the package without running it
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, "cel" + suffix)
            if not os.path.isfile(path):
                continue
            loader = importlib.machinery.ExtensionFileLoader("cel.cel", path)
            found = importlib.util.spec_from_file_location("cel.cel", path, loader=loader)
            if found is None:
                continue
            module = importlib.util.module_from_spec(found)
            sys.modules["cel.cel"] = module
            loader.exec_module(module)
            return module
    import cel  # laid out otherwise: the package as it comes

    return cel


_CEL = _load()
compile: Any = _CEL.compile  # noqa: A001 - the package's own name
evaluate: Any = _CEL.evaluate
