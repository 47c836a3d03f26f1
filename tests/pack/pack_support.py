"""Fixtures for the audit pack: a realistic project and assessment, keys, and shared renders.

The pack reads a project only through structural protocols, so a small frozen dataclass
stands in for the loader's Project. Renders are session-scoped: a handful of PDFs serve
every test.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from hsm_support import Token, softhsm_token
from pki_support import PkiServer, serve_pki

from assay.models.assessment import (
    Assessment,
    CheckResult,
    ControlResult,
    Engine,
    EvidencePointer,
    Finding,
    HypercareState,
    InputDigest,
    RiskClassInfo,
    SourcePointer,
    Summary,
    Verdict,
    WaiverState,
    WorkflowInfo,
)
from assay.models.policy import Mappings
from assay.pack.fetcher import SafeURLFetcher

AS_OF = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
HOSTILE = (
    '<img src="file:///etc/passwd"> <link rel="stylesheet" href="http://example.com/x.css">'
    " <script>alert(1)</script>"
)
PASSPHRASE = b"correct horse battery staple"


@dataclass(frozen=True)
class FakeFile:
    path: str
    role: str
    sha256: str
    data: bytes


@dataclass(frozen=True)
class FakeProject:
    root: Path
    files: tuple[FakeFile, ...]
    config: dict[str, Any] = field(default_factory=dict)


def _jsonl(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, sort_keys=True).encode() + b"\n" for r in records)


def _record(kind: str, rid: str, day: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "kind": kind,
        "workflow": "fraud-scoring",
        "created_at": f"2026-04-{day:02d}T09:00:00Z",
        "recorded_by": "ci@example.com",
        "source_uri": f"https://ci.example.com/{kind}/{rid}",
        "sha256": hashlib.sha256(rid.encode()).hexdigest(),
        **extra,
    }


def project_files() -> dict[str, tuple[str, bytes]]:
    """path -> (role, bytes) of the sample project."""
    deploys = [
        _record("deploy_record", f"dep-{i}", 1 + i, approvers=["ann", "bob"][: 1 + i % 2])
        for i in range(6)
    ]
    changes = [_record("change_request", "chg-7", 3, approved=False, note=HOSTILE)]
    return {
        "assay.yaml": ("config", b"policies: [policies]\nevidence: [evidence]\n"),
        "policies/catalog.yaml": (
            "policy",
            b"catalog: production\nversion: '1'\ncontrols:\n  - id: PROD-CHG-01\n"
            b"    title: Reviewed changes only\n",
        ),
        "policies/classes/high.yaml": ("policy", b"id: high\ntitle: C3 High\nlevel: 3\n"),
        "workflows/fraud-scoring.yaml": (
            "workflow",
            b"id: fraud-scoring\nname: Fraud scoring\nowner: risk-ml@example.com\n"
            b"risk_class: high\nlaunched: 2026-03-01\n",
        ),
        "waivers/canary.yaml": (
            "waiver",
            b"id: W-12\nworkflow: fraud-scoring\ncontrol: PROD-INC-01\n",
        ),
        "evidence/deploys.jsonl": ("evidence", _jsonl(deploys)),
        "evidence/changes.jsonl": ("evidence", _jsonl(changes)),
        "evidence/postmortems/pm-1.md": (
            "evidence",
            b"---\nid: pm-1\nkind: postmortem\nworkflow: fraud-scoring\n"
            b"created_at: 2026-04-20T10:00:00Z\nincident: inc-4\n---\n# Postmortem\n\nBlameless.\n",
        ),
        # Evidence of another workflow: must stay out of the pack.
        "evidence/other.jsonl": ("evidence", b'{"id": "x", "workflow": "other"}\n'),
    }


def make_project(root: Path) -> FakeProject:
    files = []
    for path, (role, data) in sorted(project_files().items()):
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        files.append(FakeFile(path, role, hashlib.sha256(data).hexdigest(), data))
    return FakeProject(root=root, files=tuple(files))


def _ptr(project: FakeProject, path: str, line: int, rid: str, kind: str) -> EvidencePointer:
    sha = next(f.sha256 for f in project.files if f.path == path)
    return EvidencePointer(file=path, line=line, pointer="", record_id=rid, kind=kind, sha256=sha)


def _check(cid: str, status: str, summary: str, findings: list[Finding], **kw: Any) -> CheckResult:
    return CheckResult(
        id=cid,
        kind=kw.get("kind", "every"),
        description=kw.get("description", f"Check {cid} holds for every matching record."),
        status=status,
        summary=summary,
        records=kw.get("records", len(findings)),
        findings=findings,
        omitted=kw.get("omitted", 0),
        policy=SourcePointer(file="policies/catalog.yaml", line=5),
    )


MAPPINGS = Mappings(
    eu_ai_act=["Art. 15(1)", "Art. 17(1)(b)"], nist_ai_rmf=["MG-2.3"], iso_42001=["A.6.2.5"]
)


def make_assessment(project: FakeProject) -> Assessment:
    deploy_ptrs = [
        _ptr(project, "evidence/deploys.jsonl", i + 1, f"dep-{i}", "deploy_record")
        for i in range(3)
    ]
    hostile_ptr = _ptr(project, "evidence/changes.jsonl", 1, "chg-7", "change_request")
    pm_ptr = _ptr(project, "evidence/postmortems/pm-1.md", 2, "pm-1", "postmortem")

    def control(cid: str, title: str, status: str, summary: str, **kw: Any) -> ControlResult:
        return ControlResult(
            id=cid,
            title=title,
            intent=kw.get("intent", f"{title}: the intent of the control in one sentence."),
            severity=kw.get("severity", "high"),
            status=status,
            summary=summary,
            required_by=kw.get("required_by", "class"),
            requires=kw.get("requires", []),
            blocked_by=kw.get("blocked_by", []),
            params=kw.get("params", {}),
            param_sources=kw.get("param_sources", {}),
            checks=kw.get("checks", []),
            waivers=kw.get("waivers", []),
            mappings=MAPPINGS,
            remediation=kw.get("remediation", f"Fix {cid}: do the thing, then re-run the gate."),
            policy=SourcePointer(file="policies/catalog.yaml", line=3),
        )

    waiver = WaiverState(
        id="W-12",
        control="PROD-INC-01",
        state="active",
        reason="Incident tooling migration in progress; manual triage in place.",
        requested_by="dana@example.com",
        approved_by="erin@example.com",
        approved_at=datetime(2026, 4, 1, tzinfo=UTC),
        expires_at=datetime(2026, 6, 1, tzinfo=UTC),
        ticket="RISK-481",
        source=SourcePointer(file="waivers/canary.yaml", line=1),
    )
    controls = [
        control(
            "PROD-CLASS-01",
            "Risk class is current",
            "pass",
            "Reviewed 12 days ago.",
            checks=[
                _check(
                    "review_fresh",
                    "pass",
                    "Newest review is 12 days old.",
                    [],
                    kind="fresh",
                    records=2,
                )
            ],
        ),
        control(
            "PROD-DOC-01",
            "Model card matches production",
            "pass",
            "The model card was approved the day of the deploy.",
            requires=["PROD-CLASS-01"],
            params={"approval_lag": "0d"},
            param_sources={"approval_lag": "high"},
        ),
        control(
            "PROD-CHG-01",
            "Only reviewed changes reach production",
            "fail",
            "1 of 7 changes reached production without two approvals.",
            requires=["PROD-CLASS-01", "PROD-DOC-01"],
            params={"approvers": 2, "emergency_retro": "2bd"},
            param_sources={"approvers": "high", "emergency_retro": "hypercare"},
            checks=[
                _check(
                    "two_approvers",
                    "fail",
                    "Expected 2 approvals; chg-7 had none.",
                    [
                        Finding(
                            outcome="fail",
                            message="chg-7 was deployed unapproved.",
                            evidence=[hostile_ptr],
                        ),
                        *[
                            Finding(
                                outcome="pass",
                                message=f"dep-{i} had approvals.",
                                evidence=[deploy_ptrs[i]],
                            )
                            for i in range(3)
                        ],
                    ],
                    records=7,
                    omitted=3,
                )
            ],
        ),
        control(
            "PROD-ONCALL-01",
            "A named responder is always reachable",
            "pass",
            "The rota covers the next 21 days.",
            severity="critical",
        ),
        control(
            "PROD-OBS-01",
            "Signals are emitted and alerts reach a human",
            "pass",
            "All 9 signals reported within 15 minutes.",
            requires=["PROD-ONCALL-01"],
        ),
        control(
            "PROD-CANARY-01",
            "Canary before promotion",
            "blocked",
            "Blocked: PROD-CHG-01 did not pass.",
            requires=["PROD-CHG-01", "PROD-OBS-01"],
            blocked_by=["PROD-CHG-01"],
            params={"duration": "48h", "traffic_max": 5},
            param_sources={"duration": "hypercare", "traffic_max": "high"},
        ),
        control(
            "PROD-ROLLBACK-01",
            "Rollback drill",
            "error",
            "Could not evaluate: field rto_minutes is missing in drill-3.",
            requires=["PROD-CHG-01"],
            checks=[
                _check(
                    "drill_recent",
                    "error",
                    "Field rto_minutes is missing.",
                    [
                        Finding(
                            outcome="error",
                            message="drill-3 has no rto_minutes.",
                            evidence=[deploy_ptrs[0]],
                        )
                    ],
                    kind="aggregate",
                )
            ],
        ),
        control(
            "PROD-INC-01",
            "Every issue is triaged",
            "waived",
            "Waived by W-12 until 2026-06-01.",
            requires=["PROD-ONCALL-01", "PROD-OBS-01"],
            waivers=[waiver],
        ),
        control(
            "PROD-PM-01",
            "Blameless postmortems",
            "pass",
            "Every SEV1 has a postmortem within 5 business days.",
            requires=["PROD-INC-01"],
            checks=[
                _check(
                    "sev1_covered",
                    "pass",
                    "1 of 1 SEV1 covered.",
                    [Finding(outcome="pass", message="inc-4 covered by pm-1.", evidence=[pm_ptr])],
                    kind="covered",
                )
            ],
        ),
        control(
            "PROD-TRANSP-01",
            "Required notices are live",
            "not_applicable",
            "Not applicable: no person interacts with this workflow.",
            severity="medium",
            requires=["PROD-CHG-01"],
        ),
    ]
    counts: dict[str, int] = {}
    for c in controls:
        counts[c.status] = counts.get(c.status, 0) + 1
    evidence_paths = [
        "evidence/changes.jsonl",
        "evidence/deploys.jsonl",
        "evidence/postmortems/pm-1.md",
    ]
    inputs = [
        InputDigest(
            path=f.path,
            role=f.role,
            sha256=f.sha256,
            records=(6 if "deploys" in f.path else 1) if f.role == "evidence" else None,
        )
        for f in project.files
        if f.role != "evidence" or f.path in evidence_paths
    ]
    return Assessment(
        engine=Engine(version="0.1.0"),
        as_of=AS_OF,
        release="2.4.0",
        workflow=WorkflowInfo(
            id="fraud-scoring",
            name="Fraud scoring",
            owner="risk-ml@example.com",
            risk_class="high",
            launched=date(2026, 3, 1),
            eu_scope=True,
            role="provider",
        ),
        risk_class=RiskClassInfo(
            id="high",
            title="C3 High",
            level=3,
            prohibited=False,
            lineage=["high", "limited", "minimal"],
        ),
        hypercare=HypercareState(
            active=True,
            started=date(2026, 3, 1),
            ends=datetime(2026, 5, 30, tzinfo=UTC),
            extensions=0,
        ),
        controls=controls,
        inputs=inputs,
        summary=Summary(
            counts=counts,
            compliant=False,
            verdict=Verdict.NON_COMPLIANT,
        ),
    )


# --- keys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeySet:
    dir: Path
    key: Path
    cert: Path
    p12: Path
    cert_pem: bytes


def make_keys(
    out: Path,
    name: str = "Assay Test Signer",
    *,
    not_before: datetime | None = None,
    days: int = 30,
    key_type: str = "ec",
) -> KeySet:
    out.mkdir(parents=True, exist_ok=True)
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    if key_type == "ec":
        key = ec.generate_private_key(ec.SECP256R1())
    elif key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, None if key_type == "ed25519" else hashes.SHA256())
    )
    key_path, cert_path, p12_path = out / "key.pem", out / "cert.pem", out / "signer.p12"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path.write_bytes(cert_pem)
    p12_path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"signer", key, cert, None, serialization.BestAvailableEncryption(PASSPHRASE)
        )
    )
    return KeySet(out, key_path, cert_path, p12_path, cert_pem)


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sample_project(tmp_path_factory: pytest.TempPathFactory) -> FakeProject:
    return make_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="session")
def sample_assessment(sample_project: FakeProject) -> Assessment:
    return make_assessment(sample_project)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeySet:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def rsa_keys(tmp_path_factory: pytest.TempPathFactory) -> KeySet:
    return make_keys(tmp_path_factory.mktemp("rsa-keys"), name="Assay RSA Signer", key_type="rsa")


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> KeySet:
    return make_keys(tmp_path_factory.mktemp("other-keys"), name="Mallory")


@dataclass(frozen=True)
class Render:
    html: str
    pdf: bytes
    fetcher: SafeURLFetcher


@pytest.fixture(scope="session")
def unsigned_render(sample_project: FakeProject, sample_assessment: Assessment) -> Render:
    from assay.pack.html import pack_contents, render_contents
    from assay.pack.pdf import html_to_pdf

    contents = pack_contents(sample_assessment, sample_project)
    html = render_contents(contents)
    fetcher = SafeURLFetcher()
    pdf = html_to_pdf(html, contents.attachments, sample_assessment.as_of, fetcher=fetcher)
    return Render(html, pdf, fetcher)


@pytest.fixture(scope="session")
def signed_pdf(sample_project: FakeProject, sample_assessment: Assessment, keys: KeySet) -> bytes:
    from assay.pack import Signer, build_pack

    signer = Signer.from_pem(keys.key, keys.cert)
    return build_pack(sample_assessment, sample_project, signer)


@pytest.fixture(scope="session")
def rsa_signed_pdf(
    sample_project: FakeProject, sample_assessment: Assessment, rsa_keys: KeySet
) -> bytes:
    from assay.pack import Signer, build_pack

    return build_pack(
        sample_assessment, sample_project, Signer.from_pem(rsa_keys.key, rsa_keys.cert)
    )


@pytest.fixture(scope="session")
def pki_server() -> Iterator[PkiServer]:
    """The test PKI's CRL and timestamp server on 127.0.0.1, for the whole session."""
    yield from serve_pki()


@pytest.fixture(scope="session")
def token(pki_server: PkiServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Token]:
    """A SoftHSM2 token holding the test PKI signer's key and certificate (one per session:
    SoftHSM reads its configuration once per process)."""
    yield from softhsm_token(tmp_path_factory.mktemp("softhsm"), pki_server.pki.signer)


@dataclass(frozen=True)
class LongTermPack:
    pdf: bytes
    paths: dict[str, Path]
    server: PkiServer


@pytest.fixture(scope="session")
def lt_pack(
    sample_project: FakeProject,
    sample_assessment: Assessment,
    pki_server: PkiServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> LongTermPack:
    """The sample pack signed at PAdES B-LT by the test PKI's signer over HTTP."""
    from pki_support import PKI_PASSPHRASE

    from assay.pack import Signer, build_pack

    paths = pki_server.pki.write(tmp_path_factory.mktemp("lt-keys"))
    signer = Signer.from_pkcs12(paths["p12"], PKI_PASSPHRASE)
    pdf = build_pack(
        sample_assessment, sample_project, signer, tsa_url=pki_server.tsa_url, level="B-LT"
    )
    return LongTermPack(pdf, paths, pki_server)


@pytest.fixture(scope="session")
def run_tool() -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*argv: str | Path, check: bool = False) -> subprocess.CompletedProcess[str]:
        if shutil.which(str(argv[0])) is None:
            pytest.fail(f"{argv[0]} is not installed; run scripts/setup-system.sh")
        return subprocess.run(
            [str(a) for a in argv], capture_output=True, text=True, check=check, timeout=120
        )

    return run


@pytest.fixture()
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


@pytest.fixture(scope="session")
def unsigned_html(unsigned_render: Render) -> str:
    return unsigned_render.html
