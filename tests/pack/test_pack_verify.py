"""verify_pack: a good pack verifies; every kind of tampering fails the named check."""
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from pack_support import KeySet, Render
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from assay.errors import InputError
from assay.load.project import Project
from assay.models.assessment import Assessment
from assay.pack import Signer, verify_pack
from assay.pack.html import pack_contents, render_contents
from assay.pack.manifest import MANIFEST_NAME, PackAttachment, build_manifest
from assay.pack.pdf import html_to_pdf
from assay.pack.verify import report_json

SWAPPED = "inputs/evidence/changes.jsonl"


def test_good_pack_verifies(signed_pdf: bytes, keys: KeySet) -> None:
    report = verify_pack(signed_pdf, [keys.cert_pem])
    assert report.ok, report.text()
    assert report.exit_code == 0
    assert [c.name for c in report.checks] == [
        "pdf",
        "signature",
        "signature-trust",
        "signature-level",
        "signature-coverage",
        "manifest",
        "attachments",
        "assessment",
    ]
    assert report.signer == "Assay Test Signer"
    assert "verified: every check holds" in report.text()
    assert '"ok": true' in report_json(report)


def test_der_trust_root_works_too(signed_pdf: bytes, keys: KeySet) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    der = x509.load_pem_x509_certificate(keys.cert_pem).public_bytes(Encoding.DER)
    assert verify_pack(signed_pdf, [der]).ok


def _failed(pdf: bytes, keys: KeySet) -> list[str]:
    report = verify_pack(pdf, [keys.cert_pem])
    assert not report.ok and report.exit_code == 3
    assert "NOT verified: failed" in report.text()
    return report.failed


def test_truncated_pack_fails(signed_pdf: bytes, keys: KeySet) -> None:
    failed = _failed(signed_pdf[: len(signed_pdf) * 2 // 3], keys)
    assert failed and set(failed) & {"pdf", "signature", "attachments", "manifest"}


def test_flipped_byte_fails_the_signature(signed_pdf: bytes, keys: KeySet) -> None:
    data = bytearray(signed_pdf)
    data[signed_pdf.index(b"/Producer")] ^= 0x20  # /Producer -> /producer, still parseable
    assert "signature" in _failed(bytes(data), keys)


def _compressed_attachment_offset(pdf: bytes, name: bytes) -> int:
    """Offset of a byte inside the compressed data of the embedded file ``name``."""
    reader = PdfFileReader(io.BytesIO(pdf))
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    for i in range(0, len(names), 2):
        if str(names[i]).encode() == name:
            ref = names[i + 1].get_object()["/EF"].raw_get("/F")
            found = re.search(rb"(?m)^%d 0 obj" % ref.idnum, pdf)
            assert found is not None
            start = found.start()
            stream = pdf.index(b"stream", start) + len(b"stream\n")
            assert b"/FlateDecode" in pdf[start:stream]
            return stream + 40
    raise AssertionError(name)


def test_flipped_byte_in_a_compressed_attachment_is_reported_as_tampering(
    signed_pdf: bytes, keys: KeySet
) -> None:
    data = bytearray(signed_pdf)
    data[_compressed_attachment_offset(signed_pdf, b"inputs/evidence/canaries.jsonl")] ^= 0x01
    report = verify_pack(bytes(data), [keys.cert_pem])
    assert report.exit_code == 3
    first = report.checks[0]
    assert (first.name, first.ok) == ("signature", False)
    assert "digest mismatch" in first.detail and "changed after signing" in first.detail


def test_byte_range_precheck_agrees_on_an_intact_pack(signed_pdf: bytes) -> None:
    from assay.pack.verify import signed_range_digest

    assert signed_range_digest(signed_pdf) == (True, "sha256")
    tampered = bytearray(signed_pdf)
    tampered[100] ^= 0x01
    assert signed_range_digest(bytes(tampered)) == (False, "sha256")


def test_indirect_names_dictionaries_are_followed(unsigned_render: Render) -> None:
    from assay.pack.verify import embedded_files

    writer = IncrementalPdfFileWriter(io.BytesIO(unsigned_render.pdf))
    names = writer.root["/Names"]
    tree = names["/EmbeddedFiles"]
    array = writer.add_object(generic.ArrayObject(list(tree.raw_get("/Names"))))
    new_tree = writer.add_object(generic.DictionaryObject({generic.NameObject("/Names"): array}))
    kids = generic.DictionaryObject({generic.NameObject("/Kids"): generic.ArrayObject([new_tree])})
    writer.root[generic.NameObject("/Names")] = writer.add_object(
        generic.DictionaryObject({generic.NameObject("/EmbeddedFiles"): writer.add_object(kids)})
    )
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    reader = PdfFileReader(io.BytesIO(out.getvalue()))
    assert isinstance(reader.root.raw_get("/Names"), generic.IndirectObject)
    files = embedded_files(reader)
    assert len(files) == len(embedded_files(PdfFileReader(io.BytesIO(unsigned_render.pdf))))
    assert len(files) > 10 and files["manifest.json"].startswith(b"{")


def test_unsigned_pack_fails(unsigned_render: Render, keys: KeySet) -> None:
    report = verify_pack(unsigned_render.pdf, [keys.cert_pem])
    assert report.failed == ["signature"]
    assert "not signed" in report.checks[1].detail


def _embedded_spec(writer: IncrementalPdfFileWriter, name: str) -> generic.DictionaryObject:
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    for i in range(0, len(names), 2):
        if str(names[i]) == name:
            return names[i + 1].get_object()  # type: ignore[no-any-return]
    raise AssertionError(name)


def test_swapped_attachment_fails(signed_pdf: bytes, keys: KeySet) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    spec = _embedded_spec(writer, SWAPPED)
    forged = generic.StreamObject(
        {generic.NameObject("/Type"): generic.NameObject("/EmbeddedFile")},
        stream_data=b'{"id": "chg-7", "approved": true}\n',
    )
    spec["/EF"] = generic.DictionaryObject({generic.NameObject("/F"): writer.add_object(forged)})
    writer.update_container(spec)
    out = io.BytesIO()
    writer.write(out)
    report = verify_pack(out.getvalue(), [keys.cert_pem])
    assert {"attachments", "signature-coverage"} <= set(report.failed)
    detail = next(c.detail for c in report.checks if c.name == "attachments")
    assert f"{SWAPPED} does not match its SHA-256" in detail


def test_pages_appended_after_signing_fail(signed_pdf: bytes, keys: KeySet) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    page = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/MediaBox"): generic.ArrayObject(
                [generic.NumberObject(v) for v in (0, 0, 595, 842)]
            ),
            generic.NameObject("/Resources"): generic.DictionaryObject(),
        }
    )
    writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    report = verify_pack(out.getvalue(), [keys.cert_pem])
    assert report.failed == ["signature-coverage"]
    assert "appended after signing" in report.checks[4].detail


def test_resigned_by_untrusted_key_fails(
    unsigned_render: Render, keys: KeySet, other_keys: KeySet
) -> None:
    forged = Signer.from_pem(other_keys.key, other_keys.cert).sign(unsigned_render.pdf)
    report = verify_pack(forged, [keys.cert_pem])
    assert report.failed == ["signature-trust"]
    assert "Mallory does not chain" in report.checks[2].detail


def test_no_trust_root_fails_trust(signed_pdf: bytes) -> None:
    assert verify_pack(signed_pdf, []).failed == ["signature-trust"]


def test_not_a_pdf_or_bad_trust_is_an_input_error(signed_pdf: bytes, keys: KeySet) -> None:
    with pytest.raises(InputError, match="not a PDF"):
        verify_pack(b"hello", [keys.cert_pem])
    with pytest.raises(InputError, match="trust certificate #1"):
        verify_pack(signed_pdf, [b"garbage"])


def test_reassess_fails_closed_when_the_embedded_inputs_do_not_load(
    keys: KeySet, sample_assessment: Assessment, sample_project: Project
) -> None:
    # A pack signed in good faith whose embedded catalog the engine cannot read (its manifest
    # agrees with it): the re-assessment must fail, never pass by default.
    contents = pack_contents(sample_assessment, sample_project)
    broken = [
        replace(item, data=b"controls: [unclosed\n")
        if item.name == "inputs/policies/catalog.yaml"
        else item
        for item in contents.attachments
        if item.name != MANIFEST_NAME
    ]
    manifest = build_manifest(sample_assessment, broken)
    broken.append(PackAttachment(MANIFEST_NAME, manifest, "manifest", "SHA-256 of every file"))
    pdf = html_to_pdf(
        render_contents(contents), sorted(broken, key=lambda a: a.name), sample_assessment.as_of
    )
    signed = Signer.from_pem(keys.key, keys.cert).sign(pdf)
    report = verify_pack(signed, [keys.cert_pem], reassess=True)
    assert report.failed == ["reassessment"]
    assert "cannot re-assess" in report.checks[-1].detail
    assert "catalog.yaml" in report.checks[-1].detail
