"""The outcome of a verification (a pack or an attestation): named checks, each held or
failed, and what the signature says about itself. Plain data with text and JSON forms."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..models.assessment import EXIT_VERIFY

EXIT_OK = 0


@dataclass(frozen=True)
class VerifyCheck:
    """One verification check and its outcome."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of verifying a pack: every check, and who signed it."""

    checks: tuple[VerifyCheck, ...]
    signer: str | None = None
    workflow: str | None = None
    as_of: str | None = None
    verdict: str | None = None
    signature: SignatureFacts | None = None

    @property
    def ok(self) -> bool:
        """True when there was at least one check and every check held."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if not c.ok]

    @property
    def exit_code(self) -> int:
        """0 when every check held, 3 otherwise."""
        return EXIT_OK if self.ok else EXIT_VERIFY

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "failed": self.failed,
            "signer": self.signer,
            "workflow": self.workflow,
            "as_of": self.as_of,
            "verdict": self.verdict,
            "signature": self.signature.to_dict() if self.signature else None,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }

    def text(self) -> str:
        """A plain report: one line per check, then the conclusion."""
        lines = []
        if self.workflow:
            lines.append(f"pack: workflow {self.workflow} as of {self.as_of}: {self.verdict}")
        if self.signer:
            lines.append(f"signer: {self.signer}")
        if self.signature:
            lines.extend(self.signature.lines())
        width = max((len(c.name) for c in self.checks), default=0)
        for c in self.checks:
            lines.append(f"{'ok  ' if c.ok else 'FAIL'}  {c.name:<{width}}  {c.detail}")
        if self.ok:
            lines.append("verified: every check holds")
        else:
            lines.append(f"NOT verified: failed {', '.join(self.failed)}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SignatureFacts:
    """What the signature says about itself, once checked."""

    level: str | None
    """B-B, B-T or B-LT: the highest baseline level every check of which held."""
    fingerprint: str | None
    """SHA-256 of the signer's certificate, colon-separated hex."""
    signed_at: datetime | None
    """The signing time the signer claims (a signed attribute; not independent)."""
    timestamp_at: datetime | None
    """The RFC 3161 timestamp's time (independent of the signer, when trusted)."""
    timestamp_authority: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "fingerprint_sha256": self.fingerprint,
            "signed_at": iso(self.signed_at),
            "timestamp_at": iso(self.timestamp_at),
            "timestamp_authority": self.timestamp_authority,
        }

    def lines(self) -> list[str]:
        out = []
        if self.fingerprint:
            out.append(f"signer certificate SHA-256: {self.fingerprint}")
        if self.signed_at:
            out.append(f"signing time (claimed by the signer): {iso(self.signed_at)}")
        if self.timestamp_at:
            by = f" by {self.timestamp_authority}" if self.timestamp_authority else ""
            out.append(f"timestamp (RFC 3161){by}: {iso(self.timestamp_at)}")
        out.append(f"signature level: {self.level or 'none'}")
        return out


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Collector:
    """Collects checks in the order they are made."""

    checks: list[VerifyCheck] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(VerifyCheck(name, ok, detail))
        return ok


def report_json(report: VerifyReport) -> str:
    """The report as JSON (sorted keys) for ``--format json``."""
    return json.dumps(report.to_dict(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
