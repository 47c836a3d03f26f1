"""The official schemas in ../shared/standards (CI provides them; never copied here) and a
validator for OSCAL, whose patterns need the `regex` module (``\\p{L}``; see SOURCES.md)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import regex  # type: ignore[import-untyped]
from jsonschema import validators
from jsonschema.exceptions import ValidationError

CHECKOUT = Path(__file__).resolve().parents[2]
STANDARDS = CHECKOUT.parent / "shared" / "standards"


def _main_checkout(checkout: Path) -> Path | None:
    """The main checkout of a linked git worktree (whose ``.git`` is a file naming
    ``<main>/.git/worktrees/<name>``), so a worktree finds the main checkout's neighbours."""
    dot_git = checkout / ".git"
    if not dot_git.is_file():
        return None
    text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
    if not text.startswith("gitdir:"):
        return None
    gitdir = Path(text.removeprefix("gitdir:").strip())
    if gitdir.parent.name != "worktrees":
        return None
    return gitdir.parent.parent.parent


def _origin_checkout(checkout: Path) -> Path | None:
    """The checkout this one was cloned from, when its ``origin`` is a folder on this
    machine: a clean clone made elsewhere (``git clone . "$(mktemp -d)"``) finds its
    origin's neighbours."""
    try:
        url = subprocess.run(
            ["git", "-C", os.fspath(checkout), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    origin = Path(url.removeprefix("file://"))
    return origin if url and origin.is_absolute() and origin.is_dir() else None


def standards_dir() -> Path:
    """The standards folder named by ``ASSAY_STANDARDS``, else the one beside the checkout
    (or beside the main checkout of this worktree, or beside the checkout it was cloned
    from). Its absence fails the test: a skip would let outputs that no longer validate
    pass unseen."""
    override = os.environ.get("ASSAY_STANDARDS")
    if override:
        candidates = [Path(override)]
    else:
        related = (_main_checkout(CHECKOUT), _origin_checkout(CHECKOUT))
        candidates = [STANDARDS, *(c.parent / "shared" / "standards" for c in related if c)]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    pytest.fail(
        f"standards folder {candidates[0]} is absent: the outputs cannot be validated against"
        " their published schemas (CI provides ../shared/standards; elsewhere set ASSAY_STANDARDS"
        " to the folder holding them)"
    )


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
