"""What the wheel promises: the bundled policies are addressable from assay.yaml, the declared
dependencies are the imported ones, and a gate-only install never needs the PDF stack.

(`make test` also builds the wheel and runs it outside the checkout: scripts/wheel-smoke.sh.)
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from assay.errors import InputErrors
from assay.load.project import load_project
from assay.models.config import BUNDLED_POLICIES, BUNDLED_ROOT, bundled_path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "assay"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACK_STACK = ("weasyprint", "pyhanko", "pyhanko_certvalidator", "cryptography", "asn1crypto")

# Import name -> distribution name, where they differ.
DISTRIBUTION = {
    "yaml": "pyyaml",
    "cel": "common-expression-language",
    "pyhanko_certvalidator": "pyhanko-certvalidator",
    "pydantic_core": "pydantic-core",
    "annotated_types": "annotated-types",
    "pkcs11": "python-pkcs11",
    "confusable_homoglyphs": "confusable-homoglyphs",
}
# Imported only where a command needs them, and declared in an extra of their own.
OPTIONAL = {"python-pkcs11": "pkcs11", "pyspark": "spark", "sqlglot": "spark"}
WORKFLOW = "id: wf\nname: Demo\nowner: alice\nrisk_class: minimal\nlaunched: 2026-01-05\n"
INCIDENT = (
    '{"id": "i-1", "kind": "incident", "workflow": "wf", "created_at": "2026-02-01T00:00:00Z",'
    ' "recorded_by": "bot", "source_uri": "https://example.test/i-1", "sha256": "%s",'
    ' "severity": "SEV4", "aware_at": "2026-02-01T00:00:00Z", "paged_at": "2026-02-01T00:00:00Z",'
    ' "acked_at": "2026-02-01T00:01:00Z", "resolved_at": "2026-02-01T01:00:00Z", "owner": "alice",'
    ' "timeline": [], "users_affected": false, "budget_burn_pct": 0.0,'
    ' "si_determination": "no", "widespread_infringement": false}\n'
) % ("0" * 64)


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].lower() for req in requirements}


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level modules imported by src/assay that are neither stdlib nor assay, with the
    files importing them."""
    found: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "assay" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(path.relative_to(SRC).as_posix())
    return found


def _project(root: Path, config: str) -> Path:
    (root / "workflows").mkdir(parents=True)
    (root / "workflows" / "wf.yaml").write_text(WORKFLOW, encoding="utf-8")
    (root / "evidence").mkdir()
    (root / "evidence" / "incidents.jsonl").write_text(INCIDENT, encoding="utf-8")
    (root / "assay.yaml").write_text(config, encoding="utf-8")
    return root


# --------------------------------------------------------------------------- bundled data


def test_bundled_data_lives_in_the_package() -> None:
    assert BUNDLED_ROOT == SRC / "bundled"
    assert (BUNDLED_POLICIES / "catalog.yaml").is_file()
    assert sorted(p.name for p in (BUNDLED_POLICIES / "classes").iterdir()) == [
        f"{name}.yaml" for name in ("critical", "high", "limited", "minimal", "prohibited")
    ]
    assert (bundled_path("schemas", "evidence", "incident.schema.json")).is_file()
    assert (bundled_path("evidence_templates", "quarterly_review.md")).is_file()
    # The package-data globs of pyproject.toml name every bundled file.
    globs = PYPROJECT["tool"]["setuptools"]["package-data"]["assay"]
    for path in BUNDLED_ROOT.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = path.relative_to(SRC)
            assert any(rel.match(glob) for glob in globs), f"{rel} is not in package-data"
    assert not [g for g in globs if not list(SRC.glob(g))], "a package-data glob matches nothing"


def test_policies_bundled_loads_the_shipped_catalog(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path, "policies: [bundled]\n"))
    assert len(project.controls) == 20
    assert set(project.classes) == {"minimal", "limited", "high", "critical", "prohibited"}
    policies = sorted(f.path for f in project.files if f.role == "policy")
    # Reports name the files the same way wherever Assay is installed.
    assert policies[0] == "bundled/catalog.yaml"
    assert "bundled/classes/minimal.yaml" in policies
    assert all(not path.startswith("..") for path in policies)
    assert project.source("control:PROD-OBS-01").file == "bundled/catalog.yaml"


def test_a_project_folder_named_bundled_comes_first(tmp_path: Path) -> None:
    """Entries are paths first: a re-assessment from a pack (which carries the bundled files
    under bundled/) must use those copies, not whatever version is installed."""
    root = _project(tmp_path, "policies: [bundled]\n")
    own = root / "bundled"
    own.mkdir()
    (own / "catalog.yaml").write_text(
        (BUNDLED_POLICIES / "catalog.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (own / "minimal.yaml").write_text(
        (BUNDLED_POLICIES / "classes" / "minimal.yaml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    project = load_project(root)
    assert set(project.classes) == {"minimal"}
    policies = {f.path: f.data for f in project.files if f.role == "policy"}
    assert sorted(policies) == ["bundled/catalog.yaml", "bundled/minimal.yaml"]
    assert policies["bundled/minimal.yaml"] == (own / "minimal.yaml").read_bytes()


def test_bundled_is_only_a_name_for_policies(tmp_path: Path) -> None:
    root = _project(tmp_path, "policies: [policies]\nworkflows: [bundled]\n")
    (root / "policies").mkdir()
    (root / "policies" / "catalog.yaml").write_bytes(
        (BUNDLED_POLICIES / "catalog.yaml").read_bytes()
    )
    with pytest.raises(InputErrors, match="workflows folder does not exist"):
        load_project(root)


# --------------------------------------------------------------------------- dependencies


def test_declared_dependencies_are_the_imported_ones() -> None:
    project = PYPROJECT["project"]
    core = _requirement_names(project["dependencies"])
    extras = project["optional-dependencies"]
    pack = _requirement_names(extras["pack"])
    imported = _third_party_imports()
    for module, files in sorted(imported.items()):
        dist = DISTRIBUTION.get(module, module).lower()
        in_pack = all(f.startswith("pack/") and f != "pack/svg.py" for f in files)
        declared = core | pack if in_pack else core
        if dist in OPTIONAL:
            declared = _requirement_names(extras[OPTIONAL[dist]])
        assert dist in declared, f"{module} (imported by {sorted(files)}) is not declared"
    used = {DISTRIBUTION.get(m, m).lower() for m in imported}
    assert core <= used, f"declared but never imported: {sorted(core - used)}"
    assert pack <= used, f"pack extra names what nothing imports: {sorted(pack - used)}"
    assert "jsonschema" not in core, "jsonschema is a test dependency (src never imports it)"
    assert extras["all"] == ["assay[pack,pkcs11,mlflow,evidently,spark]"]
    assert "assay[pack]" in extras["test"]
    assert {"mlflow", "evidently"} <= set(extras), "the importers' extras"
    assert PYPROJECT["build-system"]["requires"] == ["setuptools>=77"]
    assert project["license"] == "Apache-2.0"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").split()[:3] == [
        "Apache",
        "License",
        "Version",
    ]
    assert project["urls"] and project["classifiers"]


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_gate_never_imports_the_pdf_stack(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "policies: [bundled]\n")
    code = (
        "import json, sys\n"
        "from assay.cli import main\n"
        f"code = main(['gate', '--project', {str(project)!r}, '--all', '--as-of',"
        " '2026-06-01T00:00:00Z', '--format', 'json', '--output', 'out.json'])\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {PACK_STACK!r})\n"
        "print(json.dumps({'code': code, 'heavy': heavy}))\n"
    )
    run = _run(code, tmp_path)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, 1), run.stderr
    assert result["heavy"] == []


def test_pack_without_the_extra_names_it(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "policies: [bundled]\n")
    # As if weasyprint were not installed: importing it fails.
    code = (
        "import sys\n"
        "sys.modules['weasyprint'] = None\n"
        "from assay.cli import main\n"
        f"sys.exit(main(['pack', '--project', {str(project)!r}, '--workflow', 'wf',"
        " '--as-of', '2026-06-01T00:00:00Z', '--unsigned', '--output', 'x.pdf']))\n"
    )
    run = _run(code, tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "pip install 'assay[pack]'" in run.stderr
    assert "missing: weasyprint" in run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert not (tmp_path / "x.pdf").exists()
