"""build_pack: the Assessment to a finished, optionally signed, PDF/A-3a audit pack."""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from ..load.project import Project
from ..models.assessment import Assessment
from .html import SignerView, pack_contents, render_contents
from .pdf import html_to_pdf
from .sign import SignatureLevel, Signer


def build_pack(
    assessment: Assessment,
    project: Project,
    signer: Signer | None = None,
    *,
    tsa_url: str | None = None,
    level: SignatureLevel | None = None,
    timestamper: Any = None,
) -> bytes:
    """Render, embed and (when ``signer`` is given) sign the audit pack of ``assessment``.

    Without a signer the result is the unsigned PDF, byte-identical for identical inputs.
    ``tsa_url`` (or an in-process pyHanko ``timestamper``) adds an RFC 3161 timestamp;
    ``level`` is the PAdES baseline level (B-B, B-T, B-LT; see :meth:`Signer.sign`).
    """
    if signer is None and (tsa_url or level or timestamper is not None):
        raise UsageError("a timestamp or signature level needs a signature; drop --unsigned")
    contents = pack_contents(assessment, project)
    view = SignerView(signer.name, signer.fingerprint) if signer else None
    html = render_contents(contents, signer=view)
    pdf = html_to_pdf(html, contents.attachments, assessment.as_of)
    if signer is None:
        return pdf
    return signer.sign(pdf, level=level, tsa_url=tsa_url, timestamper=timestamper)
