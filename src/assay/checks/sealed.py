"""`sealed`: the workflow's evidence is sealed in its folder's hash-chained ledger, unchanged.

The check reads the project's input files, not records: every evidence file that holds
records of the workflow must have been sealed (``assay evidence seal``) with the bytes it
has now; every file the ledger sealed with records of the workflow must still hold some;
and the ledger itself must verify as a chain, with no entry back-dated or dated after the
as-of time. The ledger is an input of the project (role ``ledger``), so an assessment
lists it, a pack embeds it, and a re-assessment from the pack replays the same bytes: the
check sees only this workflow's files and the ledgers, which is exactly what a pack holds.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..load.discover import ProjectFile
from ..models.assessment import CheckResult, EvidencePointer, Finding, SourcePointer
from ..models.policy import SealedCheck
from .base import CheckContext, EvaluationError, Words, fmt_time, on_rows, plural, result

if TYPE_CHECKING:  # the ledger's models are imported when a sealed check runs
    from ..evidence.ledger import LedgerEntry, Replay


@dataclass(frozen=True)
class _Ledger:
    """One evidence folder's ledger, replayed."""

    folder: str
    """The evidence folder, relative to the project ("" for the project root)."""
    file: ProjectFile
    replay: Replay

    def pointer(self, entry: LedgerEntry | None = None, line: int | None = None) -> EvidencePointer:
        where = self.replay.lines.get(entry.seq) if entry is not None else line
        return EvidencePointer(file=self.file.path, line=where, sha256=self.file.sha256)

    def path_of(self, rel: str) -> str:
        return f"{self.folder}/{rel}" if self.folder else rel


def _normal(path: str) -> str:
    path = posixpath.normpath(path.replace("\\", "/"))
    return "" if path == "." else path


def _folder_of(path: str, folders: Iterable[str]) -> str | None:
    """The (deepest) configured evidence folder ``path`` lies in."""
    inside = [f for f in folders if f == "" or path.startswith(f + "/")]
    return max(inside, key=len) if inside else None


def _entry_words(entry: LedgerEntry) -> str:
    return f"ledger entry {entry.seq} ({fmt_time(entry.at)}, by {entry.by})"


def run(check: SealedCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
    """Pass when every evidence file of the workflow is sealed and unchanged."""
    required = ctx.param(check.required)
    if not isinstance(required, bool):
        raise EvaluationError(f"`required` must be true or false, got {required!r}")
    workflow = ctx.workflow.workflow.id
    project = ctx.project
    relevant = sorted(project.evidence.files_of(workflow))
    if not required:
        summary = "Sealing the evidence is not required at this class."
        return result(
            check, policy, records=len(relevant), findings=[], summary=summary, failed=False
        )

    from ..evidence.ledger import replay_ledger

    files = {f.path: f for f in project.files if f.role == "evidence"}
    folders = {_normal(entry) for entry in project.config.evidence}
    ledgers: dict[str, _Ledger] = {}
    for item in project.files:
        if item.role == "ledger":
            folder = _normal(posixpath.dirname(item.path))
            replay = replay_ledger(item.data, item.path, ctx.as_of)
            ledgers[folder] = _Ledger(folder, item, replay)

    findings: list[Finding] = []
    concerned: set[str] = set()
    sealed = 0
    for path in relevant:
        file = files[path]
        here = EvidencePointer(file=path, sha256=file.sha256)
        home = _folder_of(path, folders)
        ledger = ledgers.get(home) if home is not None else None
        if ledger is None:
            shown = home or "the project folder"
            findings.append(
                Finding(
                    outcome="fail",
                    message=f"{path} is not sealed: the evidence folder {shown} has no ledger "
                    "(run `assay evidence seal`)",
                    evidence=[here],
                )
            )
            continue
        concerned.add(ledger.folder)
        rel = path[len(ledger.folder) + 1 :] if ledger.folder else path
        state = ledger.replay.state.get(rel)
        if state is None:
            findings.append(
                Finding(
                    outcome="fail",
                    message=f"{path} was added but not sealed: no entry of {ledger.file.path} "
                    "seals it (run `assay evidence seal`)",
                    evidence=[here, ledger.pointer()],
                )
            )
        elif state[0] != file.sha256:
            findings.append(
                Finding(
                    outcome="fail",
                    message=f"{path} was edited after it was sealed: its sha256 is "
                    f"{file.sha256[:12]}…, {_entry_words(state[1])} sealed {state[0][:12]}…",
                    evidence=[here, ledger.pointer(state[1])],
                )
            )
        else:
            sealed += 1

    # Files sealed with this workflow's records that no longer hold any: deleted, or emptied.
    present = set(relevant)
    for ledger in ledgers.values():
        for rel, (sha, entry) in ledger.replay.state.items():
            if workflow not in (entry.workflows or ()):
                continue
            concerned.add(ledger.folder)
            path = ledger.path_of(rel)
            if path not in present:
                findings.append(
                    Finding(
                        outcome="fail",
                        message=f"{path} was sealed by {_entry_words(entry)} with records of "
                        f"{workflow}, and holds none of them now: it was deleted or its records "
                        "were removed",
                        evidence=[EvidencePointer(file=path, sha256=sha), ledger.pointer(entry)],
                    )
                )

    for folder in sorted(concerned):
        ledger = ledgers[folder]
        for problem in ledger.replay.problems:
            line = problem.location.line if problem.location is not None else None
            findings.append(
                Finding(
                    outcome="fail",
                    message=f"{ledger.file.path}: {problem.message}",
                    evidence=[ledger.pointer(line=line)],
                )
            )

    failed = bool(findings)
    if not failed:
        heads = ", ".join(
            f"{ledgers[f].file.path} (head {ledgers[f].replay.head[:12]}…, "
            f"{plural(len(ledgers[f].replay.entries), 'entry')})"
            for f in sorted(concerned)
        )
        findings.append(
            Finding(
                outcome="pass",
                message=f"{plural(sealed, 'evidence file')} of {workflow} sealed and unchanged "
                f"in {heads or 'no ledger'}",
                evidence=[ledgers[f].pointer() for f in sorted(concerned)],
            )
        )
    if not relevant:
        summary = f"Expected the evidence of {workflow} sealed; it has no evidence files."
    else:
        summary = (
            f"Expected every evidence file of {workflow} sealed in its folder's ledger and "
            f"unchanged; {sealed} of {len(relevant)} are"
            + ("." if not failed or sealed < len(relevant) else ", but the ledger does not verify.")
        )
    return result(
        check, policy, records=len(relevant), findings=findings, summary=summary, failed=failed
    )


class Sealed:
    model = SealedCheck

    def run(self, check: SealedCheck, ctx: CheckContext, policy: SourcePointer) -> CheckResult:
        return run(check, ctx, policy)

    def run_many(
        self, check: SealedCheck, contexts: Sequence[CheckContext], policy: SourcePointer
    ) -> list[CheckResult | EvaluationError | None]:
        return on_rows(contexts)  # reads the ledger, not the evidence tables

    def words(self, check: SealedCheck, records: str, ref: Words) -> str:
        text = (
            "Every evidence file holding records of the workflow is sealed in its evidence "
            "folder's hash-chained ledger and unchanged since; the ledger verifies."
        )
        if check.required is not True:
            text += f" Required when {ref(check.required)} is true."
        return text

    def never_fails(self, check: SealedCheck) -> str | None:
        return "required is false" if check.required is False else None


KIND = Sealed()
