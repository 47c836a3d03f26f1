"""Fill-in evidence templates: one per kind, valid against both the model and the schema."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from assay.models.config import bundled_path
from assay.models.evidence_kinds import EVIDENCE_KINDS

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = bundled_path("evidence_templates")
SCHEMAS = bundled_path("schemas", "evidence")
DOCUMENT_KINDS = {"postmortem", "quarterly_review"}
KEY_LINE = re.compile(r"^([a-z0-9_]+):")


def template_path(kind: str) -> Path:
    return TEMPLATES / f"{kind}.{'md' if kind in DOCUMENT_KINDS else 'yaml'}"


def split_front_matter(text: str) -> tuple[str, str]:
    """The YAML between the first two `---` lines, and the text after them."""
    lines = text.splitlines(keepends=True)
    assert lines[0].rstrip() == "---", "a Markdown template starts with a --- line"
    end = next(i for i in range(1, len(lines)) if lines[i].rstrip() == "---")
    return "".join(lines[1:end]), "".join(lines[end + 1 :])


def load_template(kind: str) -> tuple[str, dict[str, Any]]:
    """(front matter or YAML text, record) as a loader would produce it."""
    text = template_path(kind).read_text(encoding="utf-8")
    if kind in DOCUMENT_KINDS:
        front, body = split_front_matter(text)
        data = yaml.safe_load(front)
        data["body"] = body
        return front, data
    return text, yaml.safe_load(text)


def jsonable(value: Any) -> Any:
    """YAML may yield datetimes for unquoted times; JSON Schema sees strings."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def test_exactly_one_template_per_kind() -> None:
    files = sorted(p.name for p in TEMPLATES.iterdir() if not p.name.startswith("."))
    assert files == sorted(template_path(kind).name for kind in EVIDENCE_KINDS)


@pytest.mark.parametrize("kind", sorted(EVIDENCE_KINDS))
def test_template_is_valid_against_model_and_schema(kind: str) -> None:
    _, data = load_template(kind)
    assert data["kind"] == kind
    record = EVIDENCE_KINDS[kind].model_validate(data)
    assert record.kind == kind
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))
    errors = [
        e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(jsonable(data))
    ]
    assert errors == []


@pytest.mark.parametrize("kind", sorted(EVIDENCE_KINDS))
def test_template_shows_every_field_with_a_comment(kind: str) -> None:
    text, data = load_template(kind)
    expected = set(EVIDENCE_KINDS[kind].model_fields) - {"body"}
    assert set(data) - {"body"} == expected
    for line in text.splitlines():
        match = KEY_LINE.match(line)
        if match:
            assert "#" in line, f"{template_path(kind).name}: no comment on {match.group(1)!r}"


@pytest.mark.parametrize("kind", sorted(DOCUMENT_KINDS))
def test_document_templates_have_a_real_body(kind: str) -> None:
    _, data = load_template(kind)
    headings = re.findall(r"^## (.+)$", data["body"], flags=re.MULTILINE)
    wanted = {
        "postmortem": ["Summary", "Timeline (UTC)", "Root causes", "Actions"],
        "quarterly_review": ["9. Decision", "10. Actions"],
    }[kind]
    for heading in wanted:
        assert heading in headings, f"{kind}: missing section {heading!r}"
