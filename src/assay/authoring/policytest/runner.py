"""Run policy test cases through the real engine.

Each case is materialised as a small project held in memory (the policies under test, the
case's workflow, waivers and evidence as files) and assessed with
:func:`assay.load.load_files` and :func:`assay.evaluate.assess`, the code path of a
project on disk: there is no second engine. Problems in a case's evidence or waivers are reported at the line of the
test file they came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from ...errors import AssayError, InputError, InputErrors, Location
from ...evaluate import assess
from ...load import DiskSource, Project, load_files
from ...load.discover import read_file
from ...models.assessment import Assessment
from ...models.policytest import CaseRef, CaseResult, Mismatch, MissingFinding
from .cases import EvidenceRecord, TestCase, display_path

EVIDENCE_FILE = "evidence/case.jsonl"
WAIVER_FILE = "waivers/case.yaml"
WORKFLOW_FILE = "workflows/case.yaml"


def materialise(case: TestCase, policies: Path) -> tuple[dict[str, bytes], dict[str, Location]]:
    """The case as the files of a project; and where each of their lines came from, keyed
    ``"file:line"``, so load errors can point into the test file."""
    origins: dict[str, Location] = {}
    files: dict[str, bytes] = {
        "assay.yaml": b"policies: [policies]\nworkflows: [workflows]\nwaivers: [waivers]\n"
        b"evidence: [evidence]\n",
    }
    source = DiskSource(policies.resolve())
    for rel in source.walk(""):
        files[f"policies/{rel}"] = source.read(rel)
    origins["policies/"] = Location(display_path(policies))
    workflow = case.workflow.model_dump(mode="json")
    files[WORKFLOW_FILE] = (json.dumps(workflow, sort_keys=True) + "\n").encode()
    origins[f"{WORKFLOW_FILE}:"] = case.workflow_location
    lines = []
    for number, record in enumerate(case.records, start=1):
        lines.append(json.dumps(record.data, sort_keys=True, ensure_ascii=False))
        origins[f"{EVIDENCE_FILE}:{number}"] = record.origin
    files[EVIDENCE_FILE] = "".join(line + "\n" for line in lines).encode()
    for index, item in enumerate(case.evidence_files):
        name = f"evidence/files/{index:03d}-{item.path.name}"
        files[name] = read_file(item.path, item.display)
        origins[f"{name}:"] = Location(item.display)
    if case.waivers:
        files[WAIVER_FILE] = _waivers_yaml(case.waivers, origins).encode()
    return files, origins


def _waivers_yaml(waivers: tuple[EvidenceRecord, ...], origins: dict[str, Location]) -> str:
    # One flow mapping per line, so that a line number names one waiver.
    lines = []
    for number, waiver in enumerate(waivers, start=1):
        body = yaml.safe_dump(waiver.data, default_flow_style=True, width=10**9).strip()
        lines.append(f"- {body}")
        origins[f"{WAIVER_FILE}:{number}"] = waiver.origin
    return "\n".join(lines) + "\n"


def _relocate(err: AssayError, origins: dict[str, Location]) -> AssayError:
    """Point an error in a materialised file back at the test file it came from."""
    loc = err.location
    if loc is None:
        return err
    if loc.file.startswith("policies/"):
        # A policy file, seen through the link: show it where the user keeps it.
        shown = f"{origins['policies/'].file}/{loc.file.removeprefix('policies/')}"
        return InputError(
            err.message,
            location=Location(shown, loc.line, loc.column, loc.pointer),
            code=err.code,
        )
    found = origins.get(f"{loc.file}:{loc.line}") or origins.get(f"{loc.file}:")
    if found is None:
        return err
    detail = f" ({loc.pointer.lstrip('/')})" if loc.pointer and loc.pointer != "/" else ""
    return InputError(f"{err.message}{detail}", location=found, code=err.code)


def run_case(case: TestCase, policies: Path) -> tuple[CaseResult, Project]:
    """Assess one case on the real engine and compare with its expectations.

    Raises InputErrors (located in the test file where possible) when the case's inputs
    do not load.
    """
    files, origins = materialise(case, policies)
    try:
        project = load_files(files)
        assessment = assess(project, case.workflow.id, case.as_of, case.release)
    except InputErrors as err:
        raise InputErrors(_relocate(e, origins) for e in err.errors) from None
    except AssayError as err:
        raise InputErrors([_relocate(err, origins)]) from None
    return compare(case, assessment), project


def compare(case: TestCase, assessment: Assessment) -> CaseResult:
    """Compare an assessment with the case's expectations."""
    statuses: dict[str, str] = {c.id: c.status for c in assessment.controls}
    checks: dict[tuple[str, str], str] = {
        (c.id, k.id): k.status for c in assessment.controls for k in c.checks
    }
    mismatches = [
        Mismatch(control, expected, statuses.get(control, "not_required"))
        for control, expected in case.expect.items()
        if statuses.get(control, "not_required") != expected
    ]
    # A finding is matched as "check_id: message", so a test can name the check too.
    messages = {
        c.id: [f"{k.id}: {f.message}" for k in c.checks for f in k.findings]
        for c in assessment.controls
    }
    missing = [
        MissingFinding(control, text)
        for control, texts in case.expect_findings.items()
        for text in texts
        if not any(text in message for message in messages.get(control, []))
    ]
    verdict = assessment.summary.verdict
    verdict_mismatch = (
        (case.expect_verdict, verdict)
        if case.expect_verdict is not None and case.expect_verdict != verdict
        else None
    )
    interesting = {m.control for m in mismatches} | {m.control for m in missing}
    failing = {
        c.id: [
            f"{k.id}: {f.message}"
            for k in c.checks
            for f in k.findings
            if f.outcome in ("fail", "error")
        ]
        for c in assessment.controls
        if c.id in interesting
    }
    if assessment.prohibited_reason and (mismatches or verdict_mismatch):
        failing["(verdict)"] = [assessment.prohibited_reason]
    ok = not mismatches and not missing and verdict_mismatch is None
    return CaseResult(
        case=CaseRef(case.file, case.name, case.location),
        outcome="pass" if ok else "fail",
        verdict=verdict,
        statuses=statuses,
        check_statuses=checks,
        asserted=tuple(case.expect),
        mismatches=mismatches,
        missing_findings=missing,
        verdict_mismatch=verdict_mismatch,
        failing_findings={k: v for k, v in sorted(failing.items()) if v},
    )


@dataclass(frozen=True)
class PolicyUnderTest:
    """The controls and checks of the policies, as the first loaded case saw them."""

    controls: dict[str, list[str]]
    """Control id to its check ids, sorted."""


def policy_outline(project: Project) -> PolicyUnderTest:
    return PolicyUnderTest(
        {cid: sorted(c.id for c in control.checks) for cid, control in project.controls.items()}
    )


def run_cases(
    cases: list[TestCase], policies: Path
) -> tuple[list[CaseResult], PolicyUnderTest | None]:
    """Run every case; collect every input error of every case and raise them together."""
    results: list[CaseResult] = []
    outline: PolicyUnderTest | None = None
    problems: list[AssayError] = []
    for case in cases:
        try:
            result, project = run_case(case, policies)
        except InputErrors as err:
            problems.extend(err.errors)
            continue
        if outline is None:
            outline = policy_outline(project)
        results.append(result)
    if problems:
        raise InputErrors(_dedupe(problems))
    return results, outline


def _dedupe(errors: list[AssayError]) -> list[AssayError]:
    # A broken policy fails every case the same way: report it once.
    seen: set[str] = set()
    out: list[AssayError] = []
    for err in errors:
        key = "\n".join(err.lines())
        if key not in seen:
            seen.add(key)
            out.append(err)
    return out
