"""An attestation beside the pack: DSSE-signed in-toto Statements a machine can verify.

The bundle (``*.intoto.jsonl``, one DSSE envelope per line, as the in-toto bundle spec
says) holds two Statements per assessed workflow, with the same subjects:

1. a SLSA Verification Summary Attestation (``https://slsa.dev/verification_summary/v1``):
   the gate's verdict in the form release pipelines and admission controllers consume
   (verifier, time verified = as-of, resource URI, policy digest, input digests, PASSED or
   FAILED, the level verified);
2. an Assay assessment Statement (``https://assay.dev/attestation/assessment/v1``) with
   the per-control results. The VSA references it by the SHA-256 of its payload in an
   extension field named by a URI (the VSA spec's way to extend a predicate), rather than
   carrying the details itself.

Subjects: the workflow release, named ``<workflow>@<release>`` and identified by the
SHA-256 of the assessment's canonical JSON (the record of what was assessed and decided,
including every input's digest); the audit pack PDF by its file name and SHA-256 when
there is one; and any artifact the caller names (e.g. the container image of the release).

Signatures: DSSE v1 over PAE(payloadType, payload); RSA PKCS#1 v1.5 or ECDSA (DER), both
with SHA-256; ``keyid`` is the SHA-256 of the signer's DER certificate. Verification needs
that certificate among the trusted ones (DSSE carries no certificates).

Identifiers: type URIs under ``https://assay.dev/`` (as Assay's JSON Schema ids); resources
Assay names itself (a workflow release, its resolved policy) use the ``assay:`` scheme.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ..errors import ErrorCode, InputError, UsageError
from ..load.project import Project
from ..models.assessment import ACCEPTED, Assessment, canonical_json
from .report import Collector, VerifyReport

if TYPE_CHECKING:
    from .sign import Signer

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
VSA_PREDICATE = "https://slsa.dev/verification_summary/v1"
ASSESSMENT_PREDICATE = "https://assay.dev/attestation/assessment/v1"
ASSESSMENT_REFERENCE = "https://assay.dev/attestation/assessment"
"""The VSA extension field that points at the assessment Statement."""
VERIFIER_ID = "https://assay.dev/verifier"
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SAFE_LEVEL = re.compile(r"[^A-Z0-9]+")


@dataclass(frozen=True)
class Subject:
    """An artifact the attestation is about: a name and the SHA-256 of its bytes."""

    name: str
    sha256: str

    def descriptor(self) -> dict[str, Any]:
        return {"name": self.name, "digest": {"sha256": self.sha256}}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _w3c(assessment: Assessment) -> str:
    return assessment.as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def release_name(assessment: Assessment) -> str:
    """``<workflow>@<release>`` (``@as-of`` when no release was given)."""
    return f"{assessment.workflow.id}@{assessment.release or _w3c(assessment)}"


def verified_level(assessment: Assessment) -> str:
    """The VSA level Assay claims: ``ASSAY_<CLASS>_COMPLIANT`` or ``FAILED``.

    The VSA spec allows custom levels that do not start with ``SLSA_``.
    """
    if not assessment.compliant:
        return "FAILED"
    return f"ASSAY_{_SAFE_LEVEL.sub('_', assessment.risk_class.id.upper()).strip('_')}_COMPLIANT"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what the signature is computed over."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _serialise(statement: Mapping[str, Any]) -> bytes:
    # Sorted keys, no whitespace: the same Statement always gives the same payload bytes.
    return orjson.dumps(statement, option=orjson.OPT_SORT_KEYS)


def assessment_statement(
    assessment: Assessment, subjects: Sequence[Subject], resolved_policy_sha256: str
) -> dict[str, Any]:
    """The Assay Statement: the per-control results of one assessment."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [s.descriptor() for s in subjects],
        "predicateType": ASSESSMENT_PREDICATE,
        "predicate": {
            "engine": {"name": assessment.engine.name, "version": assessment.engine.version},
            "asOf": _w3c(assessment),
            "workflow": {
                "id": assessment.workflow.id,
                "name": assessment.workflow.name,
                "owner": assessment.workflow.owner,
                "riskClass": assessment.risk_class.id,
            },
            "release": assessment.release,
            "compliant": assessment.compliant,
            "verdict": str(assessment.verdict),
            "counts": dict(sorted(assessment.summary.counts.items())),
            "assessment": {"sha256": _sha256(assessment.canonical_json())},
            "resolvedPolicy": {"sha256": resolved_policy_sha256},
            "controls": [
                {
                    "id": c.id,
                    "title": c.title,
                    "severity": c.severity,
                    "status": c.status,
                    "accepted": c.status in ACCEPTED,
                    "summary": c.summary,
                    "requiredBy": c.required_by,
                    "blockedBy": list(c.blocked_by),
                    "waivers": [w.id for w in c.waivers if w.state == "active"],
                    "checks": [
                        {
                            "id": k.id,
                            "kind": k.kind,
                            "status": k.status,
                            "records": k.records,
                            "summary": k.summary,
                        }
                        for k in c.checks
                    ],
                }
                for c in sorted(assessment.controls, key=lambda c: c.id)
            ],
            "inputs": [
                {"name": d.path, "role": d.role, "digest": {"sha256": d.sha256}}
                for d in sorted(assessment.inputs, key=lambda d: d.path)
            ],
        },
    }


def vsa_statement(
    assessment: Assessment,
    subjects: Sequence[Subject],
    *,
    resolved_policy_sha256: str,
    assessment_payload_sha256: str,
    resource_uri: str | None = None,
) -> dict[str, Any]:
    """The SLSA VSA v1 Statement of one assessment."""
    evidence = sorted((d for d in assessment.inputs if d.role == "evidence"), key=lambda d: d.path)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [s.descriptor() for s in subjects],
        "predicateType": VSA_PREDICATE,
        "predicate": {
            "verifier": {
                "id": VERIFIER_ID,
                "version": {"assay": assessment.engine.version},
            },
            "timeVerified": _w3c(assessment),
            "resourceUri": resource_uri or f"assay:workflow/{release_name(assessment)}",
            "policy": {
                "uri": (
                    f"assay:policy/{assessment.workflow.id}"
                    f"?risk-class={assessment.risk_class.id}&as-of={_w3c(assessment)}"
                ),
                "digest": {"sha256": resolved_policy_sha256},
            },
            "inputAttestations": [
                {"name": d.path, "digest": {"sha256": d.sha256}} for d in evidence
            ],
            "verificationResult": "PASSED" if assessment.compliant else "FAILED",
            "verifiedLevels": [verified_level(assessment)],
            ASSESSMENT_REFERENCE: {
                "name": f"assessment of {release_name(assessment)}",
                "digest": {"sha256": assessment_payload_sha256},
                "mediaType": PAYLOAD_TYPE,
            },
        },
    }


def envelope(statement: Mapping[str, Any], signer: Signer) -> dict[str, Any]:
    """A DSSE envelope of ``statement`` signed by ``signer``."""
    payload = _serialise(statement)
    signature = signer.sign_bytes(pae(PAYLOAD_TYPE, payload))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": signer.key_id, "sig": base64.b64encode(signature).decode()}],
    }


@dataclass(frozen=True)
class AttestationInput:
    """One assessment to attest, with the project it was made from."""

    assessment: Assessment
    project: Project
    pack: bytes | None = None
    """The audit pack PDF, when one was built (becomes a subject)."""
    pack_name: str | None = None


def statements(
    item: AttestationInput,
    *,
    resource_uri: str | None = None,
    extra_subjects: Sequence[Subject] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (VSA, assessment) Statements of one assessment, unsigned."""
    from .policy import resolved_policy_for

    assessment = item.assessment
    policy_sha = _sha256(canonical_json(resolved_policy_for(assessment, item.project)))
    subjects = [Subject(release_name(assessment), _sha256(assessment.canonical_json()))]
    if item.pack is not None:
        subjects.append(Subject(item.pack_name or "audit-pack.pdf", _sha256(item.pack)))
    subjects.extend(extra_subjects)
    names = [s.name for s in subjects]
    if len(set(names)) != len(names):
        raise UsageError(f"attestation subjects must have distinct names: {', '.join(names)}")
    detail = assessment_statement(assessment, subjects, policy_sha)
    vsa = vsa_statement(
        assessment,
        subjects,
        resolved_policy_sha256=policy_sha,
        assessment_payload_sha256=_sha256(_serialise(detail)),
        resource_uri=resource_uri,
    )
    return vsa, detail


def build_attestation(
    items: Sequence[AttestationInput],
    signer: Signer,
    *,
    resource_uri: str | None = None,
    extra_subjects: Sequence[Subject] = (),
) -> bytes:
    """The signed bundle (JSON Lines of DSSE envelopes) for one or more assessments."""
    if not items:
        raise UsageError("nothing to attest: no assessment given")
    if resource_uri is not None and len(items) > 1:
        raise UsageError("one --resource-uri cannot name several workflows' releases")
    lines = []
    for item in items:
        for statement in statements(item, resource_uri=resource_uri, extra_subjects=extra_subjects):
            lines.append(orjson.dumps(envelope(statement, signer), option=orjson.OPT_SORT_KEYS))
    return b"\n".join(lines) + b"\n"


def parse_subject(text: str) -> Subject:
    """``NAME=sha256:HEX`` (as given on the command line) to a Subject."""
    name, sep, digest = text.rpartition("=")
    algorithm, _, value = digest.partition(":")
    if not sep or not name or algorithm != "sha256" or not _SHA256.match(value.lower()):
        raise UsageError(f"--subject {text!r}: expected NAME=sha256:<64 hex digits>")
    return Subject(name, value.lower())


# --- verification --------------------------------------------------------------------------


def _b64decode(text: object) -> bytes:
    # DSSE allows the standard and the URL-safe alphabets; verifiers must accept both.
    value = str(text).translate(str.maketrans("-_", "+/"))
    return base64.b64decode(value, validate=True)


def _trusted_keys(trust: Sequence[bytes]) -> dict[str, x509.Certificate]:
    """keyid (SHA-256 of the DER certificate) -> certificate, for every trusted one."""
    out: dict[str, x509.Certificate] = {}
    for index, data in enumerate(trust):
        try:
            if b"-----BEGIN" in data:
                certs = x509.load_pem_x509_certificates(data)
            else:
                certs = [x509.load_der_x509_certificate(data)]
        except ValueError:
            raise InputError(
                f"trust certificate #{index + 1} is not a PEM or DER X.509 certificate",
                code=ErrorCode.VERIFY_TRUST,
            ) from None
        for cert in certs:
            out[_sha256(cert.public_bytes(serialization.Encoding.DER))] = cert
    return out


def _signature_holds(cert: x509.Certificate, message: bytes, signature: bytes) -> bool:
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class _Envelope:
    line: int
    statement: dict[str, Any]
    payload: bytes
    signer: str


def _read_envelope(
    line_no: int, line: bytes, keys: Mapping[str, x509.Certificate], c: Collector
) -> _Envelope | None:
    where = f"line {line_no}"
    try:
        raw = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        c.add(f"envelope {line_no}", False, f"{where} is not JSON ({exc})")
        return None
    if not isinstance(raw, dict) or not {"payloadType", "payload", "signatures"} <= raw.keys():
        c.add(f"envelope {line_no}", False, f"{where} is not a DSSE envelope")
        return None
    if raw["payloadType"] != PAYLOAD_TYPE:
        c.add(
            f"envelope {line_no}",
            False,
            f"{where}: payload type {str(raw['payloadType'])[:80]!r}, expected {PAYLOAD_TYPE}",
        )
        return None
    try:
        payload = _b64decode(raw["payload"])
    except (binascii.Error, ValueError):
        c.add(f"envelope {line_no}", False, f"{where}: the payload is not base64")
        return None
    message = pae(PAYLOAD_TYPE, payload)
    signer: str | None = None
    signatures = raw["signatures"] if isinstance(raw["signatures"], list) else []
    for entry in signatures:
        if not isinstance(entry, dict):
            continue
        try:
            sig = _b64decode(entry.get("sig", ""))
        except (binascii.Error, ValueError):
            continue
        # keyid is an unauthenticated hint (DSSE): it orders the keys tried, nothing more.
        keyid = str(entry.get("keyid") or "")
        hinted = keys.get(keyid)
        candidates = [c for c in (hinted,) if c] + [c for c in keys.values() if c is not hinted]
        for cert in candidates:
            if _signature_holds(cert, message, sig):
                signer = cert.subject.rfc4514_string()
                break
        if signer:
            break
    if signer is None:
        c.add(
            f"envelope {line_no}",
            False,
            f"{where}: no signature verifies with a trusted certificate (the payload was "
            f"changed, or the signer's certificate is not among --trust)",
        )
        return None
    try:
        statement = orjson.loads(payload)
    except orjson.JSONDecodeError:
        c.add(f"envelope {line_no}", False, f"{where}: the signed payload is not JSON")
        return None
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        c.add(f"envelope {line_no}", False, f"{where}: the payload is not an in-toto Statement v1")
        return None
    c.add(
        f"envelope {line_no}",
        True,
        f"signed by {signer}: {str(statement.get('predicateType'))[:100]}",
    )
    return _Envelope(line_no, statement, payload, signer)


def _subjects(statement: Mapping[str, Any]) -> dict[str, str] | None:
    items = statement.get("subject")
    if not isinstance(items, list) or not items:
        return None
    out: dict[str, str] = {}
    for item in items:
        digest = item.get("digest") if isinstance(item, dict) else None
        value = digest.get("sha256") if isinstance(digest, dict) else None
        if not isinstance(value, str) or not _SHA256.match(value):
            return None
        out[str(item.get("name", ""))] = value
    return out


def verify_attestation(
    bundle: bytes,
    trust: Sequence[bytes],
    *,
    artifacts: Mapping[str, bytes] | None = None,
) -> VerifyReport:
    """Verify an attestation bundle offline.

    Every envelope: JSON, payload type ``application/vnd.in-toto+json``, a signature that
    verifies over the PAE bytes with a trusted certificate, an in-toto Statement v1 payload.
    Every VSA: an assessment Statement with the same subjects whose payload digest is the
    one the VSA references, a verdict that agrees with it, and a release subject whose
    digest is the assessment's. ``artifacts`` (name -> bytes, e.g. the pack PDF) must
    match the subject of that name. Unreadable trust certificates are an InputError (exit
    2); everything else is a failed check (exit 3).
    """
    if len(bundle) > MAX_BUNDLE_BYTES:
        raise InputError(
            f"the attestation is {len(bundle):,} bytes, over the {MAX_BUNDLE_BYTES:,} limit",
            code=ErrorCode.VERIFY_INPUT,
        )
    keys = _trusted_keys(trust)
    c = Collector()
    if not keys:
        c.add("trust", False, "no trust certificate given (--trust CERT of the signer)")
        return VerifyReport(tuple(c.checks))
    envelopes = [
        env
        for number, line in enumerate(bundle.splitlines(), start=1)
        if line.strip()
        for env in [_read_envelope(number, line, keys, c)]
        if env is not None
    ]
    by_digest = {_sha256(e.payload): e for e in envelopes}
    vsas = [e for e in envelopes if e.statement.get("predicateType") == VSA_PREDICATE]
    if not vsas:
        c.add("summary", False, "the bundle holds no verified SLSA VSA statement")
    workflows: list[str] = []
    verdicts: list[str] = []
    for vsa in vsas:
        _check_pair(vsa, by_digest, c, workflows, verdicts)
    for name, data in sorted((artifacts or {}).items()):
        digest = _sha256(data)
        named = [s for v in vsas for n, s in (_subjects(v.statement) or {}).items() if n == name]
        if not named:
            c.add(f"subject {name}", False, f"{name} is not a subject of the attestation")
        elif all(value == digest for value in named):
            c.add(f"subject {name}", True, f"{name} matches its subject digest (sha256)")
        else:
            c.add(
                f"subject {name}",
                False,
                f"{name} has SHA-256 {digest[:16]}…, the attestation names another digest",
            )
    return VerifyReport(
        tuple(c.checks),
        signer=envelopes[0].signer if envelopes else None,
        workflow=", ".join(workflows) or None,
        verdict="; ".join(verdicts) or None,
    )


def _check_pair(
    vsa: _Envelope,
    by_digest: Mapping[str, _Envelope],
    c: Collector,
    workflows: list[str],
    verdicts: list[str],
) -> None:
    name = f"vsa {vsa.line}"
    predicate = vsa.statement.get("predicate")
    subjects = _subjects(vsa.statement)
    if not isinstance(predicate, dict) or subjects is None:
        c.add(name, False, "the VSA has no predicate or a subject without a SHA-256 digest")
        return
    reference = predicate.get(ASSESSMENT_REFERENCE)
    digest = reference.get("digest", {}).get("sha256") if isinstance(reference, dict) else None
    detail = by_digest.get(str(digest))
    if detail is None or detail.statement.get("predicateType") != ASSESSMENT_PREDICATE:
        c.add(name, False, "the assessment statement the VSA references is not in the bundle")
        return
    facts = detail.statement.get("predicate")
    if not isinstance(facts, dict):
        c.add(name, False, "the assessment statement has no predicate")
        return
    problems = []
    if _subjects(detail.statement) != subjects:
        problems.append("its subjects differ from the assessment statement's")
    compliant = facts.get("compliant") is True
    result = predicate.get("verificationResult")
    if result != ("PASSED" if compliant else "FAILED"):
        problems.append(f"verificationResult {result!r} contradicts the assessment")
    levels = predicate.get("verifiedLevels")
    if compliant == (levels == ["FAILED"]):
        problems.append(f"verifiedLevels {levels!r} contradict the assessment")
    workflow = facts.get("workflow", {}) if isinstance(facts.get("workflow"), dict) else {}
    release = f"{workflow.get('id')}@{facts.get('release') or facts.get('asOf')}"
    assessment_digest = facts.get("assessment", {}).get("sha256")
    if subjects.get(release) != assessment_digest:
        problems.append(f"the release subject {release} does not carry the assessment's digest")
    if problems:
        c.add(name, False, "; ".join(problems))
        return
    workflows.append(release)
    verdicts.append(f"{release}: {result}")
    c.add(name, True, f"{release}: {result}, {len(subjects)} subject(s), assessment referenced")
