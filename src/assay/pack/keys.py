"""Development signing keys: a self-signed RSA-3072 certificate. NOT for production.

RSA with PKCS#1 v1.5 and SHA-256 is the signature mechanism ISO 32000-1 (PDF 1.7) itself
defines, so a pack signed with this key stays plainly PDF/A-3 (see ``sign.py``).

A production pack is signed with a key whose certificate the auditor can trust for other
reasons (an organisation CA, a qualified certificate). This key pair only lets a developer
try the whole sign-and-verify loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ..errors import UsageError

DEV_WARNING = (
    "DEVELOPMENT KEY - NOT FOR PRODUCTION: this certificate is self-signed and anyone can "
    "make one like it; a pack signed with it proves nothing to an auditor who did not "
    "receive this exact certificate from you through a trusted channel."
)


GITIGNORE = """\
# Written by `assay keys init`: the private key (unencrypted) and the PKCS#12 file must
# never be committed. cert.pem is public: give it to whoever verifies your packs.
key.pem
signer.p12
"""


@dataclass(frozen=True)
class DevKeyFiles:
    """Paths written by :func:`make_dev_keys`."""

    key: Path
    cert: Path
    pkcs12: Path | None
    gitignore: Path


def make_dev_keys(
    out: Path,
    *,
    passphrase: bytes | None,
    common_name: str = "Assay development signer (NOT FOR PRODUCTION)",
    days: int = 365,
    now: datetime | None = None,
    force: bool = False,
) -> DevKeyFiles:
    """Write ``key.pem`` (unencrypted, mode 0600), ``cert.pem``, with a passphrase
    ``signer.p12``, and a ``.gitignore`` keeping the secret two out of git, into ``out``.

    Existing key files are overwritten only with ``force`` (a new key pair replaces the
    whole old one: a ``signer.p12`` of the old key is removed even when no new one is
    written, so the folder never holds files of two different keys)."""
    out = Path(out)
    key_path, cert_path, p12_path = out / "key.pem", out / "cert.pem", out / "signer.p12"
    existing = [p for p in (key_path, cert_path, p12_path) if p.exists() or p.is_symlink()]
    if existing and not force:
        raise UsageError(
            f"{existing[0]} already exists; choose another --out folder, or give --force "
            "to replace the key pair"
        )
    start = (now or datetime.now(UTC)) - timedelta(minutes=5)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Assay development (self-signed)"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
        for old in existing:
            old.unlink()  # never written through: O_EXCL below refuses a planted link
        gitignore = out / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text(GITIGNORE, encoding="utf-8")
        else:  # the folder's own rules stay; ours are added unless already there
            listed = set(gitignore.read_text(encoding="utf-8", errors="replace").split())
            if not {"key.pem", "signer.p12"} <= listed:
                with gitignore.open("a", encoding="utf-8") as handle:
                    handle.write("\n" + GITIGNORE)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        written_p12: Path | None = None
        if passphrase:
            fd = os.open(p12_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(
                    pkcs12.serialize_key_and_certificates(
                        b"assay-dev",
                        key,
                        cert,
                        None,
                        serialization.BestAvailableEncryption(passphrase),
                    )
                )
            written_p12 = p12_path
    except OSError as exc:
        raise UsageError(f"cannot write keys to {out}: {exc.strerror}") from None
    return DevKeyFiles(key_path, cert_path, written_p12, gitignore)
