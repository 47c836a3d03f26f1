"""`--as-of`: a timestamp with a timezone, or a calendar date meaning its midnight UTC; every
hint the error gives is itself accepted."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assay.cli.main import main
from assay.errors import UsageError
from assay.models.time import parse_instant

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        (" 2026-11-20 ", datetime(2026, 11, 20, tzinfo=UTC)),
        ("2026-11-20Z", datetime(2026, 11, 20, tzinfo=UTC)),
        ("2026-11-20T12:00:00Z", datetime(2026, 11, 20, 12, tzinfo=UTC)),
        ("2026-11-20T13:00:00+01:00", datetime(2026, 11, 20, 12, tzinfo=UTC)),
    ],
)
def test_accepted_instants(text: str, expected: datetime) -> None:
    assert parse_instant(text) == expected


@pytest.mark.parametrize(
    "text", ["2026-11-20T12:00:00", "2026-11-20T12", "20261120", "2026-11-20 12:00"]
)
def test_a_time_without_timezone_is_refused_with_a_hint_that_works(text: str) -> None:
    with pytest.raises(UsageError, match="has no timezone") as info:
        parse_instant(text)
    hint = re.search(r"\(e\.g\. ([^)]+)\)", info.value.message)
    assert hint is not None, info.value.message
    assert parse_instant(hint.group(1)).tzinfo is UTC


@pytest.mark.parametrize("text", ["2026-02-30", "yesterday", "2026-13-01T00:00:00Z"])
def test_nonsense_is_a_usage_error_naming_the_option(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_instant(text, "--as-of")
    assert info.value.message.startswith("--as-of: ")
    assert info.value.exit_code == 2


def test_the_gate_takes_a_date_as_its_midnight(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["gate", "--project", str(EXAMPLES), "-w", "credit-limit", "--format", "json"]
    code = main([*args, "--as-of", "2026-11-20"])
    by_date = capsys.readouterr()
    assert code in (0, 1), by_date.err
    assert '"as_of": "2026-11-20T00:00:00Z"' in by_date.out
    assert main([*args, "--as-of", "2026-11-20T00:00:00Z"]) == code
    assert capsys.readouterr().out == by_date.out
