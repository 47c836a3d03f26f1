"""A test PKI for long-term signatures: root -> intermediate -> signer, a timestamp
authority, CRLs, and a local HTTP server on 127.0.0.1 that serves the CRLs and answers
RFC 3161 requests (pyHanko's test timestamper behind a real HTTP endpoint).

The server is started and stopped by the fixture that uses it; its port is chosen by the
OS and written into the certificates' CRL distribution points before they are issued.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps import DummyTimeStamper

PKI_PASSPHRASE = b"long-term passphrase"
Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Assay Test PKI"),
        ]
    )


def _usage(*, ca: bool, signer: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=signer,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Issued:
    key: Key
    cert: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


@dataclass
class TestPKI:
    """root -> intermediate -> signer (and -> a second signer that gets revoked), plus a TSA
    certificate issued by the root. CRLs are made on request from ``revoked``."""

    base_url: str
    root: Issued
    intermediate: Issued
    signer: Issued
    revoked_signer: Issued
    tsa: Issued
    revoked: set[int] = field(default_factory=set)

    def crl(self, issuer: Issued) -> bytes:
        now = datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.cert.subject)
            .last_update(now - timedelta(minutes=5))
            .next_update(now + timedelta(days=7))
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                critical=False,
            )
        )
        for serial in sorted(self.revoked):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(now - timedelta(minutes=1))
                .build()
            )
        return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def timestamper(self) -> DummyTimeStamper:
        return DummyTimeStamper(
            tsa_cert=asn1_x509.Certificate.load(self.tsa.der),
            tsa_key=asn1_keys.PrivateKeyInfo.load(
                self.tsa.key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ),
        )

    def write(self, folder: Path, who: Issued | None = None) -> dict[str, Path]:
        """Write the signer's key, certificate, chain and a PKCS#12 file into ``folder``."""
        who = who or self.signer
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            "key": folder / "signer.key.pem",
            "cert": folder / "signer.pem",
            "intermediate": folder / "intermediate.pem",
            "root": folder / "root.pem",
            "p12": folder / "signer.p12",
        }
        paths["key"].write_bytes(who.key_pem())
        paths["cert"].write_bytes(who.pem)
        paths["intermediate"].write_bytes(self.intermediate.pem)
        paths["root"].write_bytes(self.root.pem)
        paths["p12"].write_bytes(
            pkcs12.serialize_key_and_certificates(
                b"signer",
                who.key,  # type: ignore[arg-type]
                who.cert,
                [self.intermediate.cert, self.root.cert],
                serialization.BestAvailableEncryption(PKI_PASSPHRASE),
            )
        )
        return paths


def _issue(
    subject: str,
    key: Key,
    issuer: Issued | None,
    *,
    ca: bool,
    crl_url: str | None,
    signer: bool = False,
    eku: x509.ObjectIdentifier | None = None,
) -> Issued:
    now = datetime.now(UTC)
    issuer_name = issuer.cert.subject if issuer else _name(subject)
    signing_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30 if not ca else 365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(_usage(ca=ca, signer=signer), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(crl_url)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
    cert = builder.sign(signing_key, hashes.SHA256())
    return Issued(key, cert)


def make_pki(base_url: str, *, signer_key: str = "rsa") -> TestPKI:
    root = _issue("Assay Test Root CA", _rsa(), None, ca=True, crl_url=None)
    inter = _issue(
        "Assay Test Intermediate CA", _rsa(), root, ca=True, crl_url=f"{base_url}/root.crl"
    )

    def leaf_key() -> Key:
        return _rsa() if signer_key == "rsa" else ec.generate_private_key(ec.SECP256R1())

    signer = _issue(
        "Assay Long-Term Signer",
        leaf_key(),
        inter,
        ca=False,
        signer=True,
        crl_url=f"{base_url}/intermediate.crl",
    )
    revoked = _issue(
        "Assay Revoked Signer",
        leaf_key(),
        inter,
        ca=False,
        signer=True,
        crl_url=f"{base_url}/intermediate.crl",
    )
    tsa = _issue(
        "Assay Test Timestamp Authority",
        _rsa(),
        root,
        ca=False,
        crl_url=f"{base_url}/root.crl",
        eku=ExtendedKeyUsageOID.TIME_STAMPING,
    )
    return TestPKI(base_url, root, inter, signer, revoked, tsa)


@dataclass
class PkiServer:
    """The PKI and its HTTP endpoints: /root.crl, /intermediate.crl and POST /tsa."""

    pki: TestPKI
    url: str
    requests: list[str]

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/tsa"


def serve_pki(signer_key: str = "rsa") -> Iterator[PkiServer]:
    """Start the server on 127.0.0.1 (a free port), yield it, stop it."""
    state: dict[str, Any] = {}
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass  # keep test output clean

        def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            pki: TestPKI = state["pki"]
            seen.append(f"GET {self.path}")
            issuer = {"/root.crl": pki.root, "/intermediate.crl": pki.intermediate}.get(self.path)
            if issuer is None:
                self._send(b"not found", "text/plain", 404)
            else:
                self._send(pki.crl(issuer), "application/pkix-crl")

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            seen.append(f"POST {self.path}")
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if self.path != "/tsa":
                self._send(b"not found", "text/plain", 404)
                return
            request = tsp.TimeStampReq.load(body)
            response = state["tsa"].request_tsa_response(request)
            self._send(response.dump(), "application/timestamp-reply")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    state["pki"] = pki = make_pki(url, signer_key=signer_key)
    pki.revoked.add(pki.revoked_signer.cert.serial_number)
    state["tsa"] = pki.timestamper()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield PkiServer(pki, url, seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
