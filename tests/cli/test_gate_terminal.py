"""`assay gate` decides what the pure text formatter gets: colour on a terminal (not with
NO_COLOR, TERM=dumb or --no-color; always with --color), the terminal's width (100 when
the output is not a terminal, or --width), --quiet. One test runs the CLI on a real
pseudo-terminal."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from projectkit import copy_project

from assay.cli.main import main
from assay.cli.terminal import text_width, use_color

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GATE = ["gate", "--project", str(EXAMPLES), "--all", "--as-of", "2026-11-20T12:00:00Z"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "COLUMNS", "TERM"):
        monkeypatch.delenv(name, raising=False)


def _gate(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    capsys.readouterr()
    assert main([*GATE, *extra]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def test_not_a_terminal_gets_plain_text_100_wide(capsys: pytest.CaptureFixture[str]) -> None:
    out = _gate(capsys)
    assert "\x1b" not in out
    assert max(map(len, out.splitlines())) <= 100
    assert max(map(len, out.splitlines())) > 90  # it does use the width


def test_width_and_colour_options(capsys: pytest.CaptureFixture[str]) -> None:
    narrow = _gate(capsys, "--width", "60")
    long_lines = [line for line in narrow.splitlines() if len(line) > 60]
    assert all(line.lstrip().startswith("at ") for line in long_lines), long_lines
    painted = _gate(capsys, "--color", "--width", "60")
    assert "\x1b[31mFAIL\x1b[0m" in painted  # forced colour survives a pipe
    assert ANSI.sub("", painted) == narrow
    assert _gate(capsys, "--no-color") == _gate(capsys)


def test_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    out = _gate(capsys, "--quiet")
    assert "credit-limit" not in out.split("\n\n")[-2]
    assert "  PASS " not in out and "WAIVED" not in out
    assert out.startswith("claims-triage  NON-COMPLIANT: 3 fail, 3 blocked")
    assert out.endswith(
        "3 workflows, 2 non-compliant (claims-triage, support-assistant): NON-COMPLIANT\n"
    )
    assert _gate(capsys, "-q") == out


def test_a_text_file_gets_no_colour_unless_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "gate.txt"
    assert main([*GATE, "--format", f"text={target}"]) == 1
    assert "\x1b" not in target.read_text(encoding="utf-8")
    assert main([*GATE, "--format", f"text={target}", "--color"]) == 1
    assert "\x1b[31mFAIL" in target.read_text(encoding="utf-8")


def test_colour_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    tty, pipe = FakeTerminal(), io.StringIO()
    assert use_color(None, tty) is True
    assert use_color(None, pipe) is False
    assert use_color(None, None) is False  # a file
    assert use_color(True, pipe) is True
    monkeypatch.setenv("NO_COLOR", "")  # empty: not set, per no-color.org
    assert use_color(None, tty) is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(None, tty) is False
    assert use_color(True, tty) is True  # an explicit --color wins
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert use_color(None, tty) is False


def test_width_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "77")
    assert text_width(None, FakeTerminal()) == 77
    assert text_width(None, io.StringIO()) == 100  # COLUMNS is for terminals
    assert text_width(None, None) == 100
    assert text_width(64, FakeTerminal()) == 64


def run_on_a_terminal(project: Path, columns: int, **extra_env: str) -> str:
    """Run the gate on ``project`` with stdout on a pseudo-terminal ``columns`` wide; its
    output. Its stderr goes to a file, which a chatty gate cannot fill and block on."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "TERM")}
    env.update(extra_env)
    errors = project.parent / f"stderr-{columns}-{len(extra_env)}.txt"
    gate = [*GATE[:2], str(project), *GATE[3:]]
    with errors.open("wb") as err_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assay", *gate],
            stdout=follower,
            stderr=err_file,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError(f"the gate wrote nothing for 60 s: {errors.read_text()}")
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the other end is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    proc.wait(timeout=60)
    assert proc.returncode == 1, errors.read_text()
    # the terminal turns \n into \r\n
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_on_a_real_terminal_colour_and_its_width(tmp_path: Path) -> None:
    project = copy_project(EXAMPLES, tmp_path / "examples")
    out = run_on_a_terminal(project, 72)
    assert "\x1b[31mFAIL\x1b[0m" in out
    plain = ANSI.sub("", out)
    long_lines = [line for line in plain.splitlines() if len(line) > 72]
    assert all(line.lstrip().startswith("at ") for line in long_lines), long_lines
    assert max(map(len, plain.splitlines())) > 60
    assert "\x1b" not in run_on_a_terminal(project, 72, NO_COLOR="1")
