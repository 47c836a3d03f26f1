"""Signing: PAdES accepted by poppler; key problems are clear SigningErrors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pack_support import PASSPHRASE, KeySet, make_keys

from assay.errors import SigningError
from assay.pack import Signer

Run = Callable[..., Any]


def test_pdfsig_trusts_the_signature_over_the_whole_file(
    signed_pdf: bytes, keys: KeySet, tmp_path: Path, run_tool: Run
) -> None:
    nss = tmp_path / "nss"
    nss.mkdir()
    run_tool("certutil", "-N", "-d", f"sql:{nss}", "--empty-password", check=True)
    run_tool(
        "certutil",
        "-A",
        "-d",
        f"sql:{nss}",
        "-n",
        "assay-signer",
        "-t",
        "CT,C,C",
        "-i",
        keys.cert,
        check=True,
    )
    pack = tmp_path / "pack.pdf"
    pack.write_bytes(signed_pdf)
    out = run_tool("pdfsig", "-nssdir", f"sql:{nss}", pack).stdout
    # pdfsig exits 0 even on a digest mismatch: the text is what counts.
    assert "Signature is Valid." in out, out
    assert "Total document signed" in out, out
    assert "Certificate is Trusted." in out, out
    assert "Signer Certificate Common Name: Assay Test Signer" in out


def test_pdfsig_sees_a_tampered_signature(signed_pdf: bytes, tmp_path: Path, run_tool: Run) -> None:
    data = bytearray(signed_pdf)
    index = signed_pdf.index(b"/Producer")  # inside the signed range, still parseable
    data[index] ^= 0x01
    pack = tmp_path / "bad.pdf"
    pack.write_bytes(bytes(data))
    out = run_tool("pdfsig", pack).stdout
    assert "Signature is Valid." not in out


def test_pkcs12_round_trip(keys: KeySet) -> None:
    signer = Signer.from_pkcs12(keys.p12, PASSPHRASE)
    assert signer.name == "Assay Test Signer"


def test_wrong_passphrase_is_clear_and_never_echoed(keys: KeySet) -> None:
    secret = b"hunter2-not-the-passphrase"
    with pytest.raises(SigningError) as info:
        Signer.from_pkcs12(keys.p12, secret)
    assert "wrong passphrase" in str(info.value)
    assert secret.decode() not in str(info.value) and secret.decode() not in repr(info.value)
    assert PASSPHRASE.decode() not in str(info.value)
    assert info.value.exit_code == 2


def test_missing_passphrase_for_pkcs12(keys: KeySet) -> None:
    with pytest.raises(SigningError, match="passphrase"):
        Signer.from_pkcs12(keys.p12, None)


def test_missing_key_file(tmp_path: Path, keys: KeySet) -> None:
    with pytest.raises(SigningError, match="does not exist"):
        Signer.from_pem(tmp_path / "nope.pem", keys.cert)
    with pytest.raises(SigningError, match="does not exist"):
        Signer.from_pkcs12(tmp_path / "nope.p12", PASSPHRASE)


def test_expired_certificate(tmp_path: Path) -> None:
    old = make_keys(tmp_path / "old", not_before=datetime.now(UTC) - timedelta(days=400), days=30)
    with pytest.raises(SigningError, match="expired on"):
        Signer.from_pem(old.key, old.cert)
    with pytest.raises(SigningError, match="expired on"):
        Signer.from_pkcs12(old.p12, PASSPHRASE)


def test_not_yet_valid_certificate(tmp_path: Path) -> None:
    future = make_keys(tmp_path / "future", not_before=datetime.now(UTC) + timedelta(days=3))
    with pytest.raises(SigningError, match="not valid before"):
        Signer.from_pem(future.key, future.cert)


def test_key_not_matching_certificate(keys: KeySet, other_keys: KeySet) -> None:
    with pytest.raises(SigningError, match="does not match the certificate"):
        Signer.from_pem(other_keys.key, keys.cert)


def test_garbage_key_and_certificate(tmp_path: Path, keys: KeySet) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"not a key")
    with pytest.raises(SigningError, match="not a private key"):
        Signer.from_pem(junk, keys.cert)
    with pytest.raises(SigningError, match="not a PEM or DER X.509 certificate"):
        Signer.from_pem(keys.key, junk)
    with pytest.raises(SigningError, match="wrong passphrase or not a PKCS#12"):
        Signer.from_pkcs12(junk, PASSPHRASE)


def test_unreachable_timestamp_authority_is_a_signing_error(keys: KeySet) -> None:
    signer = Signer.from_pem(keys.key, keys.cert)
    with pytest.raises(SigningError, match="timestamp authority"):
        signer.sign(_tiny_pdf(), tsa_url="http://127.0.0.1:9/tsa")


def _tiny_pdf() -> bytes:
    from pack_support import AS_OF

    from assay.pack.pdf import html_to_pdf

    return html_to_pdf("<p>tiny</p>", [], AS_OF)
