"""Fixtures for the audit pack: a real project (``tests/pack/project``) loaded and assessed
by the engine, keys, and shared renders.

The project holds one workflow in hypercare with every control status, evidence in every
file format, hostile text in a change title, and another workflow's evidence. Renders are
session-scoped: a handful of PDFs serve every test.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from hsm_support import Token, softhsm_token
from pki_support import PkiServer, serve_pki

from assay.evaluate import assess
from assay.load.project import Project, load_project
from assay.models.assessment import Assessment
from assay.pack.fetcher import SafeURLFetcher

PROJECT = Path(__file__).parent / "project"
WORKFLOW = "fraud-scoring"
RELEASE = "2.4.0"
AS_OF = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
HOSTILE = (
    '<img src="file:///etc/passwd"> <link rel="stylesheet" href="http://example.com/x.css">'
    " <script>alert(1)</script>"
)
"""The rollback plan reference of change chg-7 in ``evidence/changes.jsonl``: evidence
is untrusted text."""
PASSPHRASE = b"correct horse battery staple"


def copy_project(target: Path) -> Path:
    """A copy of the test project under ``target`` (tests may change their copy)."""
    root = target / "project"
    shutil.copytree(PROJECT, root)
    return root


def assess_project(project: Project, release: str = RELEASE) -> Assessment:
    return assess(project, WORKFLOW, AS_OF, release)


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
def sample_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return load_project(copy_project(tmp_path_factory.mktemp("sample")))


@pytest.fixture(scope="session")
def sample_assessment(sample_project: Project) -> Assessment:
    return assess_project(sample_project)


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
def unsigned_render(sample_project: Project, sample_assessment: Assessment) -> Render:
    from assay.pack.html import pack_contents, render_contents
    from assay.pack.pdf import html_to_pdf

    contents = pack_contents(sample_assessment, sample_project)
    html = render_contents(contents)
    fetcher = SafeURLFetcher()
    pdf = html_to_pdf(html, contents.attachments, sample_assessment.as_of, fetcher=fetcher)
    return Render(html, pdf, fetcher)


@pytest.fixture(scope="session")
def signed_pdf(sample_project: Project, sample_assessment: Assessment, keys: KeySet) -> bytes:
    from assay.pack import Signer, build_pack

    signer = Signer.from_pem(keys.key, keys.cert)
    return build_pack(sample_assessment, sample_project, signer)


@pytest.fixture(scope="session")
def rsa_signed_pdf(
    sample_project: Project, sample_assessment: Assessment, rsa_keys: KeySet
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
    sample_project: Project,
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
