"""Start-up: what `assay --version` and a gate import. No timing here (the benchmark
measures); the modules a command pulls in are what decide its start-up, and they can be
asserted exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from projectkit import copy_project

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


def test_a_gate_imports_neither_the_pdf_stack_nor_networkx_nor_the_cel_cli(tmp_path: Path) -> None:
    project = copy_project(ROOT / "tests" / "scenarios" / "basic", tmp_path / "basic")
    code, modules = _modules(
        "gate", "--project", str(project), "--all", "--as-of", "2026-06-01T00:00:00Z"
    )
    assert code in (0, 1)
    assert "cel.cel" in modules  # the reference CEL engine itself
    assert not _loaded(modules, "weasyprint", "pyhanko", "networkx", "assay.pack")
    assert not _loaded(modules, "cel.cli", "prompt_toolkit", "rich", "typer")
    # A small project runs on the rows engine: no database to open.
    assert not _loaded(modules, "duckdb")


_SOURCE_PROBE = """
import inspect, json, sys
calls = []
for name in ("findsource", "getsourcelines", "getsource"):
    original = getattr(inspect, name)
    def spy(*args, _original=original, _name=name, **kwargs):
        calls.append(_name)
        return _original(*args, **kwargs)
    setattr(inspect, name, spy)
from assay.cli.main import main
code = main(sys.argv[1:])
during = list(calls)
from assay.models.workflow import Workflow
before = Workflow.model_fields["id"].description
from assay.models.schema_export import build_schemas
schema = build_schemas()["workflow.schema.json"]
print(json.dumps({"code": code, "calls": during, "before": before,
                  "after": Workflow.model_fields["id"].description,
                  "schema": schema["$defs"]["Workflow"]["properties"]["id"]["description"]}))
"""


def test_a_gate_reads_no_source_code_and_schemas_still_carry_the_docstrings(
    tmp_path: Path,
) -> None:
    # pydantic's attribute docstrings parse every model class's source at import (about
    # 0.2 s of every start): they are read only when the JSON Schemas are built.
    run = subprocess.run(
        [
            sys.executable, "-c", _SOURCE_PROBE, "gate", "--project",
            str(copy_project(ROOT / "tests" / "scenarios" / "basic", tmp_path / "basic")),
            "--all", "--as-of", "2026-06-01T00:00:00Z",
        ],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    data = json.loads(run.stdout.strip().splitlines()[-1])
    assert data["code"] in (0, 1)
    assert data["calls"] == []
    assert data["before"] is None
    assert data["after"] == data["schema"]
    assert data["after"].startswith("Stable id")
