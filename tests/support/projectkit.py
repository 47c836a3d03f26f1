"""Builders of small Assay projects in a temporary folder, shared by the engine, CLI and
hostile-input tests (tests/support is on pytest's ``pythonpath``).

Policies are built from dicts with sensible defaults for everything a test does not care
about, so that each test states only what it is about. Evidence records get a complete
envelope; their ``created_at`` defaults to the kind's time field, so records are visible
as of any time after it.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from assay.cli import main
from assay.evaluate import assess
from assay.load.project import Project, load_project
from assay.models.assessment import Assessment, ControlResult
from assay.models.evidence_kinds import EVIDENCE_KINDS
from assay.models.time import parse_instant

SHA = "a" * 64
WF = "wf"
AS_OF = "2026-06-01T00:00:00Z"


class _NoAliasDumper(yaml.SafeDumper):
    """Writes shared objects out in full: Assay refuses anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def param(type_: str = "duration", stricter: str = "lower", **extra: Any) -> dict[str, Any]:
    """A parameter declaration."""
    return {"type": type_, "description": "A parameter.", "stricter": stricter, **extra}


def check(kind: str, evidence: str = "incident", id_: str = "c", **fields: Any) -> dict[str, Any]:
    """A check of ``kind`` on ``evidence``; ``assert_`` is written as ``assert``."""
    body: dict[str, Any] = {
        "id": id_,
        "kind": kind,
        "description": f"A {kind} check.",
        "evidence": evidence,
    }
    for key, value in fields.items():
        body["assert" if key == "assert_" else key] = value
    return body


def control(
    cid: str,
    *checks: dict[str, Any],
    params: dict[str, dict[str, Any]] | None = None,
    requires: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A catalog control with the given checks; the evidence list follows the checks."""
    kinds: list[str] = []
    for c in checks:
        for kind in (c["evidence"], c.get("by", {}).get("evidence")):
            if kind and kind not in kinds:
                kinds.append(kind)
    body: dict[str, Any] = {
        "id": cid,
        "title": f"Control {cid}",
        "intent": "A control under test.",
        "severity": "high",
        "mappings": {"eu_ai_act": ["Art. 72"]},
        "remediation": "Fix it.",
        "evidence": kinds,
        "checks": list(checks),
    }
    if params:
        body["params"] = params
    if requires:
        body["requires"] = requires
    body.update(extra)
    return body


def risk_class(
    cid: str,
    level: int,
    controls: list[str],
    params: dict[str, dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"id": cid, "title": f"Class {cid}", "level": level}
    body["controls"] = controls
    if params:
        body["params"] = params
    body.update(extra)
    return body


def workflow(
    id_: str = WF, risk_class: str = "high", launched: str = "2025-01-06", **extra: Any
) -> dict[str, Any]:
    return {
        "id": id_,
        "name": f"Workflow {id_}",
        "owner": "team",
        "risk_class": risk_class,
        "launched": launched,
        **extra,
    }


def record(kind: str, id_: str, workflow: str = WF, **fields: Any) -> dict[str, Any]:
    """An evidence record with a full envelope; created_at defaults to the time field."""
    time_field = EVIDENCE_KINDS[kind].TIME_FIELD
    created = fields.pop("created_at", fields.get(time_field, "2026-01-01T00:00:00Z"))
    return {
        "id": id_,
        "kind": kind,
        "workflow": workflow,
        "created_at": created,
        "recorded_by": "bot",
        "source_uri": f"https://example.test/{id_}",
        "sha256": SHA,
        **fields,
    }


def incident(id_: str, aware_at: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "severity": "SEV1",
        "aware_at": aware_at,
        "paged_at": aware_at,
        "acked_at": aware_at,
        "resolved_at": aware_at,
        "owner": "alice",
        "users_affected": False,
        "budget_burn_pct": 1.0,
        "si_determination": "no",
        "widespread_infringement": False,
    }
    base.update(fields)
    return record("incident", id_, **base)


def postmortem(id_: str, incident_id: str, published_at: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "incident_id": incident_id,
        "published_at": published_at,
        "blameless": True,
        "root_causes": ["cause"],
        "actions": [{"owner": "bob", "priority": "P1", "due": "2026-12-01T00:00:00Z"}],
    }
    base.update(fields)
    return record("postmortem", id_, **base)


def review(id_: str, held_at: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "review_type": "quarterly",
        "held_at": held_at,
        "pmm_coverage": 1.0,
        "decision": "continue",
        "signed_off_by": "owner",
    }
    base.update(fields)
    return record("quarterly_review", id_, **base)


def drift(id_: str, run_at: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "run_at": run_at,
        "metric": "psi",
        "value": 0.1,
        "threshold": 0.2,
        "breach": False,
    }
    base.update(fields)
    return record("drift_log", id_, **base)


def waiver(
    id_: str, control_id: str, approved_at: str, expires_at: str, **extra: Any
) -> dict[str, Any]:
    return {
        "id": id_,
        "workflow": WF,
        "control": control_id,
        "reason": "Accepted while the fix is rolled out.",
        "requested_by": "alice",
        "approved_by": "carol",
        "approved_at": approved_at,
        "expires_at": expires_at,
        **extra,
    }


def copy_project(source: Path, target: Path) -> Path:
    """A copy of a project folder of the repository, without its cache (``.assay/``), for a
    test that writes into it: tests never write into the checkout. Returns ``target``."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".assay"))
    return target


def line_col(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based line and column of the ``occurrence``-th ``needle`` in ``text``."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


@dataclass(frozen=True)
class Run:
    """The outcome of one CLI run."""

    code: int
    out: str
    err: str


class Kit:
    """A project folder under construction, and ways to run Assay on it."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]):
        self.root = root
        self._capsys = capsys

    def write(self, rel: str, text: str | bytes) -> Path:
        """Write ``text`` (dedented) or raw bytes at ``rel``; returns the path."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def text(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")

    def dump(self, rel: str, data: Any) -> Path:
        """Write ``data`` as YAML, JSON or JSONL (a list, one record per line) by suffix."""
        if rel.endswith(".jsonl"):
            text = "".join(json.dumps(item, sort_keys=True) + "\n" for item in data)
        elif rel.endswith(".json"):
            text = json.dumps(data, indent=2) + "\n"
        else:
            text = yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True)
        return self.write(rel, text)

    def setup(
        self,
        controls: list[dict[str, Any]],
        classes: list[dict[str, Any]],
        workflows: list[dict[str, Any]] | None = None,
        evidence: list[dict[str, Any]] | None = None,
        waivers: list[dict[str, Any]] | None = None,
    ) -> Kit:
        """Write a catalog, one file per class, the workflows, evidence and waivers."""
        self.dump(
            "policies/catalog.yaml", {"catalog": "test", "version": "1", "controls": controls}
        )
        for item in classes:
            self.dump(f"policies/class-{item['id']}.yaml", item)
        self.dump("workflows/workflows.yaml", workflows if workflows is not None else [workflow()])
        self.dump("evidence/records.jsonl", evidence or [])
        if waivers:
            self.dump("waivers/waivers.yaml", waivers)
        return self

    def load(self) -> Project:
        return load_project(self.root)

    def assess(
        self, as_of: str = AS_OF, workflow_id: str = WF, release: str | None = None
    ) -> Assessment:
        return assess(self.load(), workflow_id, parse_instant(as_of), release)

    def control(self, control_id: str, as_of: str = AS_OF) -> ControlResult:
        return self.assess(as_of).control(control_id)

    def run(self, *argv: str) -> Run:
        """Run the CLI on this project (``--project`` is appended) and capture its output."""
        self._capsys.readouterr()
        code = main([*argv, "--project", str(self.root)])
        captured = self._capsys.readouterr()
        return Run(code, captured.out, captured.err)


def at(value: str) -> datetime:
    return parse_instant(value)
