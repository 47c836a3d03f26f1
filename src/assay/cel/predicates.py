"""Plain-Python predicates for the commonest record filters.

``r.f == null``, ``r.f != null``, ``r.f`` and ``!r.f`` on a boolean field give the same
answer as CEL (the field is known to exist on the record's kind, and is a required
boolean for the bare forms) at a fraction of the cost of evaluating CEL per record.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

_NULL_TEST = re.compile(r"^\s*r\.([a-z_][a-z0-9_]*)\s*(==|!=)\s*null\s*$")
_BOOL_TEST = re.compile(r"^\s*(!?)\s*r\.([a-z_][a-z0-9_]*)\s*$")


def field_predicate(source: str, fields: Mapping[str, Any]) -> Callable[[Any], bool] | None:
    """A predicate equivalent to ``source`` on records whose model has ``fields`` (pydantic
    ``model_fields``); None when ``source`` is not one of the plain forms."""
    match = _NULL_TEST.match(source)
    if match and match.group(1) in fields:
        getter = operator.attrgetter(match.group(1))
        if match.group(2) == "==":
            return lambda data: getter(data) is None
        return lambda data: getter(data) is not None
    match = _BOOL_TEST.match(source)
    if match and match.group(2) in fields and fields[match.group(2)].annotation is bool:
        getter = operator.attrgetter(match.group(2))
        if match.group(1):
            return lambda data: getter(data) is False
        return lambda data: getter(data) is True
    return None
