"""The unsigned PDF/A-3a: reproducible, self-contained, readable by independent tools."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pack_support import AS_OF, Render
from pyhanko.pdf_utils.reader import PdfFileReader

from assay.load.project import Project
from assay.models.assessment import Assessment
from assay.pack.fetcher import ASSETS_DIR, SafeURLFetcher
from assay.pack.html import pack_contents, render_contents
from assay.pack.manifest import ASSESSMENT_NAME, MANIFEST_NAME, RESOLVED_POLICY_NAME
from assay.pack.pdf import html_to_pdf

Run = Callable[..., Any]


def test_unsigned_pdf_is_byte_identical_across_builds(
    unsigned_render: Render, sample_assessment: Assessment, sample_project: Project
) -> None:
    contents = pack_contents(sample_assessment, sample_project)
    again = html_to_pdf(render_contents(contents), contents.attachments, sample_assessment.as_of)
    assert again == unsigned_render.pdf


def test_pdf_is_pdfa3a_with_fixed_dates(unsigned_render: Render) -> None:
    reader = PdfFileReader(io.BytesIO(unsigned_render.pdf))
    xmp = reader.root["/Metadata"].get_object().data
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="A"' in xmp
    assert b"2026-05-01T12:00:00Z" in xmp
    # Every attachment is a PDF/A-3 associated file (weasyprint 70 lists each one twice).
    files = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert len({ref.idnum for ref in reader.root["/AF"]}) == len(files) // 2 > 10
    info = reader.trailer["/Info"]
    assert str(info["/CreationDate"]) == str(info["/ModDate"]) == "D:20260501120000Z"
    params = [files[i + 1]["/EF"]["/F"]["/Params"] for i in range(0, len(files), 2)]
    assert {str(p["/ModDate"]) for p in params} == {"D:20260501120000Z"}
    assert [str(files[i]) for i in range(0, len(files), 2)] == sorted(
        str(files[i]) for i in range(0, len(files), 2)
    )


def test_rendering_fetched_nothing_outside_package_assets(unsigned_render: Render) -> None:
    for url in unsigned_render.fetcher.requested:
        assert url.startswith("data:") or url.startswith(ASSETS_DIR.as_uri()), url
    assert unsigned_render.fetcher.refused == []


def test_fetcher_refuses_file_and_network_urls() -> None:
    hostile = (
        '<html><head><link rel="stylesheet" href="http://example.com/x.css"></head><body>'
        '<img src="file:///etc/passwd"><img src="https://example.com/a.png">'
        '<p style="background: url(file:///etc/hostname)">x</p></body></html>'
    )
    fetcher = SafeURLFetcher()
    pdf = html_to_pdf(hostile, [], AS_OF, fetcher=fetcher)
    assert pdf.startswith(b"%PDF-")
    assert sorted(fetcher.refused) == sorted(fetcher.requested)
    assert "file:///etc/passwd" in fetcher.refused
    assert "http://example.com/x.css" in fetcher.refused
    assert b"root:" not in pdf


def test_pdfdetach_lists_every_attachment(
    unsigned_render: Render,
    tmp_path: Path,
    run_tool: Run,
    sample_assessment: Assessment,
) -> None:
    path = tmp_path / "pack.pdf"
    path.write_bytes(unsigned_render.pdf)
    listing = run_tool("pdfdetach", "-list", path, check=True).stdout
    names = {line.split(": ", 1)[1] for line in listing.splitlines()[1:]}
    expected = {f"inputs/{d.path}" for d in sample_assessment.inputs} | {
        ASSESSMENT_NAME,
        MANIFEST_NAME,
        RESOLVED_POLICY_NAME,
    }
    assert "inputs/waivers/fraud-scoring.yaml" in names and "inputs/workflows/other.yaml" in names
    assert names == expected
    assert "inputs/evidence/other.jsonl" not in names


def test_pdftotext_finds_verdict_and_every_control(
    unsigned_render: Render, tmp_path: Path, run_tool: Run, sample_assessment: Assessment
) -> None:
    path = tmp_path / "pack.pdf"
    path.write_bytes(unsigned_render.pdf)
    text = run_tool("pdftotext", "-layout", path, "-", check=True).stdout
    assert "NON-COMPLIANT" in text and "NOT COMPLIANT" not in text
    for control in sample_assessment.controls:
        assert control.id in text, control.id
    assert '<img src="file:///etc/passwd">' in text  # the hostile text, shown as text


def test_pages_are_not_blank(unsigned_render: Render, tmp_path: Path, run_tool: Run) -> None:
    path = tmp_path / "pack.pdf"
    path.write_bytes(unsigned_render.pdf)
    run_tool("pdftoppm", "-gray", "-r", "20", path, tmp_path / "page", check=True)
    pages = sorted(tmp_path.glob("page-*.pgm"))
    assert len(pages) >= 10
    for page in pages:
        pixels = _pgm_pixels(page.read_bytes())
        mean = sum(pixels) / len(pixels)
        variance = sum((p - mean) ** 2 for p in pixels) / len(pixels)
        assert variance > 20, f"{page.name} looks blank (variance {variance:.1f})"


def _pgm_pixels(data: bytes) -> bytes:
    # Binary PGM: "P5", width, height, maxval (whitespace separated), then the pixels.
    fields = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    assert fields is not None
    width, height = int(fields[1]), int(fields[2])
    return data[fields.end() :][: width * height]


def test_pack_user_agent_stylesheet_changes_no_byte(
    unsigned_render: Render,
    sample_assessment: Assessment,
    sample_project: Project,
    monkeypatch: Any,
) -> None:
    """The UA rules the pack drops (footnotes, notes, markers of non-``li``) had no effect:
    the stock stylesheet renders the same bytes (the sample has a numbered list)."""
    import weasyprint

    from assay.pack import pdf as pack_pdf

    assert '<ol class="steps">' in unsigned_render.html
    ua = pack_pdf._pack_ua_stylesheet()
    assert ua is not pack_pdf.weasyprint.HTML(string="<p>x</p>")._ua_stylesheets()[0]
    monkeypatch.setattr(pack_pdf, "_PackHTML", weasyprint.HTML)
    contents = pack_contents(sample_assessment, sample_project)
    stock = html_to_pdf(unsigned_render.html, contents.attachments, sample_assessment.as_of)
    assert stock == unsigned_render.pdf


def test_streams_deflate_to_pydyf_content_and_are_serialised_once() -> None:
    import pikepdf
    import pydyf

    from assay.pack.pdf import STREAM_COMPRESSION, _memo_class, _serialise_once

    content = [b"BT", b"/F1 12 Tf", b"(" + b"hello " * 200 + b") Tj", b"ET"]
    plain = pydyf.Stream(list(content), {"Type": "/XObject"}, compress=True)
    memo = pydyf.Stream(list(content), {"Type": "/XObject"}, compress=True)
    memo.__class__ = _memo_class(pydyf.Stream)
    ours, theirs = memo.data, plain.data
    assert ours is memo.data  # computed once
    assert STREAM_COMPRESSION < 9 and ours != theirs
    heads = [
        re.sub(rb"/Length \d+", b"/Length N", d.split(b"\nstream\n")[0]) for d in (ours, theirs)
    ]
    assert heads[0] == heads[1] == b"<</Type /XObject/Filter /FlateDecode/Length N>>"
    bodies = [d.split(b"\nstream\n", 1)[1].rsplit(b"\nendstream", 1)[0] for d in (ours, theirs)]
    assert zlib_inflate(bodies[0]) == zlib_inflate(bodies[1]) == b"\n".join(content)

    # The object stream pydyf adds while writing is memoised as well, and the file reads.
    document = pydyf.PDF()
    document.catalog["Custom"] = pydyf.String("x" * 500)
    document.add_object(pydyf.Stream(list(content), compress=True))
    _serialise_once(None, document)
    out = io.BytesIO()
    document.write(out, identifier=True, compress=True)
    assert all(type(o).__name__.startswith("Memo") for o in document.objects[1:])
    assert any(
        o.extra.get("Type") == "/ObjStm" for o in document.objects[1:] if hasattr(o, "extra")
    )
    with pikepdf.open(io.BytesIO(out.getvalue())) as reopened:
        assert str(reopened.Root.Custom) == "x" * 500


def zlib_inflate(data: bytes) -> bytes:
    import zlib

    return zlib.decompress(data)


def test_rendering_pauses_the_collector_and_restores_it() -> None:
    import gc

    assert gc.isenabled()
    html_to_pdf("<p>tiny</p>", [], AS_OF)
    assert gc.isenabled()
    gc.disable()
    try:
        html_to_pdf("<p>tiny</p>", [], AS_OF)
        assert not gc.isenabled()
    finally:
        gc.enable()
