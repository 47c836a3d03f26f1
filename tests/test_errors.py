"""The error registry: one enum of stable codes, used everywhere instead of literals."""

from __future__ import annotations

import re
from pathlib import Path

from assay.errors import AssayError, ErrorCode, InputError

SRC = Path(__file__).resolve().parents[1] / "src" / "assay"


def test_codes_are_unique_and_shaped_for_humans() -> None:
    values = [code.value for code in ErrorCode]
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)*", v) for v in values), values


def test_no_error_is_raised_with_a_literal_code() -> None:
    literal = re.compile(r"""\bcode\s*=\s*["']""")
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in SRC.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if literal.search(line)
    ]
    assert offenders == []


def test_a_code_prints_as_its_stable_text() -> None:
    err = InputError("bad", code=ErrorCode.UNKNOWN_CLASS)
    assert str(err) == "error[UNKNOWN-CLASS]: bad"
    assert AssayError("x").code is ErrorCode.ASSAY
