"""Assay: policy-as-code compliance for AI systems in production.

The library API does everything the CLI does::

    project = assay.load_project(".")
    assessment = assay.assess(project, "fraud-scoring", as_of=..., release="2.4.0")
    assessment.exit_code                      # 0 compliant, 1 non-compliant
    fleet = assay.assess_fleet(project, as_of=...)  # every workflow, each check once
    pdf = assay.build_pack(assessment, project, signer=assay.Signer.from_pkcs12(path, b"..."))
    report = assay.verify_pack(pdf, trust=[ca_pem], reassess=True)
    assay.import_evidence("mlflow", ["mlflow.db"], workflow="fraud-scoring", project=".")

Every name but the version and the errors is imported on first use: ``assay --version``
and the gate's start must not pay for the models, the CEL engine or the PDF stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    AssayError,
    InputError,
    InputErrors,
    Location,
    SigningError,
    UsageError,
    VerificationError,
)

if TYPE_CHECKING:
    from .authoring.intake import import_evidence
    from .evaluate import assess, assess_fleet
    from .formats import Format, get_formatter
    from .load import Project, ProjectFile, load_files, load_project
    from .models.assessment import Assessment, Verdict, fleet_exit_code
    from .pack import Signer, VerifyReport, build_pack, render_html, verify_pack
    from .resolve import resolved_policy

_LAZY = {
    "Assessment": ".models.assessment",
    "Format": ".formats",
    "Project": ".load",
    "ProjectFile": ".load",
    "Signer": ".pack",
    "Verdict": ".models.assessment",
    "VerifyReport": ".pack",
    "assess": ".evaluate",
    "assess_fleet": ".evaluate",
    "build_pack": ".pack",
    "fleet_exit_code": ".models.assessment",
    "get_formatter": ".formats",
    "import_evidence": ".authoring.intake",
    "load_files": ".load",
    "load_project": ".load",
    "render_html": ".pack",
    "resolved_policy": ".resolve",
    "verify_pack": ".pack",
}

__all__ = [
    "AssayError",
    "Assessment",
    "Format",
    "InputError",
    "InputErrors",
    "Location",
    "Project",
    "ProjectFile",
    "Signer",
    "SigningError",
    "UsageError",
    "Verdict",
    "VerificationError",
    "VerifyReport",
    "__version__",
    "assess",
    "assess_fleet",
    "build_pack",
    "fleet_exit_code",
    "get_formatter",
    "import_evidence",
    "load_files",
    "load_project",
    "render_html",
    "resolved_policy",
    "verify_pack",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'assay' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # once imported, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
