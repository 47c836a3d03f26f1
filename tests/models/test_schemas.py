"""Published JSON Schemas: in sync with the models, valid, and documented at every level."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import AwareDatetime, TypeAdapter, ValidationError

from assay.models.base import StrictModel
from assay.models.config import bundled_path
from assay.models.evidence_kinds import EVIDENCE_KINDS
from assay.models.schema_export import (
    AWARE_DATETIME_PATTERN,
    DRAFT,
    UndocumentedFieldError,
    build_schema,
    build_schemas,
    main,
    render,
    stale_files,
)

SCHEMAS = bundled_path("schemas")
BUILT = build_schemas()
NAMES = sorted(BUILT)


def test_every_written_file_has_a_schema() -> None:
    expected = {
        "catalog.schema.json",
        "config.schema.json",
        "risk-class.schema.json",
        "waiver.schema.json",
        "workflow.schema.json",
    } | {f"evidence/{kind}.schema.json" for kind in EVIDENCE_KINDS}
    assert set(BUILT) == expected
    assert list(BUILT) == sorted(BUILT)


def test_committed_schemas_are_in_sync_with_the_models() -> None:
    # Fails when a model changed without `python -m assay.models.schema_export`.
    assert stale_files(SCHEMAS) == []
    for name, schema in BUILT.items():
        assert (SCHEMAS / name).read_text(encoding="utf-8") == render(schema), name


@pytest.mark.parametrize("name", NAMES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT
    assert schema["$id"] == f"https://assay.dev/schemas/{name}"
    assert schema["title"].strip()
    assert schema["description"].strip()


def _properties(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for prop, sub in value.items():
                    yield f"{path}/properties/{prop}", sub
                    yield from _properties(sub, f"{path}/properties/{prop}")
            else:
                yield from _properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _properties(value, f"{path}/{index}")


@pytest.mark.parametrize("name", NAMES)
def test_every_property_has_title_and_description(name: str) -> None:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    props = list(_properties(schema, "#"))
    assert props
    for where, sub in props:
        assert sub.get("title"), f"{name}: {where} has no title"
        assert sub.get("description"), f"{name}: {where} has no description"


def test_files_are_canonical_text() -> None:
    for name in NAMES:
        text = (SCHEMAS / name).read_text(encoding="utf-8")
        assert text.endswith("}\n")
        assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"


class _Undocumented(StrictModel):
    """A model with a field nobody documented."""

    documented: int = 0
    """This one is fine."""
    silent: int = 0


def test_exporter_refuses_an_undocumented_field() -> None:
    with pytest.raises(UndocumentedFieldError, match=r"_Undocumented.*#/properties/silent"):
        build_schema(_Undocumented, "x.schema.json", "X")


class _Inner(StrictModel):
    """Nested."""

    bare: str


class _Outer(StrictModel):
    """Outer."""

    inner: _Inner
    """Documented."""


def test_exporter_refuses_an_undocumented_nested_field() -> None:
    with pytest.raises(UndocumentedFieldError, match=r"#/\$defs/_Inner/properties/bare"):
        build_schema(_Outer, "x.schema.json", "X")


@pytest.mark.parametrize(
    "text",
    [
        "2026-05-04T09:30:00Z",
        "2026-05-04T09:30Z",
        "2026-05-04 09:30:00+02:00",
        "2026-05-04T09:30:00.123456-0500",
        "2026-05-04T09:30:00",
        "2026-05-04",
        "2026-05-04T09:30:00+02",
        "yesterday",
    ],
)
def test_timestamp_pattern_agrees_with_the_model(text: str) -> None:
    try:
        TypeAdapter(AwareDatetime).validate_python(text)
        model_accepts = True
    except ValidationError:
        model_accepts = False
    assert bool(re.search(AWARE_DATETIME_PATTERN, text)) == model_accepts


def test_check_mode_reports_stale_missing_and_extra_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--dir", str(tmp_path)]) == 0
    assert main(["--check", "--dir", str(tmp_path)]) == 0
    capsys.readouterr()

    (tmp_path / "waiver.schema.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "evidence" / "incident.schema.json").unlink()
    (tmp_path / "evidence" / "retired_kind.schema.json").write_text("{}\n", encoding="utf-8")
    assert main(["--check", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    for name in ("waiver", "evidence/incident", "evidence/retired_kind"):
        assert f"stale: {tmp_path / name}.schema.json" in err

    assert main(["--dir", str(tmp_path)]) == 0
    assert not (tmp_path / "evidence" / "retired_kind.schema.json").exists()
    assert stale_files(tmp_path) == []
    assert not list(tmp_path.rglob("*.tmp")), "temporary files were left behind"
