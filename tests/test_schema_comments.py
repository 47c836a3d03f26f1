"""Every policy, risk-class, workflow and waiver file in the repository names its published
schema for editors (a `yaml-language-server` comment), and validates against it."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from assay.models.config import bundled_path

ROOT = Path(__file__).resolve().parents[1]
COMMENT = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")
AUTHORED = ("policies", "workflows", "waivers")


def _authored_files() -> list[Path]:
    found: list[Path] = []
    for base in (bundled_path("policies"), ROOT / "examples", ROOT / "tests" / "scenarios"):
        for path in sorted(base.rglob("*.y*ml")):
            rel = path.relative_to(ROOT)
            if path.name.endswith((".test.yaml", ".test.yml")):
                continue  # policy test cases have no published schema
            assert not path.is_symlink(), f"{rel}: a symlink breaks a plain copy of the folder"
            if any(part in AUTHORED for part in rel.parts):
                found.append(path)
    return found


def _plain(value: Any) -> Any:
    """YAML timestamps and dates as the strings a JSON-based validator sees."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


FILES = _authored_files()


def test_the_repository_has_authored_files() -> None:
    assert len(FILES) >= 15


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_file_names_its_schema_and_validates(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = COMMENT.match(first)
    assert match, f"{path.relative_to(ROOT)}: first line must be a yaml-language-server comment"
    schema_path = (path.parent / match.group(1)).resolve()
    assert schema_path.is_file(), schema_path
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    data = _plain(yaml.safe_load(path.read_text(encoding="utf-8")))
    jsonschema.Draft202012Validator(schema).validate(data)
