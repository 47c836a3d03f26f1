"""build_pack: the Assessment to a finished, optionally signed, PDF/A-3b audit pack."""

from __future__ import annotations

from ..errors import UsageError
from ..models.assessment import Assessment
from .html import pack_contents, render_contents
from .inputs import ProjectLike
from .pdf import html_to_pdf
from .sign import Signer


def build_pack(
    assessment: Assessment,
    project: ProjectLike,
    signer: Signer | None = None,
    *,
    tsa_url: str | None = None,
) -> bytes:
    """Render, embed and (when ``signer`` is given) sign the audit pack of ``assessment``.

    Without a signer the result is the unsigned PDF, byte-identical for identical inputs.
    ``tsa_url`` adds an RFC 3161 timestamp to the signature and needs a signer.
    """
    if tsa_url and signer is None:
        raise UsageError("a timestamp (--tsa-url) needs a signature; drop --unsigned")
    contents = pack_contents(assessment, project)
    html = render_contents(contents, signer=signer.name if signer else None)
    pdf = html_to_pdf(html, contents.attachments, assessment.as_of)
    return signer.sign(pdf, tsa_url=tsa_url) if signer else pdf
