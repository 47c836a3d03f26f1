"""Assay: policy-as-code compliance for AI systems in production.

The library API does everything the CLI does::

    project = assay.load_project(".")
    assessment = assay.assess(project, "fraud-scoring", as_of=..., release="2.4.0")
    assessment.exit_code                      # 0 compliant, 1 non-compliant
    pdf = assay.build_pack(assessment, project, signer=assay.Signer.from_pkcs12(path, b"..."))
    report = assay.verify_pack(pdf, trust=[ca_pem], reassess=True)
    assay.import_evidence("mlflow", ["mlflow.db"], workflow="fraud-scoring", project=".")

Pack and importer names are imported lazily: the PDF stack is heavy, and the gate needs
neither.
"""

from __future__ import annotations

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
from .evaluate import assess
from .formats import Format, get_formatter
from .load import Project, ProjectFile, load_files, load_project
from .models.assessment import Assessment, Verdict, fleet_exit_code
from .resolve import resolved_policy

if TYPE_CHECKING:
    from .authoring.intake import import_evidence
    from .pack import Signer, VerifyReport, build_pack, render_html, verify_pack

_LAZY = {"Signer", "VerifyReport", "build_pack", "render_html", "verify_pack"}

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
    if name == "import_evidence":
        from .authoring.intake import import_evidence

        return import_evidence
    if name in _LAZY:
        from . import pack

        return getattr(pack, name)
    raise AttributeError(f"module 'assay' has no attribute {name!r}")
