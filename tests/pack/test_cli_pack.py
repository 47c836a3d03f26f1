"""The pack, verify and keys commands (click), over the real engine and scenario."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from assay.cli.pack import keys_group, pack_command, verify_command
from assay.errors import SigningError, UsageError, VerificationError
from assay.pack import Signer

SCENARIO = Path(__file__).parent.parent / "scenarios" / "basic"
SECRET = "s3cret-pass-phrase"
AS_OF = "2026-05-01T12:00:00Z"


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("cli")
    project = base / "project"
    shutil.copytree(SCENARIO, project)
    result = CliRunner().invoke(
        keys_group, ["init", "--out", str(base / "keys")], env={"ASSAY_KEY_PASSPHRASE": SECRET}
    )
    assert result.exit_code == 0, result.output
    assert "NOT FOR PRODUCTION" in result.output and SECRET not in result.output
    return {"base": base, "project": project, "keys": base / "keys"}


def _pack(env: dict[str, Path], out: Path, *extra: str, secret: str = SECRET) -> Result:
    return CliRunner().invoke(
        pack_command,
        [
            "--project",
            str(env["project"]),
            "--workflow",
            "fraud",
            "--as-of",
            AS_OF,
            "--release",
            "1.0",
            "--output",
            str(out),
            *extra,
        ],
        env={"ASSAY_KEY_PASSPHRASE": secret},
    )


def test_keys_init_writes_usable_keys(cli_env: dict[str, Path]) -> None:
    keys = cli_env["keys"]
    assert (keys / "key.pem").stat().st_mode & 0o077 == 0
    assert Signer.from_pkcs12(keys / "signer.p12", SECRET.encode()).name.startswith("Assay dev")
    again = CliRunner().invoke(keys_group, ["init", "--out", str(keys)])
    assert isinstance(again.exception, UsageError)


def test_pack_then_verify_with_reassess(cli_env: dict[str, Path]) -> None:
    out = cli_env["base"] / "packs" / "fraud.pdf"
    out.parent.mkdir()
    result = _pack(cli_env, out, "--pkcs12", str(cli_env["keys"] / "signer.p12"))
    assert result.exit_code == 0, result.output
    assert "NON-COMPLIANT" in result.output and SECRET not in result.output
    assert [p.name for p in out.parent.iterdir()] == ["fraud.pdf"]  # no temp file left
    verified = CliRunner().invoke(
        verify_command,
        [str(out), "--trust", str(cli_env["keys"] / "cert.pem"), "--reassess", "--format", "json"],
    )
    assert verified.exit_code == 0, verified.output
    assert '"ok": true' in verified.output and '"reassessment"' in verified.output

    tampered = cli_env["base"] / "tampered.pdf"
    tampered.write_bytes(out.read_bytes() + b"\n% appended\n")
    failed = CliRunner().invoke(
        verify_command, [str(tampered), "--trust", str(cli_env["keys"] / "cert.pem")]
    )
    assert isinstance(failed.exception, VerificationError)
    assert failed.exception.exit_code == 3
    assert "FAIL" in failed.output


def test_pem_signing_and_unsigned_is_reproducible(cli_env: dict[str, Path]) -> None:
    keys = cli_env["keys"]
    signed = cli_env["base"] / "pem.pdf"
    assert (
        _pack(
            cli_env, signed, "--key", str(keys / "key.pem"), "--cert", str(keys / "cert.pem")
        ).exit_code
        == 0
    )
    one, two = cli_env["base"] / "u1.pdf", cli_env["base"] / "u2.pdf"
    assert _pack(cli_env, one, "--unsigned").exit_code == 0
    assert _pack(cli_env, two, "--unsigned").exit_code == 0
    assert one.read_bytes() == two.read_bytes()
    assert signed.read_bytes() != one.read_bytes()


def test_wrong_passphrase_is_a_signing_error_without_the_secret(cli_env: dict[str, Path]) -> None:
    wrong = "wrong-" + SECRET
    result = _pack(
        cli_env,
        cli_env["base"] / "x.pdf",
        "--pkcs12",
        str(cli_env["keys"] / "signer.p12"),
        secret=wrong,
    )
    assert isinstance(result.exception, SigningError)
    assert wrong not in str(result.exception) and wrong not in result.output
    assert not (cli_env["base"] / "x.pdf").exists()


def test_usage_errors(cli_env: dict[str, Path]) -> None:
    out = cli_env["base"] / "y.pdf"
    assert isinstance(_pack(cli_env, out).exception, UsageError)  # no key, not --unsigned
    both = _pack(cli_env, out, "--unsigned", "--key", "k.pem")
    assert isinstance(both.exception, UsageError)
    missing = CliRunner().invoke(verify_command, [str(cli_env["base"] / "none.pdf")])
    assert isinstance(missing.exception, UsageError) and missing.exception.exit_code == 2
    # --as-of is parsed like the gate's: an ISO 8601 time with a timezone, never a guess.
    vague = _pack(cli_env, out, "--unsigned", "--as-of", "yesterday")
    assert isinstance(vague.exception, UsageError) and "ISO 8601" in vague.exception.message
    naive = _pack(cli_env, out, "--unsigned", "--as-of", "2026-05-01T12:00:00")
    assert isinstance(naive.exception, UsageError) and "timezone" in naive.exception.message
