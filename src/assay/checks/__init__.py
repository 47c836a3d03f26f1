"""Check kinds: one module each behind the :class:`~assay.checks.base.CheckKind`
protocol, registered here by the ``kind`` of their model."""

from __future__ import annotations

from typing import Any, get_args

from ..models.policy import Check
from . import aggregate, covered, every, fresh, present, sealed
from .base import CheckContext, CheckKind, EvaluationError


def _kind_of(model: type[Any]) -> str:
    """The value of a check model's ``kind`` discriminator."""
    value: str = get_args(model.model_fields["kind"].annotation)[0]
    return value


CHECK_KINDS: dict[str, CheckKind] = {
    _kind_of(kind.model): kind
    for kind in (present.KIND, fresh.KIND, every.KIND, covered.KIND, aggregate.KIND, sealed.KIND)
}


def check_kind(check: Any) -> CheckKind:
    """The kind that runs ``check``."""
    return CHECK_KINDS[check.kind]


def model_kinds() -> set[str]:
    """The ``kind`` values the policy model accepts."""
    union = get_args(Check)[0]
    return {_kind_of(model) for model in get_args(union)}


__all__ = ["CHECK_KINDS", "CheckContext", "CheckKind", "EvaluationError", "check_kind"]
