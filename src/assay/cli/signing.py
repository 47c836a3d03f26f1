"""Signing options shared by ``assay pack`` and ``assay gate --attestation``.

A key comes from PEM files, a PKCS#12 file or a PKCS#11 token (an HSM). Passphrases and
PINs come from an environment variable or a hidden prompt, never from an argument
(arguments show in ``ps``), and never appear in output.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import SigningError, UsageError
from ..fileio import write_atomic

if TYPE_CHECKING:
    from ..pack.attest import AttestationInput
    from ..pack.sign import Signer

DEFAULT_PASSPHRASE_ENV = "ASSAY_KEY_PASSPHRASE"
DEFAULT_PIN_ENV = "ASSAY_PKCS11_PIN"


def _interactive() -> bool:
    return sys.stdin.isatty()


def read_secret(
    env_name: str, what: str, *, required: bool, kind: str = "Passphrase"
) -> str | None:
    """The secret from ``$env_name``, else a hidden prompt when interactive."""
    value = os.environ.get(env_name)
    if value:
        return value
    if _interactive():
        entered: str = click.prompt(
            f"{kind} for {what}", hide_input=True, default="", show_default=False
        )
        return entered or None
    if required:
        raise SigningError(
            f"{what} needs a {kind.lower()}: set the environment variable {env_name} "
            f"(or run interactively to be prompted)"
        )
    return None


def read_passphrase(env_name: str, what: str, *, required: bool) -> bytes | None:
    """The passphrase from ``$env_name``, else a hidden prompt when interactive."""
    value = read_secret(env_name, what, required=required)
    return value.encode() if value else None


@dataclass(frozen=True)
class SignerOptions:
    """Where the signing key is, as the command line said."""

    key: Path | None = None
    cert: Path | None = None
    chain: tuple[Path, ...] = ()
    pkcs12: Path | None = None
    passphrase_env: str = DEFAULT_PASSPHRASE_ENV
    pkcs11_lib: Path | None = None
    pkcs11_label: str | None = None
    pkcs11_token: str | None = None
    pin_env: str = DEFAULT_PIN_ENV

    @property
    def given(self) -> bool:
        return bool(self.key or self.cert or self.chain or self.pkcs12 or self.pkcs11_lib)

    def load(self) -> Signer:
        """The signer these options name; a UsageError when they name none or several."""
        from ..pack.sign import Signer

        if self.pkcs11_lib is not None:
            if self.key or self.pkcs12:
                raise UsageError("give one key: --pkcs11-lib, --pkcs12 or --key/--cert")
            if not self.pkcs11_label:
                raise UsageError("--pkcs11-lib needs --pkcs11-label (the key's label)")
            pin = read_secret(
                self.pin_env, f"PKCS#11 token {self.pkcs11_token or ''}".strip(), required=True,
                kind="PIN",
            )  # fmt: skip
            return Signer.from_pkcs11(
                self.pkcs11_lib,
                self.pkcs11_label,
                pin,
                token_label=self.pkcs11_token,
                cert_path=self.cert,
                chain_paths=self.chain,
            )
        if self.pkcs11_label or self.pkcs11_token:
            raise UsageError("--pkcs11-label and --pkcs11-token need --pkcs11-lib")
        if self.pkcs12 is not None:
            if self.key or self.cert:
                raise UsageError("give either --pkcs12 or --key and --cert, not both")
            passphrase = read_passphrase(self.passphrase_env, str(self.pkcs12), required=True)
            return Signer.from_pkcs12(self.pkcs12, passphrase, self.chain)
        if self.key is None or self.cert is None:
            raise UsageError(
                "signing needs --key and --cert (PEM), --pkcs12, or --pkcs11-lib and --pkcs11-label"
            )
        encrypted = self.key.is_file() and b"ENCRYPTED" in self.key.read_bytes()[:200]
        passphrase = (
            read_passphrase(self.passphrase_env, str(self.key), required=True)
            if encrypted
            else None
        )
        return Signer.from_pem(self.key, self.cert, self.chain, passphrase)


_SIGNER_OPTIONS = [
    click.option("--key", type=click.Path(path_type=Path), help="PEM private key."),
    click.option(
        "--cert",
        type=click.Path(path_type=Path),
        help="PEM certificate of the key (with --pkcs11-lib: when the token lacks it).",
    ),
    click.option(
        "--chain",
        type=click.Path(path_type=Path),
        multiple=True,
        help="CA certificate of the signer's chain, up to the root for B-LT (repeatable).",
    ),
    click.option(
        "--pkcs12",
        "pkcs12",
        type=click.Path(path_type=Path),
        help="PKCS#12 (.p12/.pfx) holding key and certificate.",
    ),
    click.option(
        "--passphrase-env",
        default=DEFAULT_PASSPHRASE_ENV,
        show_default=True,
        help="Environment variable holding the key passphrase.",
    ),
    click.option(
        "--pkcs11-lib",
        type=click.Path(path_type=Path),
        help="PKCS#11 module of an HSM or token (e.g. libsofthsm2.so).",
    ),
    click.option("--pkcs11-label", help="Label of the key (and its certificate) in the token."),
    click.option("--pkcs11-token", help="Label of the token (default: the first one)."),
    click.option(
        "--pin-env",
        default=DEFAULT_PIN_ENV,
        show_default=True,
        help="Environment variable holding the token PIN (else a prompt).",
    ),
]


def signer_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the key options to a command; it receives them as ``signing: SignerOptions``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        signing = SignerOptions(
            key=kwargs.pop("key"),
            cert=kwargs.pop("cert"),
            chain=tuple(kwargs.pop("chain")),
            pkcs12=kwargs.pop("pkcs12"),
            passphrase_env=kwargs.pop("passphrase_env"),
            pkcs11_lib=kwargs.pop("pkcs11_lib"),
            pkcs11_label=kwargs.pop("pkcs11_label"),
            pkcs11_token=kwargs.pop("pkcs11_token"),
            pin_env=kwargs.pop("pin_env"),
        )
        return func(*args, signing=signing, **kwargs)

    for option in reversed(_SIGNER_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


@dataclass(frozen=True)
class AttestationOptions:
    path: Path | None
    resource_uri: str | None
    subjects: tuple[str, ...]

    def check(self) -> None:
        if self.path is None and (self.resource_uri or self.subjects):
            raise UsageError("--resource-uri and --subject describe an --attestation FILE")

    def write(self, items: Sequence[AttestationInput], signer: Signer) -> None:
        """Build, sign and write the attestation bundle (atomically)."""
        from ..pack.attest import build_attestation, parse_subject

        assert self.path is not None
        data = build_attestation(
            items,
            signer,
            resource_uri=self.resource_uri,
            extra_subjects=[parse_subject(s) for s in self.subjects],
        )
        write_atomic(self.path, data)
        # stderr: the gate may be writing a report to stdout.
        click.echo(f"wrote {self.path} (in-toto attestation, signed by {signer.name})", err=True)


_ATTESTATION_OPTIONS = [
    click.option(
        "--attestation",
        "attestation_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Also write a signed in-toto attestation (SLSA VSA + per-control results), "
        "e.g. release.intoto.jsonl.",
    ),
    click.option(
        "--resource-uri",
        metavar="URI",
        help="The VSA's resourceUri (default assay:workflow/<id>@<release>).",
    ),
    click.option(
        "--subject",
        "subjects",
        multiple=True,
        metavar="NAME=sha256:HEX",
        help="Another artifact the attestation is about, e.g. the release's image (repeatable).",
    ),
]


def attestation_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the attestation options; the command receives ``attestation: AttestationOptions``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        options = AttestationOptions(
            kwargs.pop("attestation_path"),
            kwargs.pop("resource_uri"),
            tuple(kwargs.pop("subjects")),
        )
        options.check()
        return func(*args, attestation=options, **kwargs)

    for option in reversed(_ATTESTATION_OPTIONS):
        wrapper = option(wrapper)
    return wrapper
