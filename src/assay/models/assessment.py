"""The Assessment: the frozen result of evaluating one workflow, and the only input of
every output format and of the audit pack.

The verdict lives on the model (:class:`Verdict`, decided by ``Verdict.of`` only; the exit
code follows from it). Its JSON form is canonical:
keys sorted, lists in a stable order, no insignificant whitespace variation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

import orjson
from pydantic import Field, model_validator

from .base import FrozenModel
from .policy import Mappings, Severity

Status = Literal["pass", "fail", "blocked", "waived", "not_applicable", "error"]
CheckStatus = Literal["pass", "fail", "error"]
FindingOutcome = Literal["pass", "fail", "error", "pending"]
STATUSES: tuple[Status, ...] = ("fail", "error", "blocked", "waived", "pass", "not_applicable")
ACCEPTED: frozenset[str] = frozenset({"pass", "waived", "not_applicable"})

EXIT_COMPLIANT = 0
EXIT_NONCOMPLIANT = 1
EXIT_INPUT = 2
EXIT_VERIFY = 3


_FULL_FIELDS: dict[type, set[str]] = {}


class _SharedFieldsSet(FrozenModel):
    """A result model built by the million: pydantic gives every instance a set of the
    fields it was given (728 bytes for six names, ~45 MB of a 200-workflow gate's
    peak for the evidence pointers alone). An instance given every field shares its
    class's one set instead. Nothing mutates it: the models are frozen, and pydantic's
    ``model_copy`` copies the set before it adds to it (tested)."""

    def model_post_init(self, context: Any, /) -> None:
        given = self.__pydantic_fields_set__
        full = _FULL_FIELDS.get(type(self))
        if full is None:
            full = _FULL_FIELDS[type(self)] = set(type(self).model_fields)
        if given == full:
            object.__setattr__(self, "__pydantic_fields_set__", full)


class SourcePointer(FrozenModel):
    """A place in a policy, workflow or waiver file."""

    file: str
    line: int | None = None
    column: int | None = None


class EvidencePointer(_SharedFieldsSet):
    """A record in an evidence file: path relative to the project, line, JSON pointer, digest."""

    file: str
    line: int | None = None
    pointer: str = ""
    record_id: str | None = None
    kind: str | None = None
    sha256: str


class Finding(FrozenModel):
    """One observation of a check, with the evidence it rests on and a plain sentence."""

    outcome: FindingOutcome
    message: str
    """What was required and what was found, in words, with values and units; never CEL."""
    evidence: list[EvidencePointer] = []
    condition: str | None = None
    """The CEL the sentence explains (the unmet part of a condition), for the curious; a
    format may show it apart from the sentence. None when no condition is involved."""


class CheckResult(_SharedFieldsSet):
    """The result of one check of a control."""

    id: str
    kind: str
    description: str
    status: CheckStatus
    summary: str
    """One sentence: what was expected and what was found."""
    records: int
    """How many records the check considered after its filters."""
    findings: list[Finding] = []
    """Failures first; long lists are cut (see `omitted`)."""
    omitted: int = 0
    """Findings not listed to keep reports readable."""
    policy: SourcePointer
    reads: dict[str, list[str]] = {}
    """The record fields the check reads, by evidence kind: its conditions' fields, the
    time fields and the link keys (sorted). The audit pack highlights them in excerpts."""


class WaiverState(FrozenModel):
    """A waiver as it stood at the as-of time."""

    id: str
    control: str
    state: Literal["active", "expired", "not_yet_valid", "invalid"]
    """Only an active waiver applies; an invalid one breaks its class's waiver rules."""
    problem: str | None = None
    """Why the waiver is invalid."""
    reason: str
    requested_by: str
    approved_by: str
    approved_at: datetime
    expires_at: datetime
    ticket: str | None = None
    source: SourcePointer


class ControlResult(FrozenModel):
    """The verdict on one control, with its reasons."""

    id: str
    title: str
    intent: str
    severity: Severity
    status: Status
    summary: str
    required_by: Literal["class", "hypercare"]
    requires: list[str] = []
    """Dependencies that apply at this class."""
    blocked_by: list[str] = []
    """Root-cause controls when blocked."""
    params: dict[str, Any] = {}
    """Parameter values after inheritance and hypercare."""
    param_sources: dict[str, str] = {}
    """Where each parameter value came from (class id, `hypercare`, or `default`)."""
    checks: list[CheckResult] = []
    waivers: list[WaiverState] = []
    mappings: Mappings
    remediation: str
    policy: SourcePointer


class InputDigest(_SharedFieldsSet):
    """An input file of the assessment and its SHA-256."""

    path: str
    role: Literal["config", "policy", "workflow", "waiver", "evidence", "ledger"]
    sha256: str
    records: int | None = None
    after_as_of: int | None = None
    """For an evidence file: how many of its records of this workflow were created after
    `as_of` and so were not seen (an as-of replay sees the evidence as it stood then)."""


class WorkflowInfo(FrozenModel):
    id: str
    name: str
    owner: str
    risk_class: str
    launched: date
    eu_scope: bool
    role: str


class RiskClassInfo(FrozenModel):
    id: str
    title: str
    level: int
    prohibited: bool
    lineage: list[str]
    """The class and the classes it extends, highest first."""


class HypercareState(FrozenModel):
    active: bool
    started: date
    ends: datetime
    extensions: int
    """How many times hypercare was extended because no passing exit review exists."""


class Verdict(StrEnum):
    """The one answer about a workflow; worst last (a fleet takes its worst member's)."""

    COMPLIANT = "COMPLIANT"
    NON_COMPLIANT = "NON-COMPLIANT"
    PROHIBITED = "PROHIBITED"

    @property
    def exit_code(self) -> int:
        return EXIT_COMPLIANT if self is Verdict.COMPLIANT else EXIT_NONCOMPLIANT

    @classmethod
    def of(cls, statuses: Sequence[str], *, prohibited: bool) -> Verdict:
        """The verdict, decided here and nowhere else: prohibited denies everything; else
        compliant iff there are controls and every one is accepted (an empty set of
        controls proves nothing)."""
        if prohibited:
            return cls.PROHIBITED
        if statuses and all(status in ACCEPTED for status in statuses):
            return cls.COMPLIANT
        return cls.NON_COMPLIANT

    @classmethod
    def worst(cls, verdicts: Iterable[Verdict]) -> Verdict:
        """The fleet's verdict: its worst member's; an empty fleet is compliant."""
        order = list(cls)
        return max(verdicts, key=order.index, default=cls.COMPLIANT)


class Summary(FrozenModel):
    """The workflow's verdict and how its controls came out."""

    counts: dict[str, int]
    """Controls by status; each control is counted once, under its final status."""
    blocked_failing: int = 0
    """Of the ``blocked`` controls, how many also fail (or could not evaluate) their own
    checks. ``counts`` lists such a control only as blocked; an auditor reading "3
    blocked" also needs to know that fixing the upstream controls will not be enough for
    these. Each one's summary says which of its own checks fail."""
    compliant: bool
    """Kept in the JSON for consumers that read a boolean; always ``verdict == COMPLIANT``."""
    verdict: Verdict

    @model_validator(mode="after")
    def _compliant_follows_the_verdict(self) -> Summary:
        if self.compliant != (self.verdict is Verdict.COMPLIANT):
            raise ValueError(f"compliant={self.compliant} contradicts verdict {self.verdict}")
        if not 0 <= self.blocked_failing <= self.counts.get("blocked", 0):
            raise ValueError(
                f"blocked_failing={self.blocked_failing} is not within the "
                f"{self.counts.get('blocked', 0)} blocked controls"
            )
        return self


class Engine(FrozenModel):
    name: str = "assay"
    version: str


class Assessment(FrozenModel):
    """The frozen, self-describing result of assessing one workflow as of a time."""

    schema_version: Literal["1"] = "1"
    engine: Engine
    as_of: datetime
    release: str | None = None
    workflow: WorkflowInfo
    risk_class: RiskClassInfo
    hypercare: HypercareState
    prohibited_reason: str | None = None
    controls: list[ControlResult] = Field(default_factory=list)
    inputs: list[InputDigest] = Field(default_factory=list)
    summary: Summary

    @property
    def verdict(self) -> Verdict:
        return self.summary.verdict

    @property
    def compliant(self) -> bool:
        return self.summary.verdict is Verdict.COMPLIANT

    @property
    def exit_code(self) -> int:
        """0 when compliant, 1 when not."""
        return self.summary.verdict.exit_code

    def control(self, control_id: str) -> ControlResult:
        for result in self.controls:
            if result.id == control_id:
                return result
        raise KeyError(control_id)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def canonical_json(self) -> bytes:
        """The canonical JSON bytes: sorted keys, two-space indent, trailing newline."""
        return canonical_json(self.to_dict())


def canonical_json(data: Any) -> bytes:
    """Serialise plain data deterministically: sorted keys, two-space indent, UTF-8,
    trailing newline (orjson: the same bytes every run, ~15x faster than the stdlib)."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def fleet_verdict(assessments: Sequence[Assessment]) -> Verdict:
    """The verdict of several workflows: the worst of theirs."""
    return Verdict.worst(a.verdict for a in assessments)


def fleet_exit_code(assessments: Sequence[Assessment]) -> int:
    """0 when every assessment is compliant, otherwise 1."""
    return fleet_verdict(assessments).exit_code
