"""`assay policy test`: run the policy unit tests kept next to the policies.

Exit 0 when every case passes (and control coverage meets ``--min-coverage``), 1 when a
case fails or coverage is too low, 2 when a case file, its evidence or the policies cannot
be loaded (an AssayError, printed by the CLI's ``main`` as ``file:line: error[CODE]: ...``).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..authoring.policytest import run_policy_tests
from ..fileio import write_atomic
from ..formats.policytest import (
    POLICYTEST_FORMATTERS,
    PolicyTestFormat,
    policytest_text,
    summary_line,
)


@click.command("test")
@click.argument(
    "path",
    default="policies",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--tests",
    "tests_dir",
    type=click.Path(path_type=Path),
    help="Folder (or file) of *.test.yaml cases (default: PATH).",
)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice([f.value for f in PolicyTestFormat]),
    default=PolicyTestFormat.TEXT.value,
    show_default=True,
    help="Report format.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file (the text summary still goes to stdout).",
)
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 100),
    metavar="PCT",
    help="Fail (exit 1) when fewer than PCT % of (control, pass/fail) pairs are covered.",
)
@click.option("-k", "select", metavar="TEXT", help="Only cases whose name or file contains TEXT.")
@click.option("--quiet-checks", is_flag=True, help="Do not list uncovered checks.")
def policy_test_command(
    path: Path,
    tests_dir: Path | None,
    fmt: str,
    output: Path | None,
    min_coverage: float | None,
    select: str | None,
    quiet_checks: bool,
) -> int:
    """Run the policy test cases (*.test.yaml) under PATH against the policies in PATH."""
    suite = run_policy_tests(path, tests_dir, select=select)
    # The text report is also the summary on stdout when another report goes to a file.
    text = policytest_text(suite, min_coverage=min_coverage, verbose_checks=not quiet_checks)
    chosen = PolicyTestFormat(fmt)
    report = text if chosen is PolicyTestFormat.TEXT else POLICYTEST_FORMATTERS[chosen](suite)
    if output is None:
        click.echo(report, nl=False)
    else:
        write_atomic(output, report)
        summary = text if chosen is not PolicyTestFormat.TEXT else summary_line(suite) + "\n"
        click.echo(summary, nl=False)
    return suite.exit_code(min_coverage)
