"""PDF/A-3a requirements, checked structurally on the pack before and after signing.

veraPDF (the reference validator) cannot be installed here, so these tests check the
requirements a signature can break, and the ones Assay controls, with pikepdf and
poppler's pdfinfo/pdffonts. docs/pack.md lists what is and is not verified this way.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from pack_support import LongTermPack, Render

from assay.models.assessment import Assessment

Run = Callable[..., Any]
PACKS = ["unsigned", "ecdsa", "rsa", "b-lt"]
XMP_NS = {
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
}
MIME = re.compile(r"^[a-z]+/[a-z0-9][a-z0-9.+-]*$")


@pytest.fixture(params=PACKS)
def pack(
    request: pytest.FixtureRequest,
    unsigned_render: Render,
    signed_pdf: bytes,
    rsa_signed_pdf: bytes,
    lt_pack: LongTermPack,
) -> bytes:
    return {
        "unsigned": unsigned_render.pdf,
        "ecdsa": signed_pdf,
        "rsa": rsa_signed_pdf,
        "b-lt": lt_pack.pdf,
    }[request.param]


def _open(data: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(data))


def _xmp(doc: pikepdf.Pdf, ns: str, name: str) -> Any:
    return doc.open_metadata().get(f"{{{XMP_NS[ns]}}}{name}")


def _pdf_date(value: str) -> datetime:
    # D:YYYYMMDDHHmmSS followed by Z or +HH'mm' (pyHanko and weasyprint write these forms)
    match = re.fullmatch(r"D:(\d{14})(Z|[+-]\d{2}'?\d{2}'?)?", value)
    assert match, value
    moment = datetime.strptime(match[1], "%Y%m%d%H%M%S")
    zone = match[2] or "Z"
    if zone == "Z":
        return moment.replace(tzinfo=UTC)
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace("'", "")
    offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
    return moment.replace(tzinfo=timezone(timedelta(minutes=offset)))


def test_version_stays_pdf_17(pack: bytes) -> None:
    assert pack.startswith(b"%PDF-1.7\n")
    with _open(pack) as doc:
        assert doc.pdf_version == "1.7"
        version = doc.Root.get("/Version")
        assert version is None or str(version) <= "/1.7", version
        extensions = doc.Root.get("/Extensions")
        if extensions is not None:
            # PAdES on PDF 1.7 declares the ESIC extension, based on 1.7; nothing of PDF 2.0
            assert set(extensions.keys()) == {"/ESIC"}
            assert str(extensions.ESIC.BaseVersion) == "/1.7"


def test_pdfa_identification_and_info_match_xmp(pack: bytes) -> None:
    with _open(pack) as doc:
        assert _xmp(doc, "pdfaid", "part") == "3"
        assert _xmp(doc, "pdfaid", "conformance") == "A"
        info = doc.docinfo
        assert str(info["/Title"]) == _xmp(doc, "dc", "title")
        assert [str(info["/Author"])] == _xmp(doc, "dc", "creator")
        assert str(info["/Subject"]) == _xmp(doc, "dc", "description")
        assert str(info["/Keywords"]) == _xmp(doc, "pdf", "Keywords")
        assert str(info["/Creator"]) == _xmp(doc, "xmp", "CreatorTool")
        assert str(info["/Producer"]) == _xmp(doc, "pdf", "Producer")
        for key, name in (("/CreationDate", "CreateDate"), ("/ModDate", "ModifyDate")):
            xmp_value = datetime.fromisoformat(_xmp(doc, "xmp", name).replace("Z", "+00:00"))
            assert _pdf_date(str(info[key])) == xmp_value, key
        packet = doc.Root.Metadata.read_bytes()
        assert packet.startswith(b"<?xpacket begin=") and packet.rstrip().endswith(b"?>")
        assert str(doc.Root.Metadata.Type) == "/Metadata"
        assert str(doc.Root.Metadata.Subtype) == "/XML"


def test_signing_changes_only_what_it_must(unsigned_render: Render, signed_pdf: bytes) -> None:
    with _open(unsigned_render.pdf) as before, _open(signed_pdf) as after:
        for key in ("/Title", "/Author", "/Subject", "/Keywords", "/Creator", "/CreationDate"):
            assert str(before.docinfo[key]) == str(after.docinfo[key]), key
        assert str(after.docinfo["/Producer"]).startswith("pyHanko")
        assert _pdf_date(str(after.docinfo["/ModDate"])) > _pdf_date(
            str(before.docinfo["/ModDate"])
        )


def test_output_intent_is_srgb(pack: bytes) -> None:
    with _open(pack) as doc:
        intents = doc.Root.OutputIntents
        assert len(intents) == 1
        intent = intents[0]
        assert str(intent.S) == "/GTS_PDFA1"
        profile = intent.DestOutputProfile
        assert int(profile.N) == 3
        data = profile.read_bytes()
        assert data[36:40] == b"acsp"  # an ICC profile's signature
        assert data[16:20] == b"RGB "


def test_every_attachment_is_an_associated_file_with_a_mime_type(
    pack: bytes, sample_assessment: Assessment
) -> None:
    with _open(pack) as doc:
        catalog_af = {spec.objgen for spec in doc.Root.AF}
        names = doc.Root.Names.EmbeddedFiles.Names
        specs = [(str(names[i]), names[i + 1]) for i in range(0, len(names), 2)]
        generated = {"assessment.json", "manifest.json", "resolved-policy.json"}
        inputs = {f"inputs/{d.path}" for d in sample_assessment.inputs}
        assert {name for name, _ in specs} == inputs | generated
        for name, spec in specs:
            assert spec.objgen in catalog_af, name
            assert str(spec.AFRelationship) in ("/Source", "/Data", "/Supplement"), name
            assert str(spec.UF) == name and str(spec.F) == name
            assert str(spec.Desc)
            stream = spec.EF.F
            mime = str(stream.Subtype)[1:]  # pikepdf decodes the #2f of the name
            assert MIME.match(mime) and mime != "application/octet-stream", (name, mime)
            assert stream.Params.ModDate is not None and int(stream.Params.Size) > 0
        relationship = {name: str(spec.AFRelationship) for name, spec in specs}
        assert relationship["assessment.json"] == "/Data"
        assert relationship["inputs/evidence/canaries.jsonl"] == "/Source"
        mimes = {name: str(spec.EF.F.Subtype) for name, spec in specs}
        assert mimes["inputs/evidence/canaries.jsonl"] == "/application/jsonl"
        assert mimes["inputs/policies/catalog.yaml"] == "/application/yaml"
        assert mimes["inputs/evidence/drills.json"] == "/application/json"
        assert mimes["inputs/evidence/postmortems/pm-4.md"] == "/text/markdown"


def test_tagged_structure_and_language(pack: bytes) -> None:
    with _open(pack) as doc:
        assert bool(doc.Root.MarkInfo.Marked) is True
        tree = doc.Root.StructTreeRoot
        assert str(tree.Type) == "/StructTreeRoot" and "/K" in tree and "/ParentTree" in tree
        assert str(doc.Root.Lang) == "en"
        assert bool(doc.Root.ViewerPreferences.DisplayDocTitle) is True
        kinds: set[str] = set()
        stack = [tree.K]
        while stack and len(kinds) < 40:
            node = stack.pop()
            if isinstance(node, pikepdf.Array):
                stack.extend(node)
            elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
                kinds.add(str(node.S))
                if "/K" in node:
                    stack.append(node.K)
        # Headings, tables and lists reach the structure tree a screen reader walks.
        assert {"/H1", "/Table", "/L"} <= kinds, kinds


def test_annotations_print_and_nothing_forbidden(pack: bytes) -> None:
    with _open(pack) as doc:
        assert "/Encrypt" not in doc.trailer and len(doc.trailer.ID) == 2
        names = doc.Root.get("/Names")
        assert names is None or "/JavaScript" not in names
        assert "/OpenAction" not in doc.Root and "/AA" not in doc.Root
        form = doc.Root.get("/AcroForm")
        if form is not None:
            assert not bool(form.get("/NeedAppearances", False))
        for page in doc.pages:
            for annot in page.get("/Annots", []):
                flags = int(annot.get("/F", 0))
                assert flags & 4, annot.get("/Subtype")  # Print
                assert not flags & (1 | 2 | 32 | 256), annot.get("/Subtype")  # hidden etc.
                rect = [float(v) for v in annot.Rect]
                if str(annot.Subtype) != "/Link" and rect[2] > rect[0] and rect[3] > rect[1]:
                    assert "/AP" in annot and set(annot.AP.keys()) == {"/N"}


def test_poppler_sees_tagged_pdf_17_with_every_font_embedded(
    pack: bytes, tmp_path: Path, run_tool: Run
) -> None:
    path = tmp_path / "pack.pdf"
    path.write_bytes(pack)
    info = run_tool("pdfinfo", path, check=True).stdout
    assert re.search(r"^PDF version:\s+1\.7$", info, re.M), info
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info
    assert re.search(r"^JavaScript:\s+no$", info, re.M), info
    assert re.search(r"^Encrypted:\s+no$", info, re.M), info
    fonts = run_tool("pdffonts", path, check=True).stdout.splitlines()
    assert fonts[0].split()[:2] == ["name", "type"]
    rows = fonts[2:]
    assert rows, "no fonts listed"
    for row in rows:
        # columns: name type encoding emb sub uni object ID; emb and uni must be "yes"
        emb, _sub, uni = row.split()[-5:-2]
        assert (emb, uni) == ("yes", "yes"), row
