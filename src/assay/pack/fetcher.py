"""A deny-all URL fetcher for weasyprint.

Rendering must fetch nothing from the network or the filesystem: evidence is untrusted text
and a report that reads ``file:///etc/passwd`` or calls ``http://`` while rendering would be
both a leak and non-reproducible. Only ``data:`` URIs and files inside the package's own
``assets/`` folder are served. weasyprint 70 requires a ``URLFetcher`` subclass (a plain
function crashes when it raises).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse, URLFetchingError

ASSETS_DIR = (Path(__file__).parent / "assets").resolve()


class DeniedURLError(URLFetchingError):  # type: ignore[misc]  # weasyprint is untyped
    """A URL the pack renderer refuses to fetch (weasyprint skips the resource)."""


class SafeURLFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint is untyped
    """Serves ``data:`` URIs and package assets; refuses and records everything else."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False)
        self.requested: list[str] = []
        """Every URL weasyprint asked for, in order (tests assert on it)."""
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        self.requested.append(url)
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = Path(unquote(urlsplit(url).path)).resolve()
            if path.is_relative_to(ASSETS_DIR) and path.is_file():
                return URLFetcherResponse(url, body=path.read_bytes())
        self.refused.append(url)
        raise DeniedURLError(f"the audit pack renderer fetches nothing: refused {url[:200]}")
