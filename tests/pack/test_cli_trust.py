"""The command line of long-term signatures, HSM keys and attestations, end to end
(``assay.cli.main``: real exit codes), on the bundled basic scenario."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from hsm_support import Token
from pki_support import PKI_PASSPHRASE, PkiServer

from assay.cli import main

SCENARIO = Path(__file__).parent.parent / "scenarios" / "basic"
AS_OF = "2026-05-01T12:00:00Z"


@pytest.fixture(scope="module")
def env(pki_server: PkiServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("trust-cli")
    shutil.copytree(SCENARIO, base / "project")
    paths = pki_server.pki.write(base / "keys")
    return {"base": base, "project": base / "project", **paths}


def _pack(env: dict[str, Path], out: Path, *extra: str | Path) -> int:
    return main(
        [
            "pack",
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
            *map(str, extra),
        ]
    )


def test_b_lt_pack_and_its_attestation(
    env: dict[str, Path],
    pki_server: PkiServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ASSAY_KEY_PASSPHRASE", PKI_PASSPHRASE.decode())
    pdf, bundle = env["base"] / "fraud.pdf", env["base"] / "fraud.intoto.jsonl"
    code = _pack(
        env, pdf, "--pkcs12", env["p12"], "--tsa-url", pki_server.tsa_url, "--level", "B-LT",
        "--attestation", bundle,
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "NON-COMPLIANT" in out.out and PKI_PASSPHRASE.decode() not in out.out + out.err
    assert f"wrote {bundle}" in out.err
    root = env["root"]
    assert main(["verify", str(pdf), "--trust", str(root), "--require-level", "B-LT"]) == 0
    text = capsys.readouterr().out
    assert "signature level: B-LT" in text and "signer certificate SHA-256: " in text
    assert main(["verify", str(bundle), "--trust", str(env["cert"]), "--artifact", str(pdf)]) == 0
    assert "fraud@1.0: FAILED" in capsys.readouterr().out

    # Tampering with the attestation's payload or subject: exit 3.
    lines = bundle.read_bytes().splitlines()
    envelope = json.loads(lines[0])
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["verificationResult"] = "PASSED"
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    forged = env["base"] / "forged.intoto.jsonl"
    forged.write_bytes(json.dumps(envelope).encode() + b"\n" + lines[1] + b"\n")
    assert main(["verify", str(forged), "--trust", str(env["cert"])]) == 3
    other_pdf = env["base"] / "fraud-copy.pdf"
    other_pdf.write_bytes(pdf.read_bytes() + b"\n")
    renamed = env["base"] / "renamed"
    renamed.mkdir()
    (renamed / pdf.name).write_bytes(other_pdf.read_bytes())
    assert main(["verify", str(bundle), "--trust", str(env["cert"]), "--artifact",
                 str(renamed / pdf.name)]) == 3  # fmt: skip
    assert "FAIL" in capsys.readouterr().out


def test_gate_writes_an_attestation_and_keeps_its_exit_code(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSAY_KEY_PASSPHRASE", PKI_PASSPHRASE.decode())
    bundle = env["base"] / "gate.intoto.jsonl"
    code = main(
        ["gate", "--project", str(env["project"]), "--all", "--as-of", AS_OF, "--format", "json",
         "--attestation", str(bundle), "--pkcs12", str(env["p12"])]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 1  # the scenario is non-compliant; the attestation does not change that
    json.loads(out.out)  # stdout stays pure JSON: the note about the bundle went to stderr
    assert main(["verify", str(bundle), "--trust", str(env["cert"])]) == 0


def test_pkcs11_signed_pack_verifies(
    env: dict[str, Path],
    token: Token,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ASSAY_PKCS11_PIN", token.pin)
    pdf = env["base"] / "hsm.pdf"
    code = _pack(
        env, pdf, "--pkcs11-lib", token.library, "--pkcs11-label", token.key_label,
        "--pkcs11-token", token.label, "--chain", env["intermediate"],
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    assert token.pin not in out.out + out.err
    assert main(["verify", str(pdf), "--trust", str(env["root"])]) == 0
    assert "Assay Long-Term Signer" in capsys.readouterr().out


def test_signing_usage_errors(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = env["base"] / "never.pdf"
    assert _pack(env, out, "--unsigned", "--attestation", env["base"] / "a.jsonl") == 2
    assert _pack(env, out, "--pkcs11-label", "x", "--key", env["key"], "--cert", env["cert"]) == 2
    assert _pack(env, out, "--unsigned", "--subject", "x=sha256:" + "0" * 64) == 2
    monkeypatch.delenv("ASSAY_PKCS11_PIN", raising=False)
    monkeypatch.setattr("assay.cli.signing._interactive", lambda: False)
    assert _pack(env, out, "--pkcs11-lib", env["key"], "--pkcs11-label", "x") == 2
    assert "ASSAY_PKCS11_PIN" in capsys.readouterr().err
    assert main(["gate", "--project", str(env["project"]), "--all", "--key", str(env["key"])]) == 2
    assert not out.exists()
