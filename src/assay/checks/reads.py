"""Which record fields a check reads, by evidence kind, derived from its model: the fields
its CEL conditions select (:func:`assay.cel.fields.record_fields`), the kind's time field,
and the fields it names itself (``time_field``, link keys, ``group_by``, …).

The audit pack shows exactly these fields of each record a finding points at, so an
auditor sees what the decision rested on without reading the policy.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..cel.fields import record_fields
from ..models.evidence_kinds import EVIDENCE_KINDS

_MEMO: dict[int, tuple[Any, dict[str, list[str]]]] = {}
"""Per check object (kept alive beside its answer, so that its id is not reused): every
result of a check carries its reads, and a fleet has thousands of results of a few hundred
checks; parsing their conditions each time cost seconds."""


def fields_read(check: Any) -> dict[str, list[str]]:
    """``{kind: sorted field names}`` for every evidence kind ``check`` reads."""
    held = _MEMO.get(id(check))
    if held is not None and held[0] is check:
        return {kind: list(names) for kind, names in held[1].items()}
    reads = _fields_read(check)
    if len(_MEMO) >= 4096:
        _MEMO.clear()
    _MEMO[id(check)] = (check, reads)
    return {kind: list(names) for kind, names in reads.items()}


@lru_cache(maxsize=4096)
def _condition_fields(source: str) -> dict[str, tuple[str, ...]]:
    return record_fields(source, ("r", "src"))


def _fields_read(check: Any) -> dict[str, list[str]]:
    kinds = check.evidence_kinds()
    primary: str = check.evidence
    # A condition that sees the covered record (`src`) runs on the covering kind's `r`.
    covering = next((kind for pointer, kind in kinds if pointer != "evidence"), primary)
    out: dict[str, set[str]] = {kind: set() for _, kind in kinds}
    for kind in out:
        model = EVIDENCE_KINDS.get(kind)
        if model is not None:
            out[kind].add(model.TIME_FIELD)
    for ref in check.field_refs():
        out.setdefault(ref.kind, set()).add(ref.field)
    for condition in check.conditions():
        record_kind = covering if condition.sees_covered else primary
        fields = _condition_fields(condition.source)
        out.setdefault(record_kind, set()).update(fields["r"])
        if condition.sees_covered:
            out[primary].update(fields["src"])
    return {kind: sorted(names) for kind, names in sorted(out.items())}
