"""Signing with a key that never leaves a PKCS#11 token (SoftHSM2 standing in for an HSM)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hsm_support import Token
from pki_support import PkiServer

from assay.errors import SigningError
from assay.load.project import Project
from assay.models.assessment import Assessment
from assay.pack import Signer, build_pack, verify_pack


def _open(token: Token, pin: str | None = None, **kw: object) -> Signer:
    return Signer.from_pkcs11(
        token.library, token.key_label, pin or token.pin, token_label=token.label, **kw
    )  # type: ignore[arg-type]


def test_wrong_pin_is_clear_and_never_echoed(token: Token) -> None:
    # First, before any session is logged in (a token keeps one login per application).
    with pytest.raises(SigningError, match="wrong PIN") as info:
        _open(token, pin="999999")
    assert "999999" not in str(info.value) and token.pin not in str(info.value)
    assert info.value.exit_code == 2


def test_token_signed_b_lt_pack_verifies(
    token: Token,
    pki_server: PkiServer,
    sample_assessment: Assessment,
    sample_project: Project,
    tmp_path: Path,
) -> None:
    pki = pki_server.pki
    paths = pki.write(tmp_path)  # only the CA certificates are used from these files
    with _open(token, chain_paths=[paths["intermediate"], paths["root"]]) as signer:
        assert signer.in_token
        assert signer.name == "Assay Long-Term Signer"  # read from the token's certificate
        pdf = build_pack(
            sample_assessment, sample_project, signer, tsa_url=pki_server.tsa_url, level="B-LT"
        )
    report = verify_pack(pdf, [pki.root.pem])
    assert report.ok, report.text()
    assert report.signature is not None and report.signature.level == "B-LT"
    assert report.signer == "Assay Long-Term Signer"


def test_missing_key_or_library_is_a_signing_error(token: Token, tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="does not exist"):
        Signer.from_pkcs11(tmp_path / "nope.so", "x", token.pin)
    with pytest.raises(SigningError, match="no certificate labelled 'absent'"):
        Signer.from_pkcs11(token.library, "absent", token.pin, token_label=token.label)
