"""The audit pack: HTML (jinja2) → tagged PDF/A-3a (weasyprint) with embedded inputs →
PAdES signature at B-B, B-T or B-LT (pyhanko) → offline verification; and the in-toto
attestation (SLSA VSA + per-control results) beside it."""

from __future__ import annotations

from .attest import AttestationInput, build_attestation, verify_attestation
from .build import build_pack
from .html import render_html
from .pdf import html_to_pdf
from .sign import Signer
from .svg import control_graph_svg
from .verify import VerifyCheck, VerifyReport, verify_pack

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
