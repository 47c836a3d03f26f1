"""One shape for check kinds: every kind the policy model accepts is registered, and the
knowledge of a kind lives in two places only (its model and its module in checks/)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from assay.checks import CHECK_KINDS, check_kind, model_kinds
from assay.models.policy import Check, Condition, PresentCheck

SRC = Path(__file__).resolve().parents[2] / "src" / "assay"
CHECK_MODELS = [model.__name__ for model in get_args(get_args(Check)[0])]


def test_every_kind_of_the_policy_model_is_registered() -> None:
    assert set(CHECK_KINDS) == model_kinds()
    for name, kind in CHECK_KINDS.items():
        assert name in kind.model.__name__.lower()


def test_no_stage_but_models_and_checks_names_a_check_model() -> None:
    # Adding a kind = its model in models/policy.py + checks/<kind>.py + its registration:
    # the loader, the evaluator, lint and the catalog export must stay generic.
    pattern = re.compile(r"\b(" + "|".join(CHECK_MODELS) + r")\b")
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.parent.name != "checks"
        and path.name != "policy.py"
        and pattern.search(path.read_text())
    ]
    assert offenders == []


def test_a_model_declares_what_the_loader_compiles() -> None:
    check = PresentCheck.model_validate(
        {
            "id": "c",
            "description": "d",
            "kind": "present",
            "evidence": "incident",
            "where": "r.severity == 'SEV1'",
            "min": "$n",
        }
    )
    assert check.conditions() == [Condition("where", "r.severity == 'SEV1'", "/where")]
    assert ("min", "$n") in check.param_refs()
    assert check_kind(check) is CHECK_KINDS["present"]
    assert check_kind(check).never_fails(check) is None
    zero = check.model_copy(update={"min": 0})
    assert check_kind(zero).never_fails(zero) == "min is 0"
