"""Outputs validate against the published schemas of their standards (../shared/standards).

OSCAL's TokenDatatype uses ``\\p{L}``, which stdlib ``re`` cannot compile, so the OSCAL
validator evaluates ``pattern`` keywords with the ``regex`` module (see check_standards.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import regex  # type: ignore[import-untyped]
from jsonschema import Draft4Validator, validators
from jsonschema.exceptions import ValidationError
from lxml import etree  # type: ignore[import-untyped]

from assay.formats.junit import format_junit
from assay.formats.oscal import format_oscal
from assay.formats.sarif import format_sarif
from assay.models.assessment import Assessment


def _ecma_end(pattern: str) -> str:
    # ECMA-262 `$` matches only at the very end; Python's also before a final newline.
    return (
        pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern
    )


def _oscal_validator(schema: dict[str, Any]) -> Any:
    base = validators.validator_for(schema)

    def pattern(validator: Any, patrn: str, instance: Any, _s: Any) -> Iterator[ValidationError]:
        if validator.is_type(instance, "string") and not regex.search(_ecma_end(patrn), instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    def pattern_properties(
        validator: Any, pprops: dict[str, Any], instance: Any, _s: Any
    ) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object"):
            return
        for patrn, sub in pprops.items():
            for key, value in instance.items():
                if regex.search(_ecma_end(patrn), key):
                    yield from validator.descend(value, sub, path=key, schema_path=patrn)

    cls = validators.extend(base, {"pattern": pattern, "patternProperties": pattern_properties})
    return cls(schema)


def _errors(validator: Any, doc: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.path)))
    ]


@pytest.fixture
def both(noncompliant: Assessment, compliant: Assessment) -> list[Assessment]:
    return [noncompliant, compliant]


def test_junit_valid_against_jenkins_xsd(standards: Path, both: list[Assessment]) -> None:
    xsd = etree.XMLSchema(etree.parse(str(standards / "jenkins-xunit-junit-10.xsd")))
    for run in (both[:1], both[1:], both):
        doc = etree.fromstring(format_junit(run).encode())
        assert xsd.validate(doc), xsd.error_log.last_error
    # the schema really checks: a testcase without a name is rejected
    doc = etree.fromstring(format_junit(both).encode())
    del doc.find("testsuite/testcase").attrib["name"]
    assert not xsd.validate(doc)


def test_sarif_valid(standards: Path, both: list[Assessment]) -> None:
    schema = json.loads((standards / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    validator = Draft4Validator(schema)
    for run in (both[:1], both[1:], both):
        doc = json.loads(format_sarif(run))
        assert _errors(validator, doc) == []
    doc = json.loads(format_sarif(both))
    doc["runs"][0]["results"][0]["level"] = "critical"
    assert _errors(validator, doc) != []


def test_oscal_valid(standards: Path, both: list[Assessment]) -> None:
    schema = json.loads(
        (standards / "oscal_assessment-results_schema.json").read_text(encoding="utf-8")
    )
    validator = _oscal_validator(schema)
    for run in (both[:1], both[1:], both):
        doc = json.loads(format_oscal(run))
        assert _errors(validator, doc) == []
    doc = json.loads(format_oscal(both))
    selection = doc["assessment-results"]["results"][0]["reviewed-controls"]
    selection["control-selections"][0]["include-controls"][0]["control-id"] = "PROD CANARY"
    assert _errors(validator, doc) != []
