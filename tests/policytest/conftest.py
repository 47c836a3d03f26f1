"""Fixtures for `assay policy test`: run it through the real CLI entry point."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from policytest_support import Run

from assay import cli as cli_module
from assay.cli_policy_test import policy_test_command


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Run]:
    """Run `assay policy test ARGS` through `assay.cli.main` (registering the command
    for the test if the CLI does not register it yet)."""
    if "test" not in cli_module.policy.commands:
        monkeypatch.setitem(cli_module.policy.commands, "test", policy_test_command)

    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = cli_module.main(["policy", "test", *argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
