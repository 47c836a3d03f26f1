"""HTML to an unsigned, tagged PDF/A-3a with weasyprint, byte-reproducible for identical
inputs.

Level A (accessible): weasyprint writes the structure tree from the HTML (headings, lists,
tables, figures), marks the content and sets the document language, so screen readers can
follow the pack. Every attachment is a PDF/A-3 associated file with its MIME type as the
embedded file's ``/Subtype`` (served through :class:`_AttachmentFetcher`, since weasyprint
takes the type from the fetch response) and an ``/AFRelationship``.

Reproducibility rests on: document and attachment dates taken from ``as_of`` (never the
clock), attachments in a stable order, the PDF identifier derived from the content (PDF/A
variants do this), and deterministic font subsetting (Debian ``libharfbuzz-subset0``).
"""

from __future__ import annotations

import functools
import gc
import logging
import warnings
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pydyf  # type: ignore[import-untyped]  # weasyprint's PDF writer, untyped
import weasyprint
from weasyprint.urls import URLFetcher, URLFetcherResponse

from ..errors import AssayError, ErrorCode
from .fetcher import DeniedURLError, SafeURLFetcher
from .manifest import PackAttachment

PDF_VARIANT = "pdf/a-3a"
ATTACHMENT_SCHEME = "assay-attachment"


class RenderError(AssayError):
    """weasyprint could not render the pack."""

    code = ErrorCode.PACK_RENDER


def _naive_utc(moment: datetime) -> datetime:
    # weasyprint formats attachment dates with strftime('...Z'): give it UTC wall time.
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


class _AttachmentFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint is untyped
    """Serves the pack's attachments, each with its MIME type, and nothing else."""

    def __init__(self, attachments: Sequence[PackAttachment]) -> None:
        super().__init__(allowed_protocols=(ATTACHMENT_SCHEME,), allow_redirects=False)
        self._items = {f"{ATTACHMENT_SCHEME}:{i}": item for i, item in enumerate(attachments)}

    def url(self, index: int) -> str:
        return f"{ATTACHMENT_SCHEME}:{index}"

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        item = self._items.get(url)
        if item is None:
            raise DeniedURLError(f"no such attachment: {url[:80]}")
        return URLFetcherResponse(url, body=item.data, headers={"Content-Type": item.mime_type})


# The user-agent rules the pack cannot use, dropped from weasyprint's stylesheet: each
# universal pseudo-element rule (``::footnote-call`` …) made weasyprint compute six
# pseudo-element styles for every element of the document (18,000 of 20,500 computed
# styles of the 25-control benchmark pack). The pack has no footnotes or notes and its only
# list items are ``li``; with these rules dropped the PDF is byte-identical (tested).
_UNUSED_UA_RULES = (
    "::footnote-call",
    "::footnote-marker",
    "::note-call",
    "::note-marker",
    "::note-callback",
)


@functools.cache
def _pack_ua_stylesheet() -> Any:
    from weasyprint import html as weasy_html

    text = "\n".join(
        line
        for line in weasy_html.UA.splitlines()
        if not line.lstrip().startswith(_UNUSED_UA_RULES)
    )
    text = text.replace("\n::marker {", "\nli::marker {")
    return weasyprint.CSS(string=text, counter_style=weasy_html.UA_COUNTER_STYLE)


class _PackHTML(weasyprint.HTML):  # type: ignore[misc]  # weasyprint is untyped
    """weasyprint's HTML with the user-agent stylesheet the pack needs (see above)."""

    def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
        sheets: list[Any] = super()._ua_stylesheets(forms)
        from weasyprint import html as weasy_html

        return [_pack_ua_stylesheet() if s is weasy_html.UA_STYLESHEET else s for s in sheets]


STREAM_COMPRESSION = 6
"""zlib level of the PDF's streams. pydyf uses 9, which took 0.25 s of the benchmark pack's
build for files 1-2 % smaller; 6 takes a fifth of that."""


def _stream_data(self: Any) -> bytes:
    """pydyf's ``Stream.data``, deflated at :data:`STREAM_COMPRESSION` instead of 9."""
    stream = b"\n".join(pydyf._to_bytes(item) for item in self.stream)
    extra = pydyf.Dictionary(self.extra.copy())
    if self.compress:
        extra["Filter"] = "/FlateDecode"
        stream = zlib.compress(stream, STREAM_COMPRESSION)
    extra["Length"] = len(stream)
    return b"\n".join((extra.data, b"stream", stream, b"endstream"))


_MEMO_CLASSES: dict[Any, type] = {}


def _memo_class(cls: Any) -> type:
    """A subclass of a pydyf object class whose ``data`` is computed once per object."""
    memo = _MEMO_CLASSES.get(cls)
    if memo is None:
        data = _stream_data if issubclass(cls, pydyf.Stream) else cls.data.fget
        memo = type(f"Memo{cls.__name__}", (cls,), {"data": functools.cached_property(data)})
        _MEMO_CLASSES[cls] = memo
    return memo


def _memoise(item: Any) -> None:
    cls = type(item)
    if isinstance(getattr(cls, "data", None), property):
        item.__class__ = _memo_class(cls)


def _serialise_once(document: Any, pdf: Any) -> None:
    """weasyprint ``finisher``: pydyf serialises every object twice when the file identifier
    is derived from the content (PDF/A): once to write it, once more to hash it, and every
    stream is deflated both times. Nothing changes an object between the two, so each
    object keeps the bytes it was first written with, including the object stream pydyf
    adds while writing (800 kB for the benchmark pack)."""
    for item in pdf.objects:
        _memoise(item)
    add_object = pdf.add_object

    def add_memoised(item: Any) -> Any:
        _memoise(item)
        return add_object(item)

    pdf.add_object = add_memoised


def html_to_pdf(
    html: str,
    attachments: Sequence[PackAttachment],
    as_of: datetime,
    *,
    fetcher: SafeURLFetcher | None = None,
) -> bytes:
    """Render ``html`` to an unsigned PDF/A-3a with ``attachments`` as associated files.

    ``fetcher`` lets a caller inspect what rendering asked for; by default a fresh
    deny-all fetcher is used. Document dates must be given by the HTML's
    ``dcterms.created``/``dcterms.modified`` meta tags; attachment dates are ``as_of``.
    """
    fetcher = fetcher or SafeURLFetcher()
    stamp = _naive_utc(as_of)
    served = _AttachmentFetcher(attachments)
    pdf_attachments = [
        weasyprint.Attachment(
            url=served.url(index),
            url_fetcher=served,
            name=item.name,
            description=item.description,
            created=stamp,
            modified=stamp,
            relationship=item.relationship,
        )
        for index, item in enumerate(attachments)
    ]
    # weasyprint logs refused resources at ERROR level; they are expected (and recorded by
    # the fetcher), so keep them out of the user's terminal.
    logger = logging.getLogger("weasyprint")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            # weasyprint 70 opens its sRGB profile without closing it (PDF/A output intent);
            # the ResourceWarning is its bug, not the caller's.
            warnings.simplefilter("ignore", ResourceWarning)
            # Layout allocates hundreds of thousands of boxes: pausing the cyclic collector
            # meanwhile avoids its repeated scans of them (about a tenth of the build).
            collecting = gc.isenabled()
            gc.disable()
            try:
                document = _PackHTML(string=html, base_url=None, url_fetcher=fetcher)
                data = document.write_pdf(
                    pdf_variant=PDF_VARIANT,
                    attachments=pdf_attachments,
                    uncompressed_pdf=False,
                    finisher=_serialise_once,
                )
            finally:
                if collecting:
                    gc.enable()
    except AssayError:
        raise
    except Exception as exc:  # weasyprint raises many unrelated types; translate them all
        raise RenderError(f"could not render the audit pack: {type(exc).__name__}: {exc}") from exc
    finally:
        logger.setLevel(previous)
    if not isinstance(data, bytes):
        raise RenderError("weasyprint returned no PDF bytes")
    return data
