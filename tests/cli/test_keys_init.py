"""`assay keys init`: a development key pair whose secret half git ignores, replaced only
with --force (and then as a whole)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from assay.cli.main import main
from assay.pack.sign import Signer

SECRET = "a passphrase for tests only"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSAY_KEY_PASSPHRASE", SECRET)
    return tmp_path


def _init(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["keys", "init", "--out", "keys", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_ignores_the_private_key_and_the_pkcs12(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    code, out, _ = _init(capsys)
    assert code == 0 and "keys/.gitignore keeps key.pem and signer.p12 out of git" in out
    assert SECRET not in out
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    assert sorted(line for line in status if line) == ["?? keys/.gitignore", "?? keys/cert.pem"]


def test_a_second_init_refuses_without_force(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _init(capsys)[0] == 0
    before = (repo / "keys" / "key.pem").read_bytes()
    code, out, err = _init(capsys)
    assert (code, out) == (2, "")
    assert "already exists" in err and "--force" in err
    assert (repo / "keys" / "key.pem").read_bytes() == before


def test_force_replaces_the_whole_key_pair(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _init(capsys)[0] == 0
    keys = repo / "keys"
    old_key, old_cert = (keys / "key.pem").read_bytes(), (keys / "cert.pem").read_bytes()
    assert _init(capsys, "--force")[0] == 0
    assert (keys / "key.pem").read_bytes() != old_key
    new_cert = (keys / "cert.pem").read_bytes()
    assert new_cert != old_cert
    assert (keys / "key.pem").stat().st_mode & 0o077 == 0
    # the PKCS#12 holds the new key and certificate, not the old ones
    signer = Signer.from_pkcs12(keys / "signer.p12", SECRET.encode())
    assert signer.name.startswith("Assay dev")
    assert (keys / ".gitignore").read_text(encoding="utf-8").count("key.pem") == 1


def test_force_without_a_passphrase_leaves_no_stale_pkcs12(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _init(capsys)[0] == 0
    assert (repo / "keys" / "signer.p12").exists()
    monkeypatch.delenv("ASSAY_KEY_PASSPHRASE")
    code, out, _ = _init(capsys, "--force")
    assert code == 0 and "no PKCS#12 written" in out
    assert not (repo / "keys" / "signer.p12").exists()


def test_an_existing_gitignore_keeps_its_rules_and_gains_ours(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "keys").mkdir()
    (repo / "keys" / ".gitignore").write_text("notes.txt\n", encoding="utf-8")
    assert _init(capsys)[0] == 0
    lines = (repo / "keys" / ".gitignore").read_text(encoding="utf-8").split()
    assert lines[0] == "notes.txt" and {"key.pem", "signer.p12"} <= set(lines)
