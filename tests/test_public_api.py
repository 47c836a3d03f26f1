"""The public API is deliberate: `assay.__all__` is exactly these names, and each resolves."""

from __future__ import annotations

import assay

EXPECTED = {
    "AssayError",
    "Assessment",
    "Format",
    "InputError",
    "InputErrors",
    "Location",
    "Project",
    "ProjectFile",
    "Signer",
    "SigningError",
    "UsageError",
    "VerificationError",
    "Verdict",
    "VerifyReport",
    "__version__",
    "assess",
    "assess_fleet",
    "build_pack",
    "fleet_exit_code",
    "get_formatter",
    "import_evidence",
    "load_files",
    "load_project",
    "render_html",
    "resolved_policy",
    "verify_pack",
}


def test_all_is_exactly_the_public_names() -> None:
    assert set(assay.__all__) == EXPECTED
    assert list(assay.__all__) == sorted(assay.__all__)


def test_every_public_name_resolves() -> None:
    for name in assay.__all__:
        assert getattr(assay, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        assay.no_such_thing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as err:
        assert "no_such_thing" in str(err)
    else:
        raise AssertionError("expected AttributeError")
