"""The audit pack: HTML (jinja2) → tagged PDF/A-3a (weasyprint) with embedded inputs →
PAdES signature at B-B, B-T or B-LT (pyhanko) → offline verification; and the in-toto
attestation (SLSA VSA + per-control results) beside it."""

from __future__ import annotations

import importlib

from ..errors import ErrorCode, UsageError

# The PDF and signing stack is the optional `pack` extra: a gate-only install (a CI runner)
# has none of it, and must get a clear instruction rather than an import traceback.
_PACK_EXTRA = ("weasyprint", "pyhanko", "pyhanko_certvalidator", "cryptography", "asn1crypto")


def _missing_modules() -> list[str]:
    missing = []
    for name in _PACK_EXTRA:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


_missing = _missing_modules()
if _missing:
    raise UsageError(
        f"audit packs need the PDF and signing libraries, which are not installed "
        f"(missing: {', '.join(_missing)}); install them with: pip install 'assay[pack]'",
        code=ErrorCode.MISSING_EXTRA,
    )

from .attest import AttestationInput, build_attestation, verify_attestation  # noqa: E402
from .build import build_pack  # noqa: E402
from .html import render_html  # noqa: E402
from .pdf import html_to_pdf  # noqa: E402
from .sign import Signer  # noqa: E402
from .svg import control_graph_svg  # noqa: E402
from .verify import VerifyCheck, VerifyReport, verify_pack  # noqa: E402

__all__ = [
    "AttestationInput",
    "Signer",
    "VerifyCheck",
    "VerifyReport",
    "build_attestation",
    "build_pack",
    "control_graph_svg",
    "html_to_pdf",
    "render_html",
    "verify_attestation",
    "verify_pack",
]
