"""The audit pack: HTML (jinja2) → PDF/A-3b (weasyprint) with embedded inputs → PAdES
signature (pyhanko) → offline verification."""

from __future__ import annotations

from .build import build_pack
from .html import render_html
from .pdf import html_to_pdf
from .sign import Signer
from .svg import control_graph_svg
from .verify import VerifyCheck, VerifyReport, verify_pack

__all__ = [
    "Signer",
    "VerifyCheck",
    "VerifyReport",
    "build_pack",
    "control_graph_svg",
    "html_to_pdf",
    "render_html",
    "verify_pack",
]
