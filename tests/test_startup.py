"""Start-up: what `assay --version` and a gate import. No timing here (the benchmark
measures); the modules a command pulls in are what decide its start-up, and they can be
asserted exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import json, sys
from assay.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _modules(*argv: str) -> tuple[int, set[str]]:
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    last = run.stdout.strip().splitlines()[-1]
    data = json.loads(last)
    return int(data["code"]), set(data["modules"])


def _loaded(modules: set[str], *packages: str) -> set[str]:
    return {m for m in modules for p in packages if m == p or m.startswith(p + ".")}


def test_version_imports_neither_the_library_nor_its_dependencies() -> None:
    code, modules = _modules("--version")
    assert code == 0
    assert not _loaded(
        modules, "pydantic", "duckdb", "networkx", "cel", "weasyprint", "pyhanko", "msgspec"
    )
    assert not _loaded(modules, "assay.models", "assay.load", "assay.evaluate", "assay.pack")


def test_a_gate_imports_neither_the_pdf_stack_nor_networkx_nor_the_cel_cli() -> None:
    code, modules = _modules(
        "gate", "--project", "tests/scenarios/basic", "--all", "--as-of", "2026-06-01T00:00:00Z"
    )
    assert code in (0, 1)
    assert "cel.cel" in modules  # the reference CEL engine itself
    assert not _loaded(modules, "weasyprint", "pyhanko", "networkx", "assay.pack")
    assert not _loaded(modules, "cel.cli", "prompt_toolkit", "rich", "typer")
    # A small project runs on the rows engine: no database to open.
    assert not _loaded(modules, "duckdb")
