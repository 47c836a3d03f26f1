"""CLI commands for audit packs: ``pack``, ``verify`` and ``keys init``.

Thin: each command parses its options, calls the library and writes the result. Errors
are raised as :class:`assay.errors.AssayError` subclasses; the main CLI prints them (one
line each) and exits with their code. Key options and secrets: see ``signing.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path, PurePath

import click

from ..errors import UsageError, VerificationError
from ..fileio import write_atomic
from ..models.time import parse_instant
from .completion import complete_workflow
from .options import as_of_option, project_option
from .signing import (
    DEFAULT_PASSPHRASE_ENV,
    AttestationOptions,
    SignerOptions,
    attestation_options,
    read_passphrase,
    signer_options,
)

# The PDF stack (weasyprint, pyhanko) is imported inside the commands: every other `assay`
# command would otherwise pay for it at start-up.

LEVEL_CHOICE = click.Choice(["B-B", "B-T", "B-LT"])


@click.command("pack")
@project_option
@click.option(
    "--workflow",
    required=True,
    help="Id of the workflow to assess.",
    shell_complete=complete_workflow,
)
@as_of_option
@click.option("--release", help="Release under gate, shown on the cover.")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="PDF to write (default: <workflow>-audit-pack.pdf).",
)
@signer_options
@click.option("--tsa-url", help="RFC 3161 timestamp authority URL (adds a trusted time).")
@click.option(
    "--level",
    type=LEVEL_CHOICE,
    help="PAdES level: B-B, B-T (timestamp), B-LT (timestamp + validation data). "
    "Default: B-T with --tsa-url, else B-B.",
)
@attestation_options
@click.option("--unsigned", is_flag=True, help="Write an unsigned draft (byte-reproducible).")
def pack_command(
    project_dir: Path,
    workflow: str,
    as_of: str | None,
    release: str | None,
    output: Path | None,
    signing: SignerOptions,
    tsa_url: str | None,
    level: str | None,
    attestation: AttestationOptions,
    unsigned: bool,
) -> None:
    """Build a signed PDF/A-3a audit pack of WORKFLOW with its evidence embedded."""
    if unsigned and (signing.given or tsa_url or level or attestation.path):
        raise UsageError(
            "--unsigned cannot be combined with a key, --tsa-url, --level or --attestation"
        )
    moment = parse_instant(as_of) if as_of else datetime.now(UTC).replace(microsecond=0)
    signer = None if unsigned else signing.load()
    try:
        from ..evaluate import assess
        from ..load import load_project
        from ..pack.attest import AttestationInput
        from ..pack.build import build_pack

        # A pack attests to the evidence: every file is read and hashed, no stat trusted.
        project = load_project(project_dir, rehash=True)
        assessment = assess(project, workflow=workflow, as_of=moment, release=release)
        data = build_pack(assessment, project, signer, tsa_url=tsa_url, level=level)  # type: ignore[arg-type]
        target = output or _default_output(workflow)
        write_atomic(target, data)
        state = f"signed by {signer.name}" if signer else "UNSIGNED"
        click.echo(
            f"wrote {target} ({len(data):,} bytes, {state}): {workflow} is "
            f"{assessment.verdict} as of {moment.isoformat()}"
        )
        if signer is not None and attestation.path is not None:
            attestation.write([AttestationInput(assessment, project, data, target.name)], signer)
    finally:
        if signer is not None:
            signer.close()


def _default_output(workflow: str) -> Path:
    """``<workflow>-audit-pack.pdf`` in the working folder, checked to stay there (workflow
    ids cannot hold path separators, and this check keeps it so)."""
    name = f"{workflow}-audit-pack.pdf"
    if PurePath(name).name != name or "/" in name or "\\" in name or name.startswith("."):
        raise UsageError(f"workflow id {workflow!r} cannot name a file; give --output")
    return Path(name)


def _read_input(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None


@click.command("verify")
@click.argument("pack_path", metavar="FILE", type=click.Path(path_type=Path))
@click.option(
    "--trust",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Trusted certificate, PEM or DER (repeatable). For an attestation: the signer's.",
)
@click.option(
    "--reassess", is_flag=True, help="Re-run the assessment from the embedded inputs and compare."
)
@click.option(
    "--require-level",
    type=LEVEL_CHOICE,
    help="Fail unless the pack's signature reaches this level.",
)
@click.option(
    "--artifact",
    "artifacts",
    type=click.Path(path_type=Path),
    multiple=True,
    help="A file the attestation names as a subject (e.g. the pack); its digest must match.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for a person, json for tools.",
)
def verify_command(
    pack_path: Path,
    trust: tuple[Path, ...],
    reassess: bool,
    require_level: str | None,
    artifacts: tuple[Path, ...],
    fmt: str,
) -> None:
    """Verify FILE offline: an audit pack (signature, level and trust, embedded files,
    optionally the verdict) or an attestation bundle (*.intoto.jsonl: DSSE signatures,
    payload types, subject digests).

    Exit 0 when every check holds, 3 when any fails, 2 when the input is unusable.
    """
    data = _read_input(pack_path, "file")
    roots = [_read_input(p, "trust certificate") for p in trust]
    from ..pack.report import report_json

    if data.lstrip()[:1] == b"{" or pack_path.name.endswith(".jsonl"):
        if reassess or require_level:
            raise UsageError("--reassess and --require-level apply to a pack, not an attestation")
        from ..pack.attest import verify_attestation

        files = {p.name: _read_input(p, "artifact") for p in artifacts}
        report = verify_attestation(data, roots, artifacts=files)
    else:
        if artifacts:
            raise UsageError("--artifact applies to an attestation, not a pack")
        from ..pack.verify import verify_pack

        report = verify_pack(data, roots, reassess=reassess, require_level=require_level)  # type: ignore[arg-type]
    click.echo(report_json(report) if fmt == "json" else report.text(), nl=False)
    if not report.ok:
        raise VerificationError(f"{pack_path} failed verification: {', '.join(report.failed)}")


@click.group("keys")
def keys_group() -> None:
    """Signing keys for audit packs."""


@keys_group.command("init")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder to write key.pem, cert.pem, signer.p12 and a .gitignore into.",
)
@click.option(
    "--passphrase-env",
    default=DEFAULT_PASSPHRASE_ENV,
    show_default=True,
    help="Environment variable holding the PKCS#12 passphrase.",
)
@click.option("--force", is_flag=True, help="Replace a key pair already in the folder.")
def keys_init_command(out_dir: Path, passphrase_env: str, force: bool) -> None:
    """Make a self-signed DEVELOPMENT key pair. NOT for production."""
    passphrase = read_passphrase(passphrase_env, "the new PKCS#12 file", required=False)
    from ..pack.keys import DEV_WARNING, make_dev_keys

    files = make_dev_keys(out_dir, passphrase=passphrase, force=force)
    click.echo(DEV_WARNING)
    click.echo(f"wrote {files.key} (private key, keep it secret)")
    click.echo(f"wrote {files.cert} (give this to whoever verifies your packs: --trust)")
    if files.pkcs12:
        click.echo(f"wrote {files.pkcs12} (PKCS#12, passphrase from ${passphrase_env})")
    else:
        click.echo(f"no PKCS#12 written: set ${passphrase_env} to get one")
    click.echo(f"{files.gitignore} keeps key.pem and signer.p12 out of git")
