"""Outputs validate against the published schemas of their standards (../shared/standards).

OSCAL's TokenDatatype uses ``\\p{L}``, which stdlib ``re`` cannot compile, so the OSCAL
validator evaluates ``pattern`` keywords with the ``regex`` module (see check_standards.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from lxml import etree  # type: ignore[import-untyped]
from standards import oscal_validator

from assay.formats.junit import format_junit
from assay.formats.oscal import format_oscal
from assay.formats.sarif import format_sarif
from assay.models.assessment import Assessment


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
    validator = oscal_validator(schema)
    for run in (both[:1], both[1:], both):
        doc = json.loads(format_oscal(run))
        assert _errors(validator, doc) == []
    doc = json.loads(format_oscal(both))
    selection = doc["assessment-results"]["results"][0]["reviewed-controls"]
    selection["control-selections"][0]["include-controls"][0]["control-id"] = "PROD CANARY"
    assert _errors(validator, doc) != []
