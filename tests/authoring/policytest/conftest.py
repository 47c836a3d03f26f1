"""Fixtures for `assay policy test`: run it through the real CLI entry point."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from policytest_support import Run

from assay.cli import main


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run `assay policy test ARGS` through the CLI's `main(argv)`."""

    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = main(["policy", "test", *argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
