"""Offline verification of an audit pack.

Checks, each reported by name:

    pdf                  the file parses as a PDF
    signature            a PAdES signature exists, its digest matches and it is
                         cryptographically valid
    signature-trust      the signer chains to one of the trust roots the auditor supplied
    signature-coverage   the signature covers the whole file: nothing was appended after it
    manifest             manifest.json is embedded and well formed
    attachments          every embedded file matches its SHA-256 in the manifest; none is
                         missing and none was added
    assessment           assessment.json is a valid Assessment matching the manifest
    reassessment         (on request) re-running the embedded inputs gives the same bytes

Nothing is fetched: revocation information is not looked up (soft-fail), trust comes only
from the certificates given.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from asn1crypto import x509 as asn1_x509
from pydantic import ValidationError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from ..errors import AssayError, ErrorCode, InputError
from ..evaluate import assess
from ..load import load_files
from ..models.assessment import EXIT_VERIFY, Assessment
from .manifest import (
    ASSESSMENT_NAME,
    INPUT_PREFIX,
    MANIFEST_NAME,
    Manifest,
    parse_manifest,
)

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
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }

    def text(self) -> str:
        """A plain report: one line per check, then the conclusion."""
        lines = []
        if self.workflow:
            lines.append(f"pack: workflow {self.workflow} as of {self.as_of}: {self.verdict}")
        if self.signer:
            lines.append(f"signer: {self.signer}")
        width = max((len(c.name) for c in self.checks), default=0)
        for c in self.checks:
            lines.append(f"{'ok  ' if c.ok else 'FAIL'}  {c.name:<{width}}  {c.detail}")
        if self.ok:
            lines.append("verified: every check holds")
        else:
            lines.append(f"NOT verified: failed {', '.join(self.failed)}")
        return "\n".join(lines) + "\n"


@dataclass
class _Collector:
    checks: list[VerifyCheck] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(VerifyCheck(name, ok, detail))
        return ok


def load_trust(items: Sequence[bytes]) -> list[asn1_x509.Certificate]:
    """Parse trust roots (PEM, possibly several per item, or DER); bad input is an InputError."""
    from cryptography import x509 as pyca_x509
    from cryptography.hazmat.primitives.serialization import Encoding

    roots: list[asn1_x509.Certificate] = []
    for index, data in enumerate(items):
        try:
            if b"-----BEGIN" in data:
                certs = pyca_x509.load_pem_x509_certificates(data)
            else:
                certs = [pyca_x509.load_der_x509_certificate(data)]
        except ValueError:
            raise InputError(
                f"trust certificate #{index + 1} is not a PEM or DER X.509 certificate",
                code=ErrorCode.VERIFY_TRUST,
            ) from None
        roots.extend(asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in certs)
    return roots


def _name_tree(node: Any) -> Iterator[tuple[str, Any]]:
    names = node.get("/Names")
    if names is not None:
        for i in range(0, len(names) - 1, 2):
            yield str(names[i]), names[i + 1].get_object()
    for kid in node.get("/Kids", []):
        yield from _name_tree(kid.get_object())


def embedded_files(reader: PdfFileReader) -> dict[str, bytes]:
    """Name -> bytes of every file in the PDF's EmbeddedFiles name tree (latest revision)."""
    out: dict[str, bytes] = {}
    names = reader.root.get("/Names")
    if names is None or "/EmbeddedFiles" not in names:
        return out
    for name, spec in _name_tree(names["/EmbeddedFiles"].get_object()):
        stream = spec["/EF"]["/F"].get_object()
        out[name] = stream.data
    return out


def _signer_name(status: Any) -> str | None:
    cert = getattr(status, "signing_cert", None)
    if cert is None:
        return None
    subject = cert.subject.native
    return str(subject.get("common_name") or cert.subject.human_friendly)


def _check_signature(reader: PdfFileReader, trust: Sequence[bytes], c: _Collector) -> str | None:
    signatures = reader.embedded_signatures
    if not signatures:
        c.add("signature", False, "the pack is not signed")
        return None
    if len(signatures) > 1:
        c.add("signature", False, f"{len(signatures)} signatures; an Assay pack has exactly one")
        return None
    roots = load_trust(trust)
    context = ValidationContext(
        trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"
    )
    # pyhanko logs validation problems at WARNING; the report states them instead.
    logger = logging.getLogger("pyhanko")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        status = validate_pdf_signature(signatures[0], context)
    except Exception as exc:  # malformed CMS, unreadable revision: the signature is unusable
        c.add("signature", False, f"cannot validate the signature: {type(exc).__name__}: {exc}")
        return None
    finally:
        logger.setLevel(previous)
    signer = _signer_name(status)
    if status.intact and status.valid:
        when = status.signer_reported_dt
        c.add(
            "signature",
            True,
            "digest matches and the signature is valid"
            + (f"; signed {when:%Y-%m-%d %H:%M:%S %Z}" if isinstance(when, datetime) else "")
            + ("; RFC 3161 timestamp present" if status.timestamp_validity else ""),
        )
    elif not status.intact:
        c.add("signature", False, "digest mismatch: the signed bytes were changed")
    else:
        c.add("signature", False, "the signature value does not verify with the signer's key")
    if not roots:
        c.add("signature-trust", False, "no trust root given (--trust CERT)")
    elif status.trusted:
        c.add("signature-trust", True, f"{signer} chains to a trusted certificate")
    else:
        c.add("signature-trust", False, f"{signer} does not chain to any given trust root")
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        c.add("signature-coverage", True, "the signature covers the whole file")
    else:
        signed_to = signatures[0].signed_revision
        total = reader.xrefs.total_revisions
        c.add(
            "signature-coverage",
            False,
            f"content was appended after signing ({total - 1 - signed_to} later revision(s) "
            f"not covered by the signature)",
        )
    return signer


def _check_attachments(
    files: dict[str, bytes], c: _Collector
) -> tuple[Manifest | None, Assessment | None]:
    raw = files.get(MANIFEST_NAME)
    if raw is None:
        c.add("manifest", False, "manifest.json is not embedded")
        return None, None
    try:
        manifest = parse_manifest(raw)
    except InputError as exc:
        c.add("manifest", False, exc.message)
        return None, None
    c.add(
        "manifest", True, f"{len(manifest.entries)} files listed (engine {manifest.engine_version})"
    )
    problems: list[str] = []
    listed = {e.name for e in manifest.entries}
    for entry in manifest.entries:
        data = files.get(entry.name)
        if data is None:
            problems.append(f"{entry.name} is missing")
        elif hashlib.sha256(data).hexdigest() != entry.sha256 or len(data) != entry.size:
            problems.append(f"{entry.name} does not match its SHA-256")
    problems.extend(
        f"{name} is not in the manifest"
        for name in sorted(files)
        if name not in listed and name != MANIFEST_NAME
    )
    c.add(
        "attachments",
        not problems,
        "; ".join(problems) if problems else f"all {len(manifest.entries)} files match",
    )
    data = files.get(ASSESSMENT_NAME)
    if data is None:
        c.add("assessment", False, "assessment.json is not embedded")
        return manifest, None
    try:
        assessment = Assessment.model_validate_json(data)
    except ValidationError as exc:
        c.add(
            "assessment",
            False,
            f"assessment.json is not a valid assessment: {exc.error_count()} error(s)",
        )
        return manifest, None
    mismatch = [
        what
        for what, a, b in (
            ("workflow", assessment.workflow.id, manifest.workflow),
            ("as_of", assessment.as_of.isoformat(), manifest.as_of),
            ("release", assessment.release, manifest.release),
        )
        if a != b
    ]
    if assessment.canonical_json() != data:
        mismatch.append("canonical form")
    c.add(
        "assessment",
        not mismatch,
        f"differs from the manifest in {', '.join(mismatch)}"
        if mismatch
        else f"{assessment.summary.verdict}",
    )
    return manifest, assessment


def _diff(embedded: Assessment, fresh: Assessment) -> str:
    notes: list[str] = []
    if embedded.engine.version != fresh.engine.version:
        notes.append(
            f"engine {embedded.engine.version} made the pack, this is {fresh.engine.version}"
        )
    before = {c.id: c.status for c in embedded.controls}
    after = {c.id: c.status for c in fresh.controls}
    for cid in sorted(before.keys() | after.keys()):
        if before.get(cid) != after.get(cid):
            notes.append(f"{cid}: {before.get(cid, 'absent')} → {after.get(cid, 'absent')}")
    if embedded.summary != fresh.summary:
        notes.append(f"verdict: {embedded.summary.verdict} → {fresh.summary.verdict}")
    return "; ".join(notes[:8]) or "the assessments differ in detail (findings or digests)"


def _check_reassessment(files: dict[str, bytes], assessment: Assessment, c: _Collector) -> None:
    try:
        inputs: dict[str, bytes] = {}
        for name, data in sorted(files.items()):
            if not name.startswith(INPUT_PREFIX):
                continue
            relative = PurePosixPath(name[len(INPUT_PREFIX) :])
            if relative.is_absolute() or ".." in relative.parts:
                raise InputError(f"attachment name {name} escapes the project folder")
            inputs[relative.as_posix()] = data
        project = load_files(inputs)
        fresh = assess(
            project,
            workflow=assessment.workflow.id,
            as_of=assessment.as_of,
            release=assessment.release,
        )
    except AssayError as exc:
        c.add("reassessment", False, f"cannot re-assess the embedded inputs: {exc.message}")
        return
    except Exception as exc:  # fail closed: an engine crash is not a verified pack
        c.add("reassessment", False, f"re-assessment crashed: {type(exc).__name__}: {exc}")
        return
    if fresh.canonical_json() == assessment.canonical_json():
        c.add("reassessment", True, "re-running the embedded inputs gives the same assessment")
    else:
        c.add("reassessment", False, f"the re-run differs: {_diff(assessment, fresh)}")


def verify_pack(pdf: bytes, trust: Sequence[bytes], reassess: bool = False) -> VerifyReport:
    """Verify an audit pack offline against the given trust roots (PEM or DER certificates).

    Raises InputError when ``pdf`` is not a PDF at all or a trust certificate is unreadable
    (exit 2); every other problem is a failed check in the report (exit 3).
    """
    if not pdf.lstrip()[:1024].startswith(b"%PDF-"):
        raise InputError("the pack is not a PDF file", code=ErrorCode.VERIFY_INPUT)
    load_trust(trust)  # unusable trust roots are a usage problem, reported before anything
    c = _Collector()
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        reader.root  # noqa: B018  # force the trailer and catalogue to be read
        files = embedded_files(reader)
    except Exception as exc:  # a truncated or corrupt file: the pack is unusable as evidence
        c.add("pdf", False, f"the file is not a readable PDF ({type(exc).__name__}: {exc})")
        return VerifyReport(tuple(c.checks))
    c.add("pdf", True, f"{len(files)} embedded files, {reader.xrefs.total_revisions} revision(s)")
    signer = _check_signature(reader, trust, c)
    manifest, assessment = _check_attachments(files, c)
    if reassess:
        if assessment is None:
            c.add("reassessment", False, "no valid assessment.json to compare with")
        else:
            _check_reassessment(files, assessment, c)
    return VerifyReport(
        tuple(c.checks),
        signer=signer,
        workflow=assessment.workflow.id if assessment else None,
        as_of=assessment.as_of.isoformat() if assessment else None,
        verdict=assessment.summary.verdict if assessment else None,
    )


def report_json(report: VerifyReport) -> str:
    """The report as JSON (sorted keys) for ``--format json``."""
    return json.dumps(report.to_dict(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
