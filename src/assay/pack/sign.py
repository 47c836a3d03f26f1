"""PAdES signing of a finished pack with pyHanko, at level B-B, B-T or B-LT.

Keys are loaded with ``cryptography`` (PEM, PKCS#12) or found in a token through PKCS#11,
and checked when loaded, so that every problem (missing file, wrong passphrase or PIN,
expired certificate, key not matching the certificate) becomes a :class:`SigningError`
with a plain message. Messages never include a passphrase or PIN: pyHanko's own
``load_pkcs12`` returns None on a wrong passphrase and logs, so it is not used.

The pack stays PDF/A-3 after signing (PDF 1.7, ISO 32000-1):

- pyHanko declares the ISO/TS 32002 developer extension, which makes the catalog say
  ``/Version /2.0``, whenever the key is ECDSA on a common curve or EdDSA. Packs are signed
  through :class:`_PdfA3Signer`, which declares only the ESIC extension PAdES needs on
  PDF 1.7. RSA (PKCS#1 v1.5, SHA-256) is the mechanism ISO 32000-1 itself defines and the
  one the development keys use; ECDSA P-256 keys still sign (PAdES and PDF 1.7 readers
  accept them) and EdDSA keys are refused, because no PDF 1.7 reader defines them.
- pyHanko updates the Info dictionary and the XMP metadata from two clock readings and
  appends its name to Info's producer only; :class:`_MetadataSyncWriter` makes Info equal
  the XMP packet after that update, as PDF/A requires.
- B-LT validation data goes into the DSS of the signature's own revision, so the
  signature still covers the whole file (``pdfsig``: "Total document signed").
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata import model, xmp_xml
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.constants import ESIC_EXTENSION_1
from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ..errors import SigningError

SIGNATURE_FIELD = "AssaySignature"
SignatureLevel = Literal["B-B", "B-T", "B-LT"]
LEVELS: tuple[SignatureLevel, ...] = ("B-B", "B-T", "B-LT")
SignKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
DIGEST = "sha256"


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


def load_cert_files(paths: Sequence[str | Path]) -> list[x509.Certificate]:
    """Every certificate in the given PEM or DER files, in order."""
    return [c for p in paths for c in _load_certs(_read(p, "certificate file"), p)]


def _check_validity(cert: x509.Certificate, source: str, now: datetime) -> None:
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


def _check_algorithm(public_key: object, source: str) -> None:
    if isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        raise SigningError(
            f"{source}: EdDSA signatures need PDF 2.0 (ISO/TS 32002) and an audit pack is "
            f"PDF/A-3 (PDF 1.7); use an RSA or ECDSA key"
        )
    if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise SigningError(f"{source}: unsupported key type {type(public_key).__name__}")


def _check_usable(key: object, cert: x509.Certificate, source: str, now: datetime) -> SignKey:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        _check_algorithm(key.public_key(), source)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise SigningError(f"{source}: unsupported key type {type(key).__name__}")
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise SigningError(
            f"{source}: the private key does not match the certificate "
            f"({cert.subject.rfc4514_string()})"
        )
    _check_validity(cert, source, now)
    return key


def common_name(cert: x509.Certificate) -> str:
    """The certificate subject's common name (else the whole subject)."""
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if names:
        value = names[0].value
        return value if isinstance(value, str) else value.decode()
    return cert.subject.rfc4514_string()


def fingerprint(cert_der: bytes) -> str:
    """SHA-256 of a DER certificate as colon-separated upper-case hex (as ``openssl`` prints)."""
    digest = hashlib.sha256(cert_der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _to_asn1(cert: x509.Certificate) -> Any:
    return translate_pyca_cryptography_cert_to_asn1(cert)


class _Pkcs11Key:
    """An open session on a PKCS#11 token and the label of the key (and certificate) in it."""

    def __init__(self, session: Any, key_label: str) -> None:
        self.session = session
        self.key_label = key_label

    def close(self) -> None:
        try:
            self.session.close()
        except Exception:  # a token that is already gone cannot be closed twice; nothing leaks
            pass


class Signer:
    """A signing key and its certificate chain, checked when loaded.

    The key is either in memory (PEM, PKCS#12) or in a token reached through PKCS#11; both
    sign PDF signatures and raw bytes (the attestation's DSSE envelope) the same way.
    """

    def __init__(
        self,
        key: SignKey | _Pkcs11Key,
        cert: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        self._key = key
        self.certificate = cert
        self.chain = tuple(c for c in chain if c != cert)

    @property
    def name(self) -> str:
        """The signer's common name, as shown on the pack's cover."""
        return common_name(self.certificate)

    @property
    def fingerprint(self) -> str:
        """SHA-256 fingerprint of the signer's certificate (shown on the cover)."""
        return fingerprint(self.certificate.public_bytes(serialization.Encoding.DER))

    @property
    def key_id(self) -> str:
        """Lower-case hex SHA-256 of the certificate: the DSSE ``keyid`` of attestations."""
        return hashlib.sha256(self.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()

    @property
    def in_token(self) -> bool:
        return isinstance(self._key, _Pkcs11Key)

    def close(self) -> None:
        """Close the PKCS#11 session, if any (idempotent)."""
        if isinstance(self._key, _Pkcs11Key):
            self._key.close()

    def __enter__(self) -> Signer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- loading --------------------------------------------------------------------------

    @classmethod
    def from_pkcs12(
        cls,
        path: str | Path,
        passphrase: bytes | None,
        chain_paths: Sequence[str | Path] = (),
        *,
        now: datetime | None = None,
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
        return cls(checked, cert, [*extra, *load_cert_files(chain_paths)])

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
        chain = load_cert_files(chain_paths)
        checked = _check_usable(key, certs[0], str(cert_path), now or datetime.now(UTC))
        return cls(checked, certs[0], [*certs[1:], *chain])

    @classmethod
    def from_pkcs11(
        cls,
        library: str | Path,
        key_label: str,
        pin: str | None,
        *,
        token_label: str | None = None,
        cert_path: str | Path | None = None,
        chain_paths: Sequence[str | Path] = (),
        now: datetime | None = None,
    ) -> Signer:
        """Use the key labelled ``key_label`` in a PKCS#11 token (an HSM, a smart card).

        The certificate is read from the token (an object with the same label) unless
        ``cert_path`` gives it. The session stays open until :meth:`close`.
        """
        source = f"PKCS#11 token{f' {token_label!r}' if token_label else ''}"
        if not Path(library).is_file():
            raise SigningError(f"PKCS#11 library {library} does not exist")
        try:
            import pkcs11
            from pyhanko.config.pkcs11 import TokenCriteria
            from pyhanko.sign.pkcs11 import open_pkcs11_session
        except ImportError:
            raise SigningError(
                "PKCS#11 signing needs the python-pkcs11 package: pip install 'assay[pkcs11]'"
            ) from None
        criteria = TokenCriteria(label=token_label) if token_label else None
        try:
            session = open_pkcs11_session(str(library), token_criteria=criteria, user_pin=pin)
        except pkcs11.PinIncorrect:
            raise SigningError(f"{source}: wrong PIN") from None
        except pkcs11.PinLenRange:
            raise SigningError(f"{source}: the PIN has the wrong length") from None
        except Exception as exc:  # python-pkcs11 and the module raise many types
            raise SigningError(
                f"cannot open a session on the {source} through {library}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        handle = _Pkcs11Key(session, key_label)
        try:
            cert = cls._token_certificate(session, key_label, cert_path, source)
            _check_algorithm(cert.public_key(), source)
            _check_validity(cert, source, now or datetime.now(UTC))
            keys = list(
                session.get_objects(
                    {
                        pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY,
                        pkcs11.Attribute.LABEL: key_label,
                    }
                )
            )
            if not keys:
                raise SigningError(f"{source} holds no private key labelled {key_label!r}")
            return cls(handle, cert, load_cert_files(chain_paths))
        except BaseException:
            handle.close()
            raise

    @staticmethod
    def _token_certificate(
        session: Any, label: str, cert_path: str | Path | None, source: str
    ) -> x509.Certificate:
        if cert_path is not None:
            return _load_certs(_read(cert_path, "certificate file"), cert_path)[0]
        import pkcs11

        found = list(
            session.get_objects(
                {
                    pkcs11.Attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE,
                    pkcs11.Attribute.LABEL: label,
                }
            )
        )
        if not found:
            raise SigningError(
                f"{source} holds no certificate labelled {label!r}; give it with --cert"
            )
        return x509.load_der_x509_certificate(found[0][pkcs11.Attribute.VALUE])

    # --- pyHanko --------------------------------------------------------------------------

    def _pyhanko_signer(self) -> Any:
        chain = [_to_asn1(c) for c in self.chain]
        if isinstance(self._key, _Pkcs11Key):
            from pyhanko.sign.pkcs11 import PKCS11Signer

            return PKCS11Signer(
                self._key.session,
                key_label=self._key.key_label,
                signing_cert=_to_asn1(self.certificate),
                ca_chain=chain,
                other_certs_to_pull=None,
            )
        registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]
        registry.register_multiple(chain)
        return signers.SimpleSigner(
            signing_cert=_to_asn1(self.certificate),
            signing_key=translate_pyca_cryptography_key_to_asn1(self._key),
            cert_registry=registry,
        )

    def sign_bytes(self, data: bytes) -> bytes:
        """A signature over ``data`` with SHA-256: PKCS#1 v1.5 for RSA, DER ECDSA-Sig-Value
        for ECDSA (the form DSSE verifiers and ``cryptography`` expect)."""
        try:
            with _quiet_pyhanko():
                signature: bytes = asyncio.run(self._pyhanko_signer().async_sign_raw(data, DIGEST))
        except Exception as exc:  # token and library failures: report, never a traceback
            raise SigningError(f"signing failed: {type(exc).__name__}: {exc}") from None
        return signature

    def sign(
        self,
        pdf: bytes,
        *,
        level: SignatureLevel | None = None,
        tsa_url: str | None = None,
        timestamper: Any = None,
    ) -> bytes:
        """Append a PAdES signature covering the whole of ``pdf``.

        ``level``: B-B (signature only), B-T (plus an RFC 3161 signature timestamp from
        ``tsa_url`` or ``timestamper``), B-LT (plus the certificates and CRLs/OCSP responses
        that validate the signer's and the timestamp authority's chains, fetched now and
        embedded in the DSS). Default: B-T when a timestamp source is given, else B-B.
        """
        source = "timestamp authority " + tsa_url if tsa_url else "timestamp authority"
        if tsa_url and timestamper is not None:
            raise SigningError("give a timestamp authority URL or a timestamper, not both")
        if tsa_url:
            timestamper = HTTPTimeStamper(tsa_url, timeout=20)
        chosen: SignatureLevel = level or ("B-T" if timestamper is not None else "B-B")
        if chosen not in LEVELS:
            raise SigningError(f"unknown signature level {chosen}; choose one of {LEVELS}")
        if chosen != "B-B" and timestamper is None:
            raise SigningError(f"a {chosen} signature needs a timestamp authority (--tsa-url)")
        if chosen == "B-B":
            timestamper = None
        try:
            with _quiet_pyhanko():
                return self._sign(pdf, chosen, timestamper)
        except SigningError:
            raise
        except TimeoutError:
            raise SigningError(f"the {source} did not answer") from None
        except Exception as exc:  # pyhanko and aiohttp raise many types; translate them all
            raise SigningError(f"signing failed: {_explain(exc, source)}") from None

    def _sign(self, pdf: bytes, level: SignatureLevel, timestamper: Any) -> bytes:
        extra: dict[str, Any] = {}
        if level == "B-LT":
            extra = {
                "embed_validation_info": True,
                "validation_context": self._collecting_context(timestamper),
                # In the signature's own revision (no VRI, which would need the signature):
                # the signature keeps covering the whole file.
                "dss_settings": DSSContentSettings(
                    placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE,
                    include_vri=False,
                ),
                "signer_key_usage": {"digital_signature"},
            }
        meta = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm=DIGEST,
            reason="Assay audit pack: attests the assessment and its embedded evidence",
            name=self.name,
            **extra,
        )
        writer = _MetadataSyncWriter(io.BytesIO(pdf), strict=False)
        pdf_signer = _PdfA3Signer(meta, signer=self._pyhanko_signer(), timestamper=timestamper)
        out = pdf_signer.sign_pdf(writer)
        return out.getvalue()  # type: ignore[no-any-return]

    def _collecting_context(self, timestamper: Any) -> Any:
        """A validation context that fetches revocation data for the signer's chain and the
        timestamp authority's, trusting the self-signed certificates among the chain
        (collecting is not trusting: the auditor's verification decides trust)."""
        certs = [self.certificate, *self.chain]
        roots = [_to_asn1(c) for c in certs if c.issuer == c.subject]
        if not roots:
            raise SigningError(
                "a B-LT signature needs the whole chain up to its root certificate: "
                "add the root (and intermediates) with --chain"
            )
        return ValidationContext(
            trust_roots=roots,
            other_certs=[_to_asn1(c) for c in self.chain],
            allow_fetching=True,
            revocation_mode="require",
        )


class _PdfA3Signer(signers.PdfSigner):
    """A PdfSigner that keeps the file at PDF 1.7 (see the module docstring)."""

    def register_extensions(self, pdf_out: Any, *, md_algorithm: str) -> None:
        pdf_out.ensure_output_version(version=(1, 7))
        pdf_out.register_extension(ESIC_EXTENSION_1)


class _MetadataSyncWriter(IncrementalPdfFileWriter):
    """Makes the Info dictionary say what the XMP packet says after pyHanko's update.

    pyHanko stamps Info's ``/ModDate`` and XMP's ``xmp:ModifyDate`` from two clock readings
    and appends its name to Info's ``/Producer`` while XMP's ``pdf:Producer`` becomes its
    name alone. PDF/A requires the two to agree; XMP is the record PDF/A readers use.
    """

    def _update_meta(self) -> None:
        super()._update_meta()  # type: ignore[no-untyped-call]
        try:
            info_ref = self.trailer.raw_get("/Info")
        except KeyError:
            return
        metadata = self.root.get("/Metadata")
        if metadata is None:
            return
        stream = metadata.get_object()
        if not isinstance(stream, xmp_xml.MetadataStream):
            return
        fields = {key: value for root in stream.xmp for key, value in root}
        if not isinstance(info_ref, generic.IndirectObject):
            return
        info = info_ref.get_object()  # type: ignore[no-untyped-call]
        producer = fields.get(model.PDF_PRODUCER)
        if producer is not None:
            info["/Producer"] = generic.TextStringObject(str(producer.value))
        modified = fields.get(model.XMP_MODDATE)
        if modified is not None:
            info["/ModDate"] = generic.pdf_date(datetime.fromisoformat(str(modified.value)))
        self.mark_update(info_ref)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _explain(exc: BaseException, tsa: str) -> str:
    """The messages of an exception and its causes, outermost first, each said once.

    pyHanko wraps the telling error ("... was revoked", "no CRL could be fetched") in a
    generic one ("The signer's certificate could not be validated").
    """
    from pyhanko.sign.timestamps import TimestampRequestError

    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    from_tsa = False
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        from_tsa = from_tsa or isinstance(current, TimestampRequestError)
        module = type(current).__module__
        from_tsa = from_tsa or module.startswith("aiohttp")
        line = _first_line(current)
        if line not in parts:
            parts.append(line)
        current = current.__cause__ or current.__context__
    return ("the " + tsa + ": " if from_tsa else "") + ": ".join(parts)


@contextmanager
def _quiet_pyhanko() -> Iterator[None]:
    # pyhanko logs problems at WARNING/ERROR before raising; the SigningError says it once.
    logger = logging.getLogger("pyhanko")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)
