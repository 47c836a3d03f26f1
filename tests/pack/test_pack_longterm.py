"""Long-term signatures end to end: PAdES B-T and B-LT against a local test PKI
(root -> intermediate -> signer, CRLs and a timestamp authority served on 127.0.0.1)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pack_support import LongTermPack
from pki_support import PKI_PASSPHRASE, PkiServer, make_pki

from assay.errors import SigningError
from assay.load.project import Project
from assay.models.assessment import Assessment
from assay.pack import Signer, build_pack, verify_pack
from assay.pack.pdf import html_to_pdf

Run = Callable[..., Any]


def _fingerprint(pem: bytes) -> str:
    digest = x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256()).hex().upper()
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2))


def _tiny() -> bytes:
    from pack_support import AS_OF

    return html_to_pdf("<p>tiny</p>", [], AS_OF)


def test_b_lt_pack_verifies_with_level_times_and_fingerprint(lt_pack: LongTermPack) -> None:
    pki = lt_pack.server.pki
    fetched_before = list(lt_pack.server.requests)
    report = verify_pack(lt_pack.pdf, [pki.root.pem])
    assert report.ok, report.text()
    facts = report.signature
    assert facts is not None
    assert facts.level == "B-LT"
    assert facts.fingerprint == _fingerprint(pki.signer.pem)
    assert facts.signed_at is not None and facts.timestamp_at is not None
    assert abs((facts.timestamp_at - facts.signed_at).total_seconds()) < 120
    assert facts.timestamp_authority == "Assay Test Timestamp Authority"
    text = report.text()
    assert f"signer certificate SHA-256: {facts.fingerprint}" in text
    assert "signature level: B-LT" in text and "timestamp (RFC 3161)" in text
    assert next(c for c in report.checks if c.name == "signature-level").detail == "PAdES B-LT"
    # Verification is offline: nothing was fetched from the CRL or TSA server meanwhile.
    assert lt_pack.server.requests == fetched_before
    data = report.to_dict()["signature"]
    assert data["level"] == "B-LT" and data["fingerprint_sha256"] == facts.fingerprint


def test_b_lt_embeds_the_crls_it_fetched_in_the_signed_revision(lt_pack: LongTermPack) -> None:
    assert {"GET /root.crl", "GET /intermediate.crl", "POST /tsa"} <= set(lt_pack.server.requests)
    with pikepdf.open(io.BytesIO(lt_pack.pdf)) as doc:
        dss = doc.Root.DSS
        assert len(dss.CRLs) >= 2 and len(dss.Certs) >= 3
        assert "/VRI" not in dss  # a VRI entry would need a second revision
        sig = doc.Root.AcroForm.Fields[0].V
        start, length, resume, tail = (int(v) for v in sig.ByteRange)
        assert start == 0 and resume + tail == len(lt_pack.pdf)  # whole file signed


def test_pdfsig_accepts_the_b_lt_pack(lt_pack: LongTermPack, tmp_path: Path, run_tool: Run) -> None:
    nss = tmp_path / "nss"
    nss.mkdir()
    root = tmp_path / "root.pem"
    root.write_bytes(lt_pack.server.pki.root.pem)
    run_tool("certutil", "-N", "-d", f"sql:{nss}", "--empty-password", check=True)
    run_tool(
        "certutil", "-A", "-d", f"sql:{nss}", "-n", "root", "-t", "CT,C,C", "-i", root, check=True
    )
    pack = tmp_path / "lt.pdf"
    pack.write_bytes(lt_pack.pdf)
    out = run_tool("pdfsig", "-nssdir", f"sql:{nss}", pack).stdout
    assert "Signature is Valid." in out, out
    assert "Total document signed" in out, out
    assert "Certificate is Trusted." in out, out
    assert "Signer Certificate Common Name: Assay Long-Term Signer" in out


def test_cover_shows_the_signer_fingerprint(
    lt_pack: LongTermPack, tmp_path: Path, run_tool: Run
) -> None:
    path = tmp_path / "lt.pdf"
    path.write_bytes(lt_pack.pdf)
    first_page = run_tool("pdftotext", "-f", "1", "-l", "1", path, "-", check=True).stdout
    fingerprint = _fingerprint(lt_pack.server.pki.signer.pem)
    flat = re.sub(r"\s+", "", first_page)
    assert fingerprint.replace(":", "") in flat.replace(":", ""), first_page
    assert "Assay Long-Term Signer" in first_page


def test_b_t_with_an_in_process_timestamper(pki_server: PkiServer, tmp_path: Path) -> None:
    pki = pki_server.pki
    paths = pki.write(tmp_path)
    signer = Signer.from_pem(paths["key"], paths["cert"], [paths["intermediate"]])
    signed = signer.sign(_tiny(), timestamper=pki.timestamper())
    report = verify_pack(signed, [pki.root.pem])
    assert report.signature is not None and report.signature.level == "B-T"
    level = next(c for c in report.checks if c.name == "signature-level")
    assert level.ok and "no validation data (DSS)" in level.detail
    strict = verify_pack(signed, [pki.root.pem], require_level="B-LT")
    assert "signature-level" in strict.failed and strict.exit_code == 3
    assert (
        "B-LT was required" in next(c for c in strict.checks if c.name == "signature-level").detail
    )


def test_untrusted_timestamp_authority_stops_at_b_b(lt_pack: LongTermPack) -> None:
    # Trusting only the intermediate: the signer chains to it, the TSA (issued by the root)
    # does not, so the timestamp counts for nothing.
    report = verify_pack(lt_pack.pdf, [lt_pack.server.pki.intermediate.pem])
    assert report.signature is not None and report.signature.level == "B-B"
    detail = next(c for c in report.checks if c.name == "signature-level").detail
    assert "timestamp authority Assay Test Timestamp Authority does not chain" in detail


def test_revoked_signer_cannot_sign_at_b_lt(pki_server: PkiServer, tmp_path: Path) -> None:
    pki = pki_server.pki
    paths = pki.write(tmp_path, pki.revoked_signer)
    signer = Signer.from_pkcs12(paths["p12"], PKI_PASSPHRASE)
    with pytest.raises(SigningError, match="revoked") as info:
        signer.sign(_tiny(), level="B-LT", tsa_url=pki_server.tsa_url)
    assert "Traceback" not in str(info.value)


def test_revocation_data_that_cannot_be_fetched_is_a_signing_error(tmp_path: Path) -> None:
    pki = make_pki("http://127.0.0.1:9")  # nothing listens on port 9
    paths = pki.write(tmp_path)
    signer = Signer.from_pkcs12(paths["p12"], PKI_PASSPHRASE)
    with pytest.raises(SigningError, match="no revocation information could be found"):
        signer.sign(_tiny(), level="B-LT", timestamper=pki.timestamper())


def test_levels_need_what_they_need(keys: Any, pki_server: PkiServer) -> None:
    signer = Signer.from_pem(keys.key, keys.cert)
    with pytest.raises(SigningError, match="B-T signature needs a timestamp"):
        signer.sign(_tiny(), level="B-T")
    with pytest.raises(SigningError, match="whole chain up to its root"):
        # A self-signed key has a root (itself); a leaf without its chain has none.
        paths = pki_server.pki.write(Path(keys.dir) / "leaf-only")
        Signer.from_pem(paths["key"], paths["cert"]).sign(
            _tiny(), level="B-LT", timestamper=pki_server.pki.timestamper()
        )


def test_build_pack_signs_at_b_lt_with_the_pem_chain(
    sample_assessment: Assessment,
    sample_project: Project,
    pki_server: PkiServer,
    tmp_path: Path,
) -> None:
    paths = pki_server.pki.write(tmp_path)
    signer = Signer.from_pem(paths["key"], paths["cert"], [paths["intermediate"], paths["root"]])
    pdf = build_pack(
        sample_assessment,
        sample_project,
        signer,
        timestamper=pki_server.pki.timestamper(),
        level="B-LT",
    )
    report = verify_pack(pdf, [pki_server.pki.root.pem])
    assert report.ok and report.signature is not None and report.signature.level == "B-LT"
