"""The attestation bundle: in-toto Statements validated against schemas written from the
published specs, the DSSE signature checked with independent code (``cryptography`` over
hand-built PAE bytes), and every kind of tampering failing Assay's verifier."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from jsonschema import Draft202012Validator
from pack_support import KeySet, assess_project
from referencing import Registry, Resource

from assay.errors import InputError, UsageError
from assay.evaluate import assess
from assay.load.project import Project, load_project
from assay.models.assessment import Assessment, Verdict
from assay.pack import Signer
from assay.pack.attest import (
    ASSESSMENT_PREDICATE,
    ASSESSMENT_REFERENCE,
    VSA_PREDICATE,
    AttestationInput,
    Subject,
    build_attestation,
    envelope,
    pae,
    parse_subject,
    statements,
    verify_attestation,
)

FIXTURES = Path(__file__).parent / "fixtures" / "attestation"
QUIET = Path(__file__).parent.parent / "scenarios" / "quiet-compliant"
PACK_NAME = "fraud-scoring-audit-pack.pdf"


def _schema(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _validator(name: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resources(
        (n, Resource.from_contents(_schema(n)))
        for n in ("in-toto-statement-v1.schema.json", "slsa-vsa-v1.schema.json")
    )
    schema = _schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry)


@pytest.fixture(scope="module")
def bundle(
    sample_assessment: Assessment, sample_project: Project, signed_pdf: bytes, keys: KeySet
) -> bytes:
    signer = Signer.from_pem(keys.key, keys.cert)
    item = AttestationInput(sample_assessment, sample_project, signed_pdf, PACK_NAME)
    return build_attestation([item], signer)


def _lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def _payload(env: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(env["payload"]))  # type: ignore[no-any-return]


def _by_type(data: bytes) -> dict[str, dict[str, Any]]:
    return {_payload(env)["predicateType"]: env for env in _lines(data)}


def _rewrite(data: bytes, predicate_type: str, edit: Any) -> bytes:
    out = []
    for env in _lines(data):
        statement = _payload(env)
        if statement["predicateType"] == predicate_type:
            edit(statement)
            env["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
        out.append(json.dumps(env))
    return ("\n".join(out) + "\n").encode()


# --- the Statements against the schemas -------------------------------------------------


def test_statements_validate_against_the_in_toto_and_vsa_schemas(bundle: bytes) -> None:
    envelope_schema = _validator("dsse-envelope.schema.json")
    statement_schema = _validator("in-toto-statement-v1.schema.json")
    vsa_schema = _validator("slsa-vsa-v1.schema.json")
    envs = _lines(bundle)
    assert len(envs) == 2
    for env in envs:
        envelope_schema.validate(env)
        statement_schema.validate(_payload(env))
    vsa = _payload(_by_type(bundle)[VSA_PREDICATE])
    vsa_schema.validate(vsa)
    assert set(vsa) == {"_type", "subject", "predicateType", "predicate"}


def test_the_schemas_are_not_trivially_true(bundle: bytes) -> None:
    vsa = _payload(_by_type(bundle)[VSA_PREDICATE])
    validator = _validator("slsa-vsa-v1.schema.json")
    broken: list[dict[str, Any]] = []
    for key, value in (
        ("verificationResult", "MAYBE"),
        ("verifiedLevels", ["SLSA_MADE_UP"]),
        ("verifiedLevels", ["ASSAY_HIGH_COMPLIANT"]),  # contradicts FAILED
        ("timeVerified", "2026-05-01 12:00"),
        ("unregisteredExtension", True),  # extension fields must be URIs
    ):
        copy = json.loads(json.dumps(vsa))
        copy["predicate"][key] = value
        broken.append(copy)
    no_digest = json.loads(json.dumps(vsa))
    del no_digest["subject"][0]["digest"]
    broken.append(no_digest)
    short = json.loads(json.dumps(vsa))
    short["subject"][0]["digest"]["sha256"] = "abc"
    broken.append(short)
    for item in broken:
        assert not validator.is_valid(item), item["predicate"]


def test_vsa_carries_the_gate_verdict(
    bundle: bytes, sample_assessment: Assessment, signed_pdf: bytes
) -> None:
    vsa = _payload(_by_type(bundle)[VSA_PREDICATE])
    predicate = vsa["predicate"]
    assert predicate["verifier"] == {
        "id": "https://assay.dev/verifier",
        "version": {"assay": "0.1.0"},
    }
    assert predicate["timeVerified"] == "2026-05-01T12:00:00Z"
    assert predicate["resourceUri"] == "assay:workflow/fraud-scoring@2.4.0"
    assert predicate["verificationResult"] == "FAILED"  # the sample is non-compliant
    assert predicate["verifiedLevels"] == ["FAILED"]
    assert predicate["policy"]["uri"].startswith("assay:policy/fraud-scoring?risk-class=high")
    assert len(predicate["policy"]["digest"]["sha256"]) == 64
    evidence = {d.path: d.sha256 for d in sample_assessment.inputs if d.role == "evidence"}
    assert {a["name"]: a["digest"]["sha256"] for a in predicate["inputAttestations"]} == evidence
    subjects = {s["name"]: s["digest"]["sha256"] for s in vsa["subject"]}
    assert subjects == {
        "fraud-scoring@2.4.0": hashlib.sha256(sample_assessment.canonical_json()).hexdigest(),
        PACK_NAME: hashlib.sha256(signed_pdf).hexdigest(),
    }
    # The details are referenced, not carried: the VSA names the assessment Statement's digest.
    detail_env = _by_type(bundle)[ASSESSMENT_PREDICATE]
    detail_digest = hashlib.sha256(base64.b64decode(detail_env["payload"])).hexdigest()
    assert predicate[ASSESSMENT_REFERENCE]["digest"] == {"sha256": detail_digest}
    assert "controls" not in predicate


def test_assessment_statement_has_every_control(
    bundle: bytes, sample_assessment: Assessment
) -> None:
    detail = _payload(_by_type(bundle)[ASSESSMENT_PREDICATE])["predicate"]
    got = {c["id"]: c["status"] for c in detail["controls"]}
    assert got == {c.id: c.status for c in sample_assessment.controls}
    chg = next(c for c in detail["controls"] if c["id"] == "PROD-CHG-01")
    check = sample_assessment.control("PROD-CHG-01").checks[0]
    assert chg["checks"][0] == {
        "id": "enough_approvers",
        "kind": "every",
        "status": "fail",
        "records": 3,
        "summary": check.summary,
    }
    assert detail["compliant"] is False


def test_compliant_assessment_passes_with_an_assay_level() -> None:
    project = load_project(QUIET)
    compliant = assess(project, "chat", datetime(2026, 6, 1, tzinfo=UTC), "1.0")
    assert compliant.verdict is Verdict.COMPLIANT
    vsa, _ = statements(AttestationInput(compliant, project))
    assert vsa["predicate"]["verificationResult"] == "PASSED"
    assert vsa["predicate"]["verifiedLevels"] == ["ASSAY_LIMITED_COMPLIANT"]
    _validator("slsa-vsa-v1.schema.json").validate(vsa)
    assert [s["name"] for s in vsa["subject"]] == ["chat@1.0"]  # no pack, no PDF


# --- the signature, checked independently ------------------------------------------------


def _independent_pae(payload_type: str, body: bytes) -> bytes:
    # Written from DSSE protocol.md, not from Assay's pae():
    # "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
    kind = payload_type.encode("utf-8")
    return b" ".join([b"DSSEv1", str(len(kind)).encode(), kind, str(len(body)).encode(), body])


@pytest.mark.parametrize("key_fixture", ["keys", "rsa_keys"])
def test_dsse_signature_verifies_with_independent_code(
    key_fixture: str,
    request: pytest.FixtureRequest,
    sample_assessment: Assessment,
    sample_project: Project,
) -> None:
    ks: KeySet = request.getfixturevalue(key_fixture)
    data = build_attestation(
        [AttestationInput(sample_assessment, sample_project)], Signer.from_pem(ks.key, ks.cert)
    )
    cert = x509.load_pem_x509_certificate(ks.cert_pem)
    public = cert.public_key()
    keyid = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    for env in _lines(data):
        body = base64.b64decode(env["payload"])
        message = _independent_pae(env["payloadType"], body)
        [sig] = env["signatures"]
        assert sig["keyid"] == keyid
        raw = base64.b64decode(sig["sig"])
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            assert isinstance(public, ec.EllipticCurvePublicKey)
            public.verify(raw, message, ec.ECDSA(hashes.SHA256()))
        # and a changed payload does not verify
        with pytest.raises(InvalidSignature):
            tampered = _independent_pae(env["payloadType"], body.replace(b"fraud", b"frauD"))
            if isinstance(public, rsa.RSAPublicKey):
                public.verify(raw, tampered, padding.PKCS1v15(), hashes.SHA256())
            else:
                public.verify(raw, tampered, ec.ECDSA(hashes.SHA256()))


def test_pae_matches_the_spec_worked_out_by_hand() -> None:
    assert pae("application/vnd.in-toto+json", b'{"a":1}') == (
        b'DSSEv1 28 application/vnd.in-toto+json 7 {"a":1}'
    )
    assert pae("t", b"") == b"DSSEv1 1 t 0 "
    assert pae("exämple", b"x") == b"DSSEv1 8 ex\xc3\xa4mple 1 x"  # byte length, not chars


# --- Assay's verifier ---------------------------------------------------------------------


def test_good_bundle_verifies_with_the_pack_as_an_artifact(
    bundle: bytes, keys: KeySet, signed_pdf: bytes
) -> None:
    report = verify_attestation(bundle, [keys.cert_pem], artifacts={PACK_NAME: signed_pdf})
    assert report.ok, report.text()
    assert report.exit_code == 0
    assert report.workflow == "fraud-scoring@2.4.0"
    assert report.verdict == "fraud-scoring@2.4.0: FAILED"
    assert [c.name for c in report.checks] == [
        "envelope 1",
        "envelope 2",
        "vsa 1",
        f"subject {PACK_NAME}",
    ]


def _fails(data: bytes, keys: KeySet, **kw: Any) -> list[str]:
    report = verify_attestation(data, [keys.cert_pem], **kw)
    assert not report.ok and report.exit_code == 3, report.text()
    return report.failed


def test_tampered_payload_fails(bundle: bytes, keys: KeySet) -> None:
    def forge(statement: dict[str, Any]) -> None:
        statement["predicate"]["verificationResult"] = "PASSED"
        statement["predicate"]["verifiedLevels"] = ["ASSAY_HIGH_COMPLIANT"]

    failed = _fails(_rewrite(bundle, VSA_PREDICATE, forge), keys)
    assert "envelope 1" in failed or "envelope 2" in failed


def test_tampered_subject_fails(bundle: bytes, keys: KeySet, signed_pdf: bytes) -> None:
    def swap(statement: dict[str, Any]) -> None:
        statement["subject"][1]["digest"]["sha256"] = hashlib.sha256(b"other").hexdigest()

    for kind in (VSA_PREDICATE, ASSESSMENT_PREDICATE):
        assert _fails(_rewrite(bundle, kind, swap), keys, artifacts={PACK_NAME: signed_pdf})


def test_artifact_that_does_not_match_its_subject_fails(bundle: bytes, keys: KeySet) -> None:
    failed = _fails(bundle, keys, artifacts={PACK_NAME: b"%PDF-1.7 another pack"})
    assert failed == [f"subject {PACK_NAME}"]
    assert _fails(bundle, keys, artifacts={"unknown.pdf": b"x"}) == ["subject unknown.pdf"]


def test_wrong_payload_type_and_untrusted_signer_fail(
    bundle: bytes, keys: KeySet, other_keys: KeySet
) -> None:
    envs = _lines(bundle)
    envs[0]["payloadType"] = "application/json"
    retyped = ("\n".join(json.dumps(e) for e in envs) + "\n").encode()
    report = verify_attestation(retyped, [keys.cert_pem])
    assert "envelope 1" in report.failed
    assert "payload type 'application/json'" in report.checks[0].detail
    untrusted = verify_attestation(bundle, [other_keys.cert_pem])
    assert {"envelope 1", "envelope 2", "summary"} <= set(untrusted.failed)


def test_missing_or_contradicting_statement_fails(
    sample_assessment: Assessment, sample_project: Project, keys: KeySet, bundle: bytes
) -> None:
    only_vsa = bundle.splitlines()[0] + b"\n"
    assert _fails(only_vsa, keys) == ["vsa 1"]
    assert _fails(bundle.splitlines()[1] + b"\n", keys) == ["summary"]
    # A trusted signer who signs a PASSED summary of a FAILED assessment is caught too.
    signer = Signer.from_pem(keys.key, keys.cert)
    vsa, detail = statements(AttestationInput(sample_assessment, sample_project))
    vsa["predicate"]["verificationResult"] = "PASSED"
    lines = [json.dumps(envelope(s, signer)) for s in (vsa, detail)]
    failed = _fails(("\n".join(lines) + "\n").encode(), keys)
    assert failed == ["vsa 1"]


def test_garbage_lines_and_bad_input(bundle: bytes, keys: KeySet) -> None:
    assert "envelope 1" in _fails(b"not json\n" + bundle, keys)
    with pytest.raises(InputError, match="trust certificate #1"):
        verify_attestation(bundle, [b"garbage"])
    assert verify_attestation(bundle, []).failed == ["trust"]


def test_several_workflows_in_one_bundle(
    sample_assessment: Assessment, sample_project: Project, keys: KeySet
) -> None:
    other = assess_project(sample_project, release="2.5.0")
    data = build_attestation(
        [
            AttestationInput(sample_assessment, sample_project),
            AttestationInput(other, sample_project),
        ],
        Signer.from_pem(keys.key, keys.cert),
    )
    report = verify_attestation(data, [keys.cert_pem])
    assert report.ok, report.text()
    assert report.workflow == "fraud-scoring@2.4.0, fraud-scoring@2.5.0"


def test_extra_subjects_and_their_syntax(
    sample_assessment: Assessment, sample_project: Project, keys: KeySet
) -> None:
    image = parse_subject("registry.example/fraud@v2=sha256:" + "ab" * 32)
    assert image == Subject("registry.example/fraud@v2", "ab" * 32)
    for bad in ("x=sha1:" + "a" * 40, "sha256:" + "a" * 64, "x=sha256:zz"):
        with pytest.raises(UsageError, match="NAME=sha256"):
            parse_subject(bad)
    data = build_attestation(
        [AttestationInput(sample_assessment, sample_project)],
        Signer.from_pem(keys.key, keys.cert),
        extra_subjects=[image],
    )
    vsa = _payload(_by_type(data)[VSA_PREDICATE])
    assert {"name": image.name, "digest": {"sha256": image.sha256}} in vsa["subject"]
    assert verify_attestation(data, [keys.cert_pem]).ok
