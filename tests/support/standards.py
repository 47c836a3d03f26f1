"""The official schemas in ../shared/standards (CI provides them; never copied here) and a
validator for OSCAL, whose patterns need the `regex` module (``\\p{L}``; see SOURCES.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import regex  # type: ignore[import-untyped]
from jsonschema import validators
from jsonschema.exceptions import ValidationError

STANDARDS = Path(__file__).resolve().parents[2].parent / "shared" / "standards"


def standards_dir() -> Path:
    """The standards folder, or a skip with the reason when this machine lacks it."""
    if not STANDARDS.is_dir():
        pytest.skip(f"standards folder {STANDARDS} is absent (CI provides ../shared/standards)")
    return STANDARDS


def load_schema(name: str) -> dict[str, Any]:
    return json.loads((standards_dir() / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _ecma_end(pattern: str) -> str:
    # ECMA-262 `$` matches only at the very end; Python's also before a final newline.
    return (
        pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern
    )


def oscal_validator(schema: dict[str, Any]) -> Any:
    """A validator whose `pattern` keywords use the `regex` module (OSCAL uses ``\\p{L}``)."""
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
