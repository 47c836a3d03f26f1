"""Offline verification of an audit pack.

Checks, each reported by name:

    signature            (first, from the raw bytes) the digest of the signed byte range
                         matches the digest the signature signed: a changed byte anywhere
                         in the signed part is reported as tampering, whatever it breaks
    pdf                  the file parses as a PDF
    signature            a PAdES signature exists, its digest matches and it is
                         cryptographically valid
    signature-trust      the signer chains to one of the trust roots the auditor supplied
    signature-level      the PAdES baseline level reached: B-B (signature), B-T (plus a
                         trusted RFC 3161 timestamp), B-LT (plus validation data in the DSS
                         that validates the signer's and the timestamp's chains, revocation
                         included, at the timestamp's time without fetching anything)
    signature-coverage   the signature covers the whole file: nothing was appended after it
    manifest             manifest.json is embedded and well formed
    attachments          every embedded file matches its SHA-256 in the manifest; none is
                         missing and none was added
    assessment           assessment.json is a valid Assessment matching the manifest
    reassessment         (on request) re-running the embedded inputs gives the same bytes

Nothing is fetched: revocation information comes only from the pack's DSS (soft-fail for
trust, required for B-LT), trust comes only from the certificates given.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from asn1crypto import x509 as asn1_x509
from pydantic import ValidationError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from ..errors import AssayError, ErrorCode, InputError
from ..evaluate import assess
from ..load import load_files
from ..models.assessment import Assessment
from .manifest import (
    ASSESSMENT_NAME,
    INPUT_PREFIX,
    MANIFEST_NAME,
    Manifest,
    parse_manifest,
)
from .report import Collector, SignatureFacts, VerifyCheck, VerifyReport, iso, report_json
from .sign import LEVELS, SignatureLevel, fingerprint

__all__ = [
    "SignatureFacts",
    "VerifyCheck",
    "VerifyReport",
    "embedded_files",
    "load_trust",
    "report_json",
    "signed_range_digest",
    "verify_pack",
]


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


def _deref(value: Any) -> Any:
    # A PDF may hold any dictionary or array value as an indirect object.
    return value.get_object() if hasattr(value, "get_object") else value


def _name_tree(node: Any, depth: int = 0) -> Iterator[tuple[str, Any]]:
    if depth > 32:  # a name tree is shallow; a loop of /Kids must not recurse forever
        raise ValueError("the EmbeddedFiles name tree is too deep (a /Kids loop?)")
    node = _deref(node)
    names = _deref(node.get("/Names"))
    if names is not None:
        for i in range(0, len(names) - 1, 2):
            yield str(_deref(names[i])), _deref(names[i + 1])
    for kid in _deref(node.get("/Kids")) or ():
        yield from _name_tree(kid, depth + 1)


def embedded_files(reader: PdfFileReader) -> dict[str, bytes]:
    """Name -> bytes of every file in the PDF's EmbeddedFiles name tree (latest revision).

    Every level may be an indirect object (the catalogue's /Names, /EmbeddedFiles, the
    /Names and /Kids arrays, the file specifications and their /EF dictionaries).
    """
    out: dict[str, bytes] = {}
    names = _deref(reader.root.get("/Names"))
    if names is None or "/EmbeddedFiles" not in names:
        return out
    for name, spec in _name_tree(names["/EmbeddedFiles"]):
        stream = _deref(_deref(spec["/EF"])["/F"])
        out[name] = stream.data
    return out


_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def signed_range_digest(pdf: bytes) -> tuple[bool, str] | None:
    """Compare the digest of the signed byte range with the one the signature signed,
    from the raw bytes and before any object is parsed.

    Returns ``(matches, algorithm)``, or None when the file holds no well-formed signature
    dictionary (the parser then decides what the file is). Only a ``/ByteRange`` whose
    first gap is exactly a hex ``/Contents`` string counts, so text inside an uncompressed
    stream cannot pass for one.
    """
    from asn1crypto import cms

    for match in reversed(list(_BYTE_RANGE.finditer(pdf))):
        start, length, resume, tail = (int(g) for g in match.groups())
        if start != 0 or length <= 0 or resume <= length + 1 or resume + tail > len(pdf):
            continue
        if pdf[length : length + 1] != b"<" or pdf[resume - 1 : resume] != b">":
            continue
        try:
            contents = bytes.fromhex(pdf[length + 1 : resume - 1].decode("ascii"))
            info = cms.ContentInfo.load(contents.rstrip(b"\0") or contents, strict=False)
            signer_info = info["content"]["signer_infos"][0]
            algorithm = str(signer_info["digest_algorithm"]["algorithm"].native)
            signed = next(
                attr["values"][0].native
                for attr in signer_info["signed_attrs"]
                if attr["type"].native == "message_digest"
            )
            digest = hashlib.new(algorithm)
        except (ValueError, KeyError, TypeError, StopIteration, IndexError):
            continue  # not a signature we can read this way: leave it to the parser
        digest.update(pdf[start:length])
        digest.update(pdf[resume : resume + tail])
        return digest.digest() == signed, algorithm
    return None


def _signer_name(status: Any) -> str | None:
    cert = getattr(status, "signing_cert", None)
    if cert is None:
        return None
    subject = cert.subject.native
    return str(subject.get("common_name") or cert.subject.human_friendly)


def _validate(signature: Any, signer_context: Any, ts_context: Any) -> Any:
    # pyhanko logs validation problems at WARNING; the report states them instead.
    logger = logging.getLogger("pyhanko")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        return validate_pdf_signature(
            signature, signer_validation_context=signer_context, ts_validation_context=ts_context
        )
    finally:
        logger.setLevel(previous)


def _lt_status(signature: Any, reader: PdfFileReader, roots: list[Any], moment: datetime) -> str:
    """Why the pack is not B-LT, or "" when it is.

    B-LT: the DSS alone (nothing fetched, revocation data required) validates the signer's
    and the timestamp authority's chains at the timestamp's time.
    """
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except Exception:  # no DSS, or one pyhanko cannot read: no long-term validation data
        return "no validation data (DSS) is embedded"
    kwargs = {
        "trust_roots": roots,
        "allow_fetching": False,
        "revocation_mode": "hard-fail",
        "moment": moment,
    }
    try:
        status = _validate(
            signature, dss.as_validation_context(kwargs), dss.as_validation_context(kwargs)
        )
    except Exception as exc:  # malformed DSS content: not usable as validation data
        return f"the embedded validation data is unusable ({type(exc).__name__})"
    if not status.trusted:
        return "the embedded validation data does not validate the signer's chain"
    ts = status.timestamp_validity
    if ts is None or not ts.trusted:
        return "the embedded validation data does not validate the timestamp's chain"
    return ""


def _check_signature(
    reader: PdfFileReader, trust: Sequence[bytes], c: Collector, require_level: str | None
) -> tuple[str | None, SignatureFacts | None]:
    signatures = reader.embedded_signatures
    if not signatures:
        c.add("signature", False, "the pack is not signed")
        return None, None
    if len(signatures) > 1:
        c.add("signature", False, f"{len(signatures)} signatures; an Assay pack has exactly one")
        return None, None
    signature = signatures[0]
    roots = load_trust(trust)
    kwargs: dict[str, Any] = {
        "trust_roots": roots,
        "allow_fetching": False,
        "revocation_mode": "soft-fail",
    }
    try:
        dss: Any = DocumentSecurityStore.read_dss(reader)
    except Exception:  # no DSS: trust is decided on the CMS's certificates alone
        dss = None

    def context() -> Any:
        return dss.as_validation_context(kwargs) if dss else ValidationContext(**kwargs)

    try:
        status = _validate(signature, context(), context())
    except Exception as exc:  # malformed CMS, unreadable revision: the signature is unusable
        c.add("signature", False, f"cannot validate the signature: {type(exc).__name__}: {exc}")
        return None, None
    signer = _signer_name(status)
    cert = getattr(status, "signing_cert", None)
    ts = status.timestamp_validity
    facts_fp = fingerprint(cert.dump()) if cert is not None else None
    when = status.signer_reported_dt if isinstance(status.signer_reported_dt, datetime) else None
    ts_at = ts.timestamp if ts is not None else None
    ts_by = _signer_name(ts) if ts is not None else None
    if status.intact and status.valid:
        c.add(
            "signature",
            True,
            "digest matches and the signature is valid"
            + (f"; signed {iso(when)} (claimed)" if when else ""),
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
    level: str | None = None
    notes: list[str] = []
    if status.intact and status.valid:
        level = "B-B"
        if ts is None:
            notes.append("no RFC 3161 timestamp")
        elif not (ts.intact and ts.valid):
            notes.append("the timestamp token does not verify")
        elif not ts.trusted:
            notes.append(f"the timestamp authority {ts_by} does not chain to a given trust root")
        else:
            level = "B-T"
            reason = (
                _lt_status(signature, reader, roots, ts.timestamp)
                if status.trusted
                else "B-LT needs the signer to chain to a given trust root"
            )
            if reason:
                notes.append(reason)
            else:
                level = "B-LT"
    met = level is not None and (
        require_level is None or LEVELS.index(level) >= LEVELS.index(require_level)
    )
    detail = f"PAdES {level}" if level else "no baseline level: the signature does not verify"
    if level and notes:
        detail += f" ({'; '.join(notes)})"
    if require_level and level and not met:
        detail += f"; {require_level} was required"
    c.add("signature-level", met, detail)
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        c.add("signature-coverage", True, "the signature covers the whole file")
    else:
        signed_to = signature.signed_revision
        total = reader.xrefs.total_revisions
        c.add(
            "signature-coverage",
            False,
            f"content was appended after signing ({total - 1 - signed_to} later revision(s) "
            f"not covered by the signature)",
        )
    return signer, SignatureFacts(level, facts_fp, when, ts_at, ts_by)


def _check_attachments(
    files: dict[str, bytes], c: Collector
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


def _check_reassessment(files: dict[str, bytes], assessment: Assessment, c: Collector) -> None:
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
        where = f"{exc.location}: " if exc.location else ""
        c.add("reassessment", False, f"cannot re-assess the embedded inputs: {where}{exc.message}")
        return
    except Exception as exc:  # fail closed: an engine crash is not a verified pack
        c.add("reassessment", False, f"re-assessment crashed: {type(exc).__name__}: {exc}")
        return
    if fresh.canonical_json() == assessment.canonical_json():
        c.add("reassessment", True, "re-running the embedded inputs gives the same assessment")
    else:
        c.add("reassessment", False, f"the re-run differs: {_diff(assessment, fresh)}")


def verify_pack(
    pdf: bytes,
    trust: Sequence[bytes],
    reassess: bool = False,
    *,
    require_level: SignatureLevel | None = None,
) -> VerifyReport:
    """Verify an audit pack offline against the given trust roots (PEM or DER certificates).

    ``require_level`` makes a signature below that PAdES level fail ``signature-level``.

    Raises InputError when ``pdf`` is not a PDF at all or a trust certificate is unreadable
    (exit 2); every other problem is a failed check in the report (exit 3).
    """
    if not pdf.lstrip()[:1024].startswith(b"%PDF-"):
        raise InputError("the pack is not a PDF file", code=ErrorCode.VERIFY_INPUT)
    load_trust(trust)  # unusable trust roots are a usage problem, reported before anything
    c = Collector()
    # The signed bytes first: a tampered file is reported as tampered, even when the change
    # also breaks the PDF structure (a flipped byte in a compressed stream).
    precheck = signed_range_digest(pdf)
    tampered = precheck is not None and not precheck[0]
    if tampered and precheck is not None:
        c.add(
            "signature",
            False,
            f"digest mismatch: the {precheck[1].upper().replace('SHA', 'SHA-')} of the signed bytes differs from the "
            f"one the signature signed; the file was changed after signing",
        )
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        reader.root  # noqa: B018  # force the trailer and catalogue to be read
        files = embedded_files(reader)
    except Exception as exc:  # a truncated or corrupt file: the pack is unusable as evidence
        c.add("pdf", False, f"the file is not a readable PDF ({type(exc).__name__}: {exc})")
        return VerifyReport(tuple(c.checks))
    c.add("pdf", True, f"{len(files)} embedded files, {reader.xrefs.total_revisions} revision(s)")
    signer: str | None = None
    facts: SignatureFacts | None = None
    if not tampered:
        signer, facts = _check_signature(reader, trust, c, require_level)
    manifest, assessment = _check_attachments(files, c)
    if reassess:
        if assessment is None:
            c.add("reassessment", False, "no valid assessment.json to compare with")
        elif tampered or not all(ch.ok for ch in c.checks):
            # Re-running embedded inputs (CEL included) is only worth it, and only safe to
            # spend time on, once the signature and the manifest hold.
            c.add("reassessment", False, "not run: the signature or the manifest does not hold")
        else:
            _check_reassessment(files, assessment, c)
    return VerifyReport(
        tuple(c.checks),
        signer=signer,
        workflow=assessment.workflow.id if assessment else None,
        as_of=assessment.as_of.isoformat() if assessment else None,
        verdict=assessment.summary.verdict if assessment else None,
        signature=facts,
    )
