"""Turn pydantic validation errors into located, plain-language input errors."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import ErrorCode, InputError, InputErrors, Location
from ..models.evidence import ID_PATTERN, RECORD_ID_PATTERN
from .yamlsafe import Positions, escape_pointer_token

M = TypeVar("M", bound=BaseModel)

_MESSAGES = {
    "timezone_aware": "timestamps must be timezone-aware (e.g. 2026-05-01T12:00:00Z)",
    "datetime_from_date_parsing": "expected a timestamp like 2026-05-01T12:00:00Z",
    "datetime_parsing": "expected a timestamp like 2026-05-01T12:00:00Z",
    "datetime_type": "expected a timestamp like 2026-05-01T12:00:00Z",
    "date_type": "expected a date like 2026-05-01",
    "date_parsing": "expected a date like 2026-05-01",
    "bool_type": "expected true or false (yes/no/on/off are strings, never booleans)",
    "int_type": "expected an integer",
    "float_type": "expected a number",
    "string_type": "expected a string",
}


_PATTERNS = {
    ID_PATTERN: "expected an id of letters, digits, '-', '_' and single dots between them "
    "(no '/', '\\', '..', ':', spaces or invisible characters)",
    RECORD_ID_PATTERN: "expected an id of visible characters without surrounding spaces "
    "(no control, invisible or bidirectional characters)",
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _pointer_for(loc: Sequence[int | str], data: Any) -> tuple[str, Any, Any]:
    """JSON pointer of a pydantic ``loc``, skipping union/discriminator tags that are not keys.

    Returns the pointer, the value at the parent and the value at the pointer (or None).
    """
    pointer = ""
    parent: Any = None
    current: Any = data
    for part in loc:
        if isinstance(current, dict) and isinstance(part, str) and part in current:
            parent, current = current, current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            parent, current = current, current[part]
        elif isinstance(current, dict) and isinstance(part, str) and part.endswith("]"):
            continue  # e.g. "function-after[_needs(), <model>]"
        elif isinstance(current, dict) and isinstance(part, str):
            # A missing or unknown key of this mapping, or a union tag; tags are not keys
            # of the data, so only the last element is taken as a key.
            if part is loc[-1]:
                parent, current = current, None
            else:
                continue
        else:
            continue
        pointer += "/" + escape_pointer_token(str(part))
    return pointer, parent, current


def _known_keys(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Best effort: the field names of the model that owns ``loc[-1]``."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        # Unwrap list[...] / dict[...] / unions crudely; give up when ambiguous.
        args = getattr(current, "__args__", None)
        if isinstance(part, int) and args:
            current = args[0]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted((f.alias or name) for name, f in current.model_fields.items())
    return []


def pydantic_errors(
    err: ValidationError,
    data: Any,
    positions: Positions | None,
    *,
    file: str,
    base_pointer: str = "",
    base_line: int | None = None,
    model: type[BaseModel] | None = None,
) -> list[InputError]:
    """Translate a pydantic error into one InputError per problem, each located."""
    out: list[InputError] = []
    for item in err.errors(include_url=False):
        loc = item["loc"]
        pointer, _parent, _value = _pointer_for(loc, data)
        full = base_pointer + pointer
        kind = item["type"]
        key = str(loc[-1]) if loc else ""
        if kind == "extra_forbidden":
            known = _known_keys(model, loc) if model else []
            message = f"unknown key {key!r}"
            guess = difflib.get_close_matches(key, known, n=1)
            if guess:
                message += f" (did you mean {guess[0]!r}?)"
            elif known:
                message += f" (expected one of: {', '.join(known)})"
        elif kind == "missing":
            message = f"missing required key {key!r}"
        elif kind == "string_pattern_mismatch" and item.get("ctx", {}).get("pattern") in _PATTERNS:
            message = f"{_PATTERNS[item['ctx']['pattern']]}, got {_short(item.get('input'))}"
        elif kind in _MESSAGES:
            message = f"{_MESSAGES[kind]}, got {_short(item.get('input'))}"
        else:
            text = item["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            message = text if kind == "value_error" else f"{text}, got {_short(item.get('input'))}"
        if positions is not None:
            # ``positions`` is relative to ``base_pointer`` (a record of a list is located
            # inside its file through a shifted view); the error names the full pointer.
            found = (
                positions.key_location(pointer)
                if kind == "extra_forbidden"
                else positions.location(pointer)
            )
            location = Location(found.file, found.line, found.column, full or None)
        else:
            location = Location(file, base_line, None, full or None)
        out.append(InputError(message, location=location, code=ErrorCode.SCHEMA))
    return out


def validate_model(
    model: type[M], data: Any, positions: Positions | None, *, file: str, strict: bool = False
) -> M:
    """Validate ``data`` as ``model``; raise every problem at once, each with its location.

    With ``strict`` (every file a person writes: config, policies, workflows, waivers) no
    value is coerced: ``'off'`` is not false, ``"3"`` is not 3, 1.0 is not an integer."""
    try:
        return model.model_validate(data, strict=strict or None)
    except ValidationError as err:
        raise InputErrors(pydantic_errors(err, data, positions, file=file, model=model)) from None
