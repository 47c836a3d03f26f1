"""CLI commands for audit packs: ``pack``, ``verify`` and ``keys init``.

Thin: each command parses its options, calls the library and writes the result. Errors
are raised as :class:`assay.errors.AssayError` subclasses; the main CLI prints them (one
line each) and exits with their code. Passphrases come from an environment variable or a
hidden prompt, never from an argument (arguments show in ``ps``).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import SigningError, UsageError, VerificationError
from ..fileio import write_atomic
from ..models.time import parse_instant
from .options import as_of_option, project_option

if TYPE_CHECKING:
    from ..pack.sign import Signer

# The PDF stack (weasyprint, pyhanko) is imported inside the commands: every other `assay`
# command would otherwise pay for it at start-up.

DEFAULT_PASSPHRASE_ENV = "ASSAY_KEY_PASSPHRASE"


def _interactive() -> bool:
    return sys.stdin.isatty()


def read_passphrase(env_name: str, what: str, *, required: bool) -> bytes | None:
    """The passphrase from ``$env_name``, else a hidden prompt when interactive."""
    value = os.environ.get(env_name)
    if value:
        return value.encode()
    if _interactive():
        entered: str = click.prompt(
            f"Passphrase for {what}", hide_input=True, default="", show_default=False
        )
        return entered.encode() if entered else None
    if required:
        raise SigningError(
            f"{what} needs a passphrase: set the environment variable {env_name} "
            f"(or run interactively to be prompted)"
        )
    return None


def _signer(
    key: Path | None,
    cert: Path | None,
    chain: tuple[Path, ...],
    pkcs12_path: Path | None,
    passphrase_env: str,
    unsigned: bool,
) -> Signer | None:
    if unsigned:
        if key or cert or pkcs12_path or chain:
            raise UsageError(
                "--unsigned cannot be combined with --key, --cert, --chain or --pkcs12"
            )
        return None
    if pkcs12_path is not None:
        if key or cert:
            raise UsageError("give either --pkcs12 or --key and --cert, not both")
        passphrase = read_passphrase(passphrase_env, str(pkcs12_path), required=True)
        from ..pack.sign import Signer

        return Signer.from_pkcs12(pkcs12_path, passphrase)
    if key is None or cert is None:
        raise UsageError(
            "a signed pack needs --key and --cert (PEM) or --pkcs12; use --unsigned for a draft"
        )
    encrypted = key.is_file() and b"ENCRYPTED" in key.read_bytes()[:200]
    passphrase = read_passphrase(passphrase_env, str(key), required=True) if encrypted else None
    from ..pack.sign import Signer

    return Signer.from_pem(key, cert, chain, passphrase)


@click.command("pack")
@project_option
@click.option("--workflow", required=True, help="Id of the workflow to assess.")
@as_of_option
@click.option("--release", help="Release under gate, shown on the cover.")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="PDF to write (default: <workflow>-audit-pack.pdf).",
)
@click.option("--key", type=click.Path(path_type=Path), help="PEM private key.")
@click.option("--cert", type=click.Path(path_type=Path), help="PEM certificate of the key.")
@click.option(
    "--chain",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Intermediate certificate (repeatable).",
)
@click.option(
    "--pkcs12",
    "pkcs12_path",
    type=click.Path(path_type=Path),
    help="PKCS#12 (.p12/.pfx) holding key and certificate.",
)
@click.option(
    "--passphrase-env",
    default=DEFAULT_PASSPHRASE_ENV,
    show_default=True,
    help="Environment variable holding the key passphrase.",
)
@click.option("--tsa-url", help="RFC 3161 timestamp authority URL (adds a trusted time).")
@click.option("--unsigned", is_flag=True, help="Write an unsigned draft (byte-reproducible).")
def pack_command(
    project_dir: Path,
    workflow: str,
    as_of: str | None,
    release: str | None,
    output: Path | None,
    key: Path | None,
    cert: Path | None,
    chain: tuple[Path, ...],
    pkcs12_path: Path | None,
    passphrase_env: str,
    tsa_url: str | None,
    unsigned: bool,
) -> None:
    """Build a signed PDF/A-3b audit pack of WORKFLOW with its evidence embedded."""
    if tsa_url and unsigned:
        raise UsageError("--tsa-url timestamps a signature; it cannot be used with --unsigned")
    moment = parse_instant(as_of) if as_of else datetime.now(UTC).replace(microsecond=0)
    signer = _signer(key, cert, chain, pkcs12_path, passphrase_env, unsigned)
    from ..evaluate import assess
    from ..load import load_project
    from ..pack.build import build_pack

    project = load_project(project_dir)
    assessment = assess(project, workflow=workflow, as_of=moment, release=release)
    data = build_pack(assessment, project, signer, tsa_url=tsa_url)
    target = output or Path(f"{workflow}-audit-pack.pdf")
    write_atomic(target, data)
    state = f"signed by {signer.name}" if signer else "UNSIGNED"
    click.echo(
        f"wrote {target} ({len(data):,} bytes, {state}): {workflow} is "
        f"{'compliant' if assessment.compliant else 'NOT compliant'} as of {moment.isoformat()}"
    )


def _read_input(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None


@click.command("verify")
@click.argument("pack_path", metavar="PACK", type=click.Path(path_type=Path))
@click.option(
    "--trust",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Trusted certificate, PEM or DER (repeatable).",
)
@click.option(
    "--reassess", is_flag=True, help="Re-run the assessment from the embedded inputs and compare."
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def verify_command(pack_path: Path, trust: tuple[Path, ...], reassess: bool, fmt: str) -> None:
    """Verify PACK offline: signature and trust, embedded files, and optionally the verdict.

    Exit 0 when every check holds, 3 when any fails, 2 when the input is unusable.
    """
    pdf = _read_input(pack_path, "pack")
    roots = [_read_input(p, "trust certificate") for p in trust]
    from ..pack.verify import report_json, verify_pack

    report = verify_pack(pdf, roots, reassess=reassess)
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
    help="Folder to write key.pem, cert.pem and signer.p12 into.",
)
@click.option(
    "--passphrase-env",
    default=DEFAULT_PASSPHRASE_ENV,
    show_default=True,
    help="Environment variable holding the PKCS#12 passphrase.",
)
def keys_init_command(out_dir: Path, passphrase_env: str) -> None:
    """Make a self-signed DEVELOPMENT key pair. NOT for production."""
    passphrase = read_passphrase(passphrase_env, "the new PKCS#12 file", required=False)
    from ..pack.keys import DEV_WARNING, make_dev_keys

    files = make_dev_keys(out_dir, passphrase=passphrase)
    click.echo(DEV_WARNING)
    click.echo(f"wrote {files.key} (private key, keep it secret)")
    click.echo(f"wrote {files.cert} (give this to whoever verifies your packs: --trust)")
    if files.pkcs12:
        click.echo(f"wrote {files.pkcs12} (PKCS#12, passphrase from ${passphrase_env})")
    else:
        click.echo(f"no PKCS#12 written: set ${passphrase_env} to get one")
