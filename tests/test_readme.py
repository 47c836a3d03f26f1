"""The README's tour runs as written: every ```sh block, in order, pasted into one shell in
a scratch copy of the examples, each command with the exit code its comment promises
(``# exit N``; 0 when it says nothing); every ```python block in the same folder; every
```yaml policy snippet valid as the model it shows.

A block that cannot run here is marked in the README, on the line before it, with
``<!-- readme-test: skip: REASON -->``; nothing else is skipped, and there are very few.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from assay.models.policy import Catalog, RiskClass
from assay.parsing.validate import validate_model
from assay.parsing.yamlsafe import load_yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SKIP = re.compile(r"<!--\s*readme-test:\s*skip:\s*(?P<reason>\S.*?)\s*-->")
EXPECT = re.compile(r"#\s*exit (\d+)")
MAX_SKIPS = 2


@dataclass(frozen=True)
class Block:
    lang: str
    line: int
    """Line of the first line inside the fence."""
    text: str
    skip: str | None


def readme_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[index])
        if not fence:
            index += 1
            continue
        before = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        marker = SKIP.search(before)
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        body = "\n".join(lines[index + 1 : end])
        blocks.append(
            Block(fence.group(1), index + 2, body, marker.group("reason") if marker else None)
        )
        index = end + 1
    return blocks


def commands(block: Block) -> list[tuple[int, str, int]]:
    """(README line, command, expected exit) of each command of a shell block; a
    backslash continues a command on the next line."""
    out: list[tuple[int, str, int]] = []
    pending: list[str] = []
    start = block.line
    for offset, line in enumerate(block.text.splitlines()):
        if not pending:
            start = block.line + offset
        pending.append(line)
        if line.rstrip().endswith("\\"):
            continue
        command = "\n".join(pending)
        pending = []
        if not command.strip() or command.lstrip().startswith("#"):
            continue
        expected = EXPECT.search(command.splitlines()[-1])
        out.append((start, command, int(expected.group(1)) if expected else 0))
    assert not pending, f"README.md:{start}: a command ends in a backslash"
    return out


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def tour_script(blocks: list[Block], python: str) -> str:
    """One bash script running every runnable block in order, stopping at the first
    command whose exit code is not the promised one."""
    out = ["set -u"]
    for block in blocks:
        if block.skip is not None:
            continue
        if block.lang == "sh":
            for line, command, expected in commands(block):
                out.append(f"printf '%s\\n' {_quote(f'$ {command}')}")
                out.append(command)
                out.append(
                    f'__rc=$?; if [ "$__rc" -ne {expected} ]; then printf "README.md:{line}: '
                    f'exit %s, expected {expected}\\n" "$__rc" >&2; exit 97; fi'
                )
        elif block.lang == "python":
            out.append(f"printf '%s\\n' {_quote(f'>>> README.md:{block.line}')}")
            out.append(f"{_quote(python)} - <<'__README_PYTHON__'\n{block.text}\n__README_PYTHON__")
            out.append(
                f'__rc=$?; if [ "$__rc" -ne 0 ]; then printf "README.md:{block.line}: the '
                f'python block exited %s\\n" "$__rc" >&2; exit 97; fi'
            )
    return "\n".join(out) + "\n"


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


def test_the_parser_sees_every_block_and_every_skip_has_a_reason() -> None:
    langs = [b.lang for b in BLOCKS]
    assert langs.count("sh") >= 6 and "python" in langs and "yaml" in langs
    skipped = [b for b in BLOCKS if b.skip is not None]
    assert len(skipped) <= MAX_SKIPS, [(b.line, b.skip) for b in skipped]
    assert all(len(b.skip or "") >= 20 for b in skipped)  # a reason, not a shrug
    # a marker that is not directly before a block is a mistake, not a skip
    text = README.read_text(encoding="utf-8")
    assert len(SKIP.findall(text)) == len(skipped)
    # every other fenced block is one the test runs or checks, or plain text
    assert {b.lang for b in BLOCKS if b.skip is None} <= {"sh", "python", "yaml", ""}


def test_commands_and_their_promised_exit_codes_are_read() -> None:
    block = Block("sh", 10, "a --x \\\n   --y   # exit 1\n# a comment\nb  # exit 0, or 3\nc", None)
    assert commands(block) == [
        (10, "a --x \\\n   --y   # exit 1", 1),
        (13, "b  # exit 0, or 3", 0),
        (14, "c", 0),
    ]


def test_the_tour_runs_as_pasted(tmp_path: Path) -> None:
    work = tmp_path / "tour"
    work.mkdir()
    # a plain copy, as a new user makes it: links followed, nothing of the checkout's state
    shutil.copytree(ROOT / "examples", work / "examples", symlinks=False)
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "assay").exists(), "assay is not installed beside this python"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
    }
    script = tour_script(BLOCKS, sys.executable)
    run = subprocess.run(
        ["bash", "-c", script],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"{run.stderr}\n--- output (tail) ---\n{run.stdout[-4000:]}"
    assert "Traceback" not in run.stdout + run.stderr
    # what the tour promises it leaves behind
    assert (work / "assay.sarif").is_file() and (work / "junit.xml").is_file()
    assert (work / "claims-triage.pdf").read_bytes().startswith(b"%PDF-")
    assert (work / "keys" / ".gitignore").is_file()
    # the passphrase is never printed (but in the echo of the command that sets it)
    printed = [line for line in (run.stdout + run.stderr).splitlines() if not line.startswith("$ ")]
    secret = re.search(r"ASSAY_KEY_PASSPHRASE='([^']+)'", README.read_text(encoding="utf-8"))
    assert secret is not None and not [line for line in printed if secret.group(1) in line]
    # the library block printed its Markdown report
    assert "## Assay gate: " in run.stdout


def test_completion_as_documented_defines_a_bash_completion(tmp_path: Path) -> None:
    block = next(b for b in BLOCKS if "_ASSAY_COMPLETE=bash_source" in b.text)
    bin_dir = Path(sys.executable).parent
    env = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run(
        ["bash", "-c", f"{block.text}\ncomplete -p assay"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "complete" in run.stdout and "assay" in run.stdout


@pytest.mark.parametrize(
    "block", [b for b in BLOCKS if b.lang == "yaml"], ids=lambda b: f"README.md:{b.line}"
)
def test_policy_snippets_are_valid(block: Block) -> None:
    value, positions = load_yaml(block.text, f"README.md:{block.line}", max_bytes=100_000)
    model = Catalog if isinstance(value, dict) and "catalog" in value else RiskClass
    validate_model(model, value, positions, file=f"README.md:{block.line}")
