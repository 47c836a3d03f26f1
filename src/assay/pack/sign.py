"""PAdES signing of a finished pack with pyhanko.

Keys are loaded with ``cryptography`` first so that every problem (missing file, wrong
passphrase, expired certificate, key not matching the certificate) becomes a
:class:`SigningError` with a plain message. Messages never include the passphrase:
pyhanko's own ``load_pkcs12`` returns None on a wrong passphrase and logs, so it is not used.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ..errors import SigningError

SIGNATURE_FIELD = "AssaySignature"
SignKey = (
    ec.EllipticCurvePrivateKey
    | rsa.RSAPrivateKey
    | ed25519.Ed25519PrivateKey
    | (ed448.Ed448PrivateKey)
)


def _read(path: str | Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise SigningError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise SigningError(f"cannot read {what} {path}: {exc.strerror}") from None


def _load_certs(data: bytes, source: str | Path) -> list[x509.Certificate]:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise SigningError(f"{source} is not a PEM or DER X.509 certificate") from None


def _check_usable(key: object, cert: x509.Certificate, source: str, now: datetime) -> SignKey:
    if not isinstance(
        key,
        ec.EllipticCurvePrivateKey
        | rsa.RSAPrivateKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PrivateKey,
    ):
        raise SigningError(f"{source}: unsupported key type {type(key).__name__}")
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise SigningError(
            f"{source}: the private key does not match the certificate "
            f"({cert.subject.rfc4514_string()})"
        )
    if now > cert.not_valid_after_utc:
        raise SigningError(
            f"{source}: the certificate {cert.subject.rfc4514_string()} expired on "
            f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        )
    if now < cert.not_valid_before_utc:
        raise SigningError(
            f"{source}: the certificate {cert.subject.rfc4514_string()} is not valid before "
            f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        )
    return key


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if names:
        value = names[0].value
        return value if isinstance(value, str) else value.decode()
    return cert.subject.rfc4514_string()


class Signer:
    """A signing key and its certificate chain, checked when loaded."""

    def __init__(
        self, key: SignKey, cert: x509.Certificate, chain: Sequence[x509.Certificate] = ()
    ) -> None:
        self._key = key
        self.certificate = cert
        self.chain = tuple(chain)

    @property
    def name(self) -> str:
        """The signer's common name, as shown on the pack's cover."""
        return _common_name(self.certificate)

    @classmethod
    def from_pkcs12(
        cls, path: str | Path, passphrase: bytes | None, *, now: datetime | None = None
    ) -> Signer:
        """Load a PKCS#12 (.p12/.pfx) file; a wrong passphrase is a SigningError."""
        data = _read(path, "PKCS#12 file")
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase)
        except ValueError:
            raise SigningError(
                f"cannot open PKCS#12 file {path}: wrong passphrase or not a PKCS#12 file"
            ) from None
        except TypeError:
            # cryptography raises TypeError when a passphrase is needed and none was given.
            raise SigningError(f"PKCS#12 file {path} needs a passphrase") from None
        if key is None or cert is None:
            raise SigningError(f"PKCS#12 file {path} holds no private key and certificate")
        checked = _check_usable(key, cert, str(path), now or datetime.now(UTC))
        return cls(checked, cert, extra)

    @classmethod
    def from_pem(
        cls,
        key_path: str | Path,
        cert_path: str | Path,
        chain_paths: Sequence[str | Path] = (),
        passphrase: bytes | None = None,
        *,
        now: datetime | None = None,
    ) -> Signer:
        """Load a PEM (or DER) private key, its certificate and optional chain certificates."""
        key_data = _read(key_path, "key file")
        try:
            if b"-----BEGIN" in key_data:
                key = serialization.load_pem_private_key(key_data, passphrase)
            else:
                key = serialization.load_der_private_key(key_data, passphrase)
        except TypeError:
            # Encrypted key without passphrase, or a passphrase for an unencrypted key.
            raise SigningError(
                f"key file {key_path}: "
                + ("needs a passphrase" if passphrase is None else "is not encrypted")
            ) from None
        except ValueError:
            raise SigningError(
                f"cannot read key file {key_path}: wrong passphrase or not a private key"
            ) from None
        certs = _load_certs(_read(cert_path, "certificate file"), cert_path)
        chain = [c for p in chain_paths for c in _load_certs(_read(p, "chain file"), p)]
        checked = _check_usable(key, certs[0], str(cert_path), now or datetime.now(UTC))
        return cls(checked, certs[0], [*certs[1:], *chain])

    def _pyhanko_signer(self) -> signers.SimpleSigner:
        registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]
        registry.register_multiple(
            [translate_pyca_cryptography_cert_to_asn1(c) for c in self.chain]
        )
        return signers.SimpleSigner(
            signing_cert=translate_pyca_cryptography_cert_to_asn1(self.certificate),
            signing_key=translate_pyca_cryptography_key_to_asn1(self._key),
            cert_registry=registry,
        )

    def sign(self, pdf: bytes, *, tsa_url: str | None = None) -> bytes:
        """Append a PAdES signature covering the whole of ``pdf``.

        With ``tsa_url``, an RFC 3161 timestamp from that authority is embedded in the
        signature (PAdES B-T).
        """
        meta = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason="Assay audit pack: attests the assessment and its embedded evidence",
            name=self.name,
        )
        timestamper = HTTPTimeStamper(tsa_url, timeout=20) if tsa_url else None
        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
            out = signers.sign_pdf(
                writer, meta, signer=self._pyhanko_signer(), timestamper=timestamper
            )
        except TimeoutError:
            raise SigningError(f"the timestamp authority {tsa_url} did not answer") from None
        except Exception as exc:  # pyhanko and aiohttp raise many types; translate them all
            what = f"timestamp authority {tsa_url}" if tsa_url else "signer"
            raise SigningError(f"signing failed ({what}): {type(exc).__name__}: {exc}") from None
        return out.getvalue()  # type: ignore[no-any-return]
