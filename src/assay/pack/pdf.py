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
import logging
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

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


_MEMO_CLASSES: dict[Any, type] = {}


def _memo_class(cls: Any) -> type:
    """A subclass of a pydyf object class whose ``data`` is computed once per object."""
    memo = _MEMO_CLASSES.get(cls)
    if memo is None:
        memo = type(
            f"Memo{cls.__name__}", (cls,), {"data": functools.cached_property(cls.data.fget)}
        )
        _MEMO_CLASSES[cls] = memo
    return memo


def _serialise_once(document: Any, pdf: Any) -> None:
    """weasyprint ``finisher``: pydyf serialises every object twice when the file identifier
    is derived from the content (PDF/A): once to write it, once more to hash it, and every
    stream is deflated (at level 9) both times. Nothing changes an object between the two,
    so each object keeps the bytes it was first written with: the same file, in about a
    third less time."""
    for item in pdf.objects:
        cls = type(item)
        if isinstance(getattr(cls, "data", None), property):
            item.__class__ = _memo_class(cls)


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
            document = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher)
            data = document.write_pdf(
                pdf_variant=PDF_VARIANT,
                attachments=pdf_attachments,
                uncompressed_pdf=False,
                finisher=_serialise_once,
            )
    except AssayError:
        raise
    except Exception as exc:  # weasyprint raises many unrelated types; translate them all
        raise RenderError(f"could not render the audit pack: {type(exc).__name__}: {exc}") from exc
    finally:
        logger.setLevel(previous)
    if not isinstance(data, bytes):
        raise RenderError("weasyprint returned no PDF bytes")
    return data
