"""End to end with the real engine: load, assess, pack, sign, verify --reassess."""

from __future__ import annotations

import io
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pack_support import KeySet
from pyhanko.pdf_utils.reader import PdfFileReader

import assay
from assay.pack import Signer, build_pack, verify_pack
from assay.pack.verify import embedded_files

SCENARIO = Path(__file__).parent.parent / "scenarios" / "basic"
AS_OF = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def real_pack(tmp_path_factory: pytest.TempPathFactory, keys: KeySet) -> tuple[bytes, Path]:
    root = tmp_path_factory.mktemp("scenario") / "basic"
    shutil.copytree(SCENARIO, root, ignore=shutil.ignore_patterns(".assay"))
    project = assay.load_project(root)
    workflow = sorted(project.workflows)[0]
    assessment = assay.assess(project, workflow, as_of=AS_OF, release="1.0")
    pdf = build_pack(assessment, project, Signer.from_pem(keys.key, keys.cert))
    return pdf, root


def test_real_pack_reassesses_to_the_same_bytes(
    real_pack: tuple[bytes, Path], keys: KeySet
) -> None:
    pdf, root = real_pack
    report = verify_pack(pdf, [keys.cert_pem], reassess=True)
    assert report.ok, report.text()
    assert report.checks[-1].name == "reassessment"
    files = embedded_files(PdfFileReader(io.BytesIO(pdf)))
    (root / ".assay").mkdir(exist_ok=True)  # a cache beside the inputs is never one of them
    (root / ".assay" / "stray").write_bytes(b"cache")
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if rel.split("/")[0] == ".assay":
            assert f"inputs/{rel}" not in files
        elif path.is_file():
            assert files[f"inputs/{rel}"] == path.read_bytes()
    assert b'"controls"' in files["resolved-policy.json"]


def test_reassessment_that_differs_fails(real_pack: tuple[bytes, Path], keys: KeySet) -> None:
    # A pack signed in good faith over an assessment its inputs do not give (here: one
    # claiming a later as-of time than the embedded evidence was assessed at).
    _, root = real_pack
    project = assay.load_project(root)
    workflow = sorted(project.workflows)[0]
    honest = assay.assess(project, workflow, as_of=AS_OF, release="1.0")
    later = assay.assess(project, workflow, as_of=datetime(2030, 1, 1, tzinfo=UTC), release="1.0")
    claimed = later.model_copy(update={"as_of": honest.as_of})
    pdf = build_pack(claimed, project, Signer.from_pem(keys.key, keys.cert))
    report = verify_pack(pdf, [keys.cert_pem], reassess=True)
    assert report.failed == ["reassessment"]
    assert "the re-run differs" in report.checks[-1].detail
