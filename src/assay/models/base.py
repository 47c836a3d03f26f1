"""Base classes shared by every model: strict for what people write, frozen for results."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A model for a file a person writes: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=False,
        str_strip_whitespace=False,
        use_attribute_docstrings=True,
        validate_default=False,
    )


class FrozenModel(BaseModel):
    """A model the engine produces: immutable once built."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
