"""Base classes shared by every model: strict for what people write, frozen for results.

Fields are documented by attribute docstrings (the string under each field). They matter
only to the published JSON Schemas, so they are read when those are generated
(:mod:`assay.models.schema_export`), not when a class is created: pydantic's
``use_attribute_docstrings`` reads and parses the source of every model class at import,
about 0.2 s of every command's start-up.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A model for a file a person writes: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=False,
        str_strip_whitespace=False,
        validate_default=False,
    )


class FrozenModel(BaseModel):
    """A model the engine produces: immutable once built."""

    model_config = ConfigDict(extra="forbid", frozen=True)
