"""`assay init`: a new project in one command.

It writes `assay.yaml` (the bundled catalog and classes, `policies: [bundled]`), a
commented example workflow, empty `waivers/` and `evidence/` folders, and a `.gitignore`
for what must not be committed (the cache, signing keys, outputs). Every YAML file starts
with a `# yaml-language-server: $schema=` line pointing at the schema inside the installed
package, so that an editor completes and checks it: relative to the file when Assay is
installed inside the project (a `.venv` there), else the absolute path (the language
server reads both).
Nothing is overwritten: when any of these exists, nothing is written.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..fileio import write_atomic
from .templates import schema_line

EXAMPLE_WORKFLOW = "example"


@dataclass(frozen=True)
class InitResult:
    """What `assay init` wrote, relative to the project folder."""

    root: Path
    written: tuple[str, ...]
    next_commands: tuple[str, ...]


CONFIG = """\
# The Assay project: where Assay finds policies, workflows, waivers and evidence. Every key
# is optional; paths are relative to this file.
#
# `bundled` is the control catalog and the risk classes shipped with Assay (C1 minimal,
# C2 limited, C3 high, C4 critical, and prohibited). To extend or override them, add
# folders of your own: policies: [bundled, policies]
policies: [bundled]
workflows: [workflows]
waivers: [waivers]      # time-boxed, approved exceptions to a control
evidence: [evidence]    # records (.yaml, .json, .jsonl, .md): `assay evidence new|import`
"""

WORKFLOW = """\
# A workflow: one AI system in production, assessed against the controls of its risk class.
# Rename the file and the id to your system's; evidence records name the id in their
# `workflow` field.
id: {id}
name: Example scoring model           # human name
owner: ml-platform-team               # accountable owner (person or team)
# The risk class decides which controls apply and how strictly: minimal (C1), limited
# (C2), high (C3) or critical (C4). `assay explain CONTROL` shows what a control needs.
risk_class: high
launched: {launched}                 # launch in production; starts the hypercare window
eu_scope: true                        # the EU AI Act applies ([EU] checks bind only then)
role: provider                        # provider or deployer under the EU AI Act
metadata:                             # free-form facts the policies may read
  team: ml-platform
"""

GITIGNORE = """\
# Assay's cache of parsed evidence
.assay/
# Signing keys (`assay keys init`): never commit them
keys/
*.p12
*.pfx
*.key
key.pem
# Outputs: audit packs, attestations and reports
*-audit-pack.pdf
*.intoto.jsonl
out/
"""


def init_project(directory: str | Path, *, launched: str) -> InitResult:
    """Write a new project into ``directory`` (created if needed).

    Refuses, naming what is there and writing nothing, when the folder already has an Assay
    configuration or the example workflow. Folders that exist are used as they are; an
    existing ``.gitignore`` is kept and gets only the lines it lacks.
    """
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise UsageError(f"{directory} exists and is not a folder")
    example = f"workflows/{EXAMPLE_WORKFLOW}.yaml"
    taken = [rel for rel in ("assay.yaml", example) if (root / rel).exists()]
    if _has_tool_assay(root / "pyproject.toml"):
        taken.append("pyproject.toml [tool.assay]")
    if taken:
        raise UsageError(
            f"{directory} already has {', '.join(taken)}: `assay init` never overwrites "
            "(start in a new folder, or edit the files)"
        )
    files = {
        "assay.yaml": schema_line(root / "assay.yaml", "config.schema.json", root) + CONFIG,
        example: schema_line(root / example, "workflow.schema.json", root)
        + WORKFLOW.format(id=EXAMPLE_WORKFLOW, launched=launched),
        # Empty folders do not survive a git clone; the loader skips hidden files.
        "waivers/.gitkeep": "",
        "evidence/.gitkeep": "",
    }
    written: list[str] = []
    for rel, text in files.items():
        if rel.endswith(".gitkeep") and (root / rel).parent.is_dir():
            continue  # the folder is there already
        write_atomic(root / rel, text)
        written.append(rel)
    ignore = root / ".gitignore"
    if ignore.is_file():
        have = set(ignore.read_text(encoding="utf-8", errors="replace").splitlines())
        missing = [
            line
            for line in GITIGNORE.splitlines()
            if line and not line.startswith("#") and line not in have
        ]
        if missing:
            old = ignore.read_bytes()
            gap = b"" if not old or old.endswith(b"\n") else b"\n"
            block = "\n# Assay: cache, signing keys, outputs\n" + "\n".join(missing) + "\n"
            write_atomic(ignore, old + gap + block.encode("utf-8"))
            written.append(".gitignore (lines added)")
    else:
        write_atomic(ignore, GITIGNORE)
        written.append(".gitignore")
    here = root.resolve() == Path.cwd().resolve()
    suffix = "" if here else f" --project {directory}"
    commands = (
        f"assay evidence new incident --workflow {EXAMPLE_WORKFLOW}{suffix}",
        f"assay evidence import mlflow mlflow.db --workflow {EXAMPLE_WORKFLOW}{suffix}",
        f"assay gate --workflow {EXAMPLE_WORKFLOW}{suffix}",
    )
    return InitResult(root, tuple(written), commands)


def _has_tool_assay(pyproject: Path) -> bool:
    if not pyproject.is_file():
        return False
    try:
        table = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return False  # not ours to judge; the loader reports it when it reads it
    return "assay" in table.get("tool", {})
