"""`assay policy test`: run the policy unit tests kept next to the policies.

The policies are the project's (``--project``, default the working folder: the folder its
``assay.yaml`` names, the bundled one for ``policies: [bundled]``), or a folder given
with ``--policies`` (or, as before, as the positional POLICIES).

Exit 0 when every case passes (and control coverage meets ``--min-coverage``), 1 when a
case fails or coverage is too low, 2 when a case file, its evidence or the policies cannot
be loaded (an AssayError, printed by the CLI's ``main`` as ``file:line: error[CODE]: ...``).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..authoring.policytest import run_policy_tests
from ..errors import UsageError
from ..fileio import write_atomic
from ..formats.policytest import (
    POLICYTEST_FORMATTERS,
    PolicyTestFormat,
    policytest_text,
    summary_line,
)
from ..load.config import load_config
from ..load.discover import DiskSource
from ..models.config import BUNDLED, BUNDLED_POLICIES
from .options import project_option


def project_policies(project_dir: Path) -> Path:
    """The policies folder a project's configuration names (``bundled``: the one shipped
    with Assay, unless the project has a folder of that name)."""
    root = project_dir.resolve()
    if not root.is_dir():
        raise UsageError(f"--project: {project_dir} is not a folder")
    config, _ = load_config(DiskSource(root))
    entries = config.policies
    if len(entries) != 1:
        listed = ", ".join(entries) or "none"
        raise UsageError(
            f"the project lists {len(entries)} policies entries ({listed}); policy tests run "
            "against one folder: give it with --policies"
        )
    entry = entries[0].strip("/")
    if entry == BUNDLED and not (root / BUNDLED).exists():
        return BUNDLED_POLICIES
    return root / entry


@click.command("test")
@click.argument(
    "legacy_policies",
    required=False,
    metavar="[POLICIES]",
    type=click.Path(file_okay=False, path_type=Path),
)
@project_option
@click.option(
    "--policies",
    "policies_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Policies folder to test (default: the one the project's assay.yaml names; "
    "POLICIES, the older positional form, means the same).",
)
@click.option(
    "--tests",
    "tests_dir",
    type=click.Path(path_type=Path),
    help="Folder (or file) of *.test.yaml cases (default: the policies folder).",
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
    legacy_policies: Path | None,
    project_dir: Path,
    policies_dir: Path | None,
    tests_dir: Path | None,
    fmt: str,
    output: Path | None,
    min_coverage: float | None,
    select: str | None,
    quiet_checks: bool,
) -> int:
    """Run the policy test cases (*.test.yaml) against the project's policies."""
    if legacy_policies is not None and policies_dir is not None:
        raise UsageError("give the policies folder once: as POLICIES or as --policies")
    policies = legacy_policies or policies_dir or project_policies(project_dir)
    suite = run_policy_tests(policies, tests_dir, select=select)
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
