"""The plugin shape: every Format maps to a pure, deterministic formatter."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assay.errors import UsageError
from assay.formats import FORMATTERS, Format, get_formatter
from assay.models.assessment import Assessment

EXTENSIONS = {
    Format.TEXT: "txt",
    Format.JSON: "json",
    Format.JUNIT: "xml",
    Format.SARIF: "sarif",
    Format.GITHUB: "github.txt",
    Format.MARKDOWN: "md",
    Format.OSCAL: "oscal.json",
}


def test_every_format_has_a_formatter() -> None:
    assert set(FORMATTERS) == set(Format)
    assert [f.value for f in Format] == [
        "text",
        "json",
        "junit",
        "sarif",
        "github",
        "markdown",
        "oscal",
    ]
    for fmt in Format:
        assert get_formatter(fmt.value) is FORMATTERS[fmt]
        assert get_formatter(fmt) is FORMATTERS[fmt]


@pytest.mark.parametrize("name", ["xml", "", "TEXT", "sarif2"])
def test_unknown_format_is_a_usage_error(name: str) -> None:
    with pytest.raises(UsageError) as info:
        get_formatter(name)
    assert info.value.exit_code == 2
    assert "text, json, junit, sarif, github, markdown, oscal" in info.value.message
    assert repr(name) in info.value.message


@pytest.mark.parametrize("fmt", list(Format))
def test_golden_noncompliant(
    fmt: Format, noncompliant: Assessment, golden: Callable[[str, str], None]
) -> None:
    golden(f"noncompliant.{EXTENSIONS[fmt]}", FORMATTERS[fmt]([noncompliant]))


@pytest.mark.parametrize("fmt", list(Format))
def test_golden_two_workflows(
    fmt: Format,
    noncompliant: Assessment,
    compliant: Assessment,
    golden: Callable[[str, str], None],
) -> None:
    # input order must not matter: the outputs sort workflows by id
    out = FORMATTERS[fmt]([noncompliant, compliant])
    assert out == FORMATTERS[fmt]([compliant, noncompliant])
    golden(f"two-workflows.{EXTENSIONS[fmt]}", out)


@pytest.mark.parametrize("fmt", list(Format))
def test_deterministic_and_pure(fmt: Format, noncompliant: Assessment) -> None:
    before = noncompliant.model_dump(mode="json")
    first = FORMATTERS[fmt]([noncompliant])
    second = FORMATTERS[fmt]([noncompliant])
    assert first.encode() == second.encode()
    assert noncompliant.model_dump(mode="json") == before
    assert first.endswith("\n")
    assert first.strip()


@pytest.mark.parametrize("fmt", list(Format))
def test_compliant_output_shows_no_failure(fmt: Format, compliant: Assessment) -> None:
    out = FORMATTERS[fmt]([compliant])
    assert "PROD-CANARY-01" not in out
    assert "non-compliant" not in out.lower()
    assert "non_compliant" not in out.lower()
