"""Policy models: the control catalog, checks, and risk classes.

A *control* is defined once in a catalog file. A *risk class* says which controls its
workflows must meet and with which parameter values; classes extend lower classes and
may only tighten what they inherit. Checks refer to parameters by name (``$name``)
instead of literals, and their conditions are CEL expressions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import StrictModel
from .duration import Duration

CONTROL_ID_PATTERN = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
PARAM_REF_PATTERN = r"^\$[a-z][a-z0-9_]*$"
CLASS_ID_PATTERN = r"^[a-z][a-z0-9_-]*$"

ControlId = Annotated[
    str, Field(pattern=CONTROL_ID_PATTERN, description="A control id, e.g. PROD-CANARY-01.")
]
ParamRef = Annotated[
    str, Field(pattern=PARAM_REF_PATTERN, description="A reference to a parameter: $name.")
]
CelExpr = Annotated[str, Field(min_length=1, description="A CEL expression.")]

ParamValue = bool | int | float | str | list[str]
"""A parameter value as written in YAML. Durations are strings like 24h and are typed by the
parameter's declaration."""

Severity = Literal["low", "medium", "high", "critical"]


class ParamSpec(StrictModel):
    """Declaration of a parameter of a control: its type and which way is stricter."""

    type: Literal["duration", "number", "integer", "boolean", "string", "list"]
    """Type of the value: duration (24h, 5bd), number, integer, boolean, string or list of strings."""
    description: str = Field(min_length=1)
    """What the parameter means, in words a reviewer understands."""
    stricter: Literal["higher", "lower", "superset", "true", "none"] = "none"
    """Which way is stricter: a higher or lower number/duration, a list that is a superset, `true`
    for booleans. Higher classes and hypercare may only move a parameter this way."""
    default: ParamValue | None = None
    """Value used when no risk class sets it."""


class Mappings(StrictModel):
    """References to the frameworks a control implements."""

    eu_ai_act: list[str] = []
    """Articles of Regulation (EU) 2024/1689, e.g. "Art. 15(1)"."""
    nist_ai_rmf: list[str] = []
    """NIST AI RMF 1.0 subcategories, e.g. "MS-2.3"."""
    iso_42001: list[str] = []
    """ISO/IEC 42001:2023 Annex A controls or clauses, e.g. "A.6.2.5"."""
    other: list[str] = []
    """Other references, e.g. "SRE Workbook ch. 16"."""


@dataclass(frozen=True)
class Condition:
    """A CEL condition of a check, as the loader compiles it: the name it is known by in
    findings, its source, its JSON pointer inside the check, and whether it also sees the
    covered record (`src`)."""

    name: str
    source: str
    pointer: str
    sees_covered: bool = False


@dataclass(frozen=True)
class FieldRef:
    """A field a check names, to be checked against the fields of ``kind``."""

    pointer: str
    field: str
    kind: str


class _CheckBase(StrictModel):
    """What every check kind shares. Each kind declares, by overriding the methods below,
    what the loader must compile and cross-check, so the loader needs no per-kind code."""

    id: str = Field(pattern=NAME_PATTERN)
    """Identifier of the check, unique within its control (snake_case)."""
    description: str = Field(min_length=1)
    """What the check requires, in one plain sentence."""
    evidence: str
    """Evidence kind the check looks at."""
    where: CelExpr | None = None
    """CEL condition selecting the records that matter (`r` is the record)."""
    window: Duration | ParamRef | None = None
    """Only records whose time field lies within this span before the as-of time."""
    time_field: str | None = None
    """Field whose instant is used for the window; defaults to the kind's time field."""
    prohibits: bool = False
    """A failure of this check is a prohibited practice (EU AI Act Art. 5): the verdict is
    PROHIBITED whatever else passes, and no waiver may apply to its control."""

    def conditions(self) -> list[Condition]:
        """The CEL conditions to compile at load time."""
        return [Condition("where", self.where, "/where")] if self.where is not None else []

    def param_refs(self) -> list[tuple[str, object]]:
        """(field name, value) of the fields that may name a parameter (``$name``)."""
        return [("window", self.window)]

    def field_refs(self) -> list[FieldRef]:
        """The record fields the check names, with the kind they must belong to."""
        refs = []
        if self.time_field is not None:
            refs.append(FieldRef("time_field", self.time_field, self.evidence))
        return refs

    def evidence_kinds(self) -> list[tuple[str, str]]:
        """(pointer, kind) of every evidence kind the check reads."""
        return [("evidence", self.evidence)]


class PresentCheck(_CheckBase):
    """At least `min` matching records exist (within the window)."""

    kind: Literal["present"]
    min: int | ParamRef = 1
    """How many matching records are required."""

    def param_refs(self) -> list[tuple[str, object]]:
        return [*super().param_refs(), ("min", self.min)]


class FreshCheck(_CheckBase):
    """The newest matching record is no older than `max_age`."""

    kind: Literal["fresh"]
    max_age: Duration | ParamRef
    """Maximum age of the newest matching record at the as-of time."""

    def param_refs(self) -> list[tuple[str, object]]:
        return [*super().param_refs(), ("max_age", self.max_age)]


class EveryCheck(_CheckBase):
    """Every matching record satisfies `assert`; no matching record is a failure unless allowed."""

    kind: Literal["every"]
    assert_: CelExpr = Field(alias="assert")
    """CEL condition each matching record must satisfy (`r` is the record)."""
    allow_empty: bool = False
    """Pass when no record matches (otherwise "no evidence" is a failure)."""

    def conditions(self) -> list[Condition]:
        return [*super().conditions(), Condition("assert", self.assert_, "/assert")]


class CoverLink(StrictModel):
    """How a covering record links to the record it covers."""

    evidence: str
    """Evidence kind of the covering records."""
    key: str
    """Field of the covering record that must equal the covered record's `source_key`."""
    source_key: str = "id"
    """Field of the covered record it links to (default: its id)."""
    where: CelExpr | None = None
    """CEL condition selecting covering records (`r` is the covering record, `src` the covered)."""


class CoveredCheck(_CheckBase):
    """Every matching record of one kind has a linked record of another kind, in time."""

    kind: Literal["covered"]
    by: CoverLink
    """The covering evidence and how it links."""
    deadline: Duration | ParamRef | None = None
    """Latest allowed time from the covered record's `from_field` to the covering record's `to_field`."""
    from_field: str | None = None
    """Time field of the covered record the deadline runs from (default: its time field)."""
    to_field: str | None = None
    """Time field of the covering record that must fall within the deadline (default: its time field)."""
    assert_: CelExpr | None = Field(default=None, alias="assert")
    """CEL condition the covering record must satisfy (`r` covering, `src` covered)."""
    allow_empty: bool = True
    """Pass when nothing needs covering (the default: no SEV1, nothing to cover)."""

    def conditions(self) -> list[Condition]:
        out = super().conditions()
        if self.by.where is not None:
            out.append(Condition("by.where", self.by.where, "/by/where", sees_covered=True))
        if self.assert_ is not None:
            out.append(Condition("assert", self.assert_, "/assert", sees_covered=True))
        return out

    def param_refs(self) -> list[tuple[str, object]]:
        return [*super().param_refs(), ("deadline", self.deadline)]

    def field_refs(self) -> list[FieldRef]:
        refs = [
            *super().field_refs(),
            FieldRef("by/key", self.by.key, self.by.evidence),
            FieldRef("by/source_key", self.by.source_key, self.evidence),
        ]
        if self.from_field is not None:
            refs.append(FieldRef("from_field", self.from_field, self.evidence))
        if self.to_field is not None:
            refs.append(FieldRef("to_field", self.to_field, self.by.evidence))
        return refs

    def evidence_kinds(self) -> list[tuple[str, str]]:
        return [*super().evidence_kinds(), ("by/evidence", self.by.evidence)]


AggregateFunction = Literal[
    "count", "sum", "min", "max", "mean", "p50", "p95", "p99", "ratio", "rate", "max_gap"
]


class AggregateCheck(_CheckBase):
    """A statistic over the matching records compared with a threshold."""

    kind: Literal["aggregate"]
    function: AggregateFunction
    """count, sum, min, max, mean, p50, p95, p99; ratio (share of records where `value` is true);
    rate (count divided by the number of `per` periods in the window); max_gap (longest time
    between consecutive records, and from the last one to the as-of time)."""
    value: CelExpr | None = None
    """CEL expression giving the number (or duration) to aggregate; a boolean for ratio."""
    per: Duration | ParamRef | None = None
    """For rate: the expected cadence, one record per this span."""
    group_by: str | None = None
    """Field to group by; every group must meet the threshold."""
    op: Literal["<", "<=", ">", ">=", "=="]
    """Comparison of the statistic with the threshold."""
    threshold: float | Duration | ParamRef
    """The value compared with (a number, a duration, or a parameter)."""
    allow_empty: bool = False
    """Pass when no record matches (otherwise "no evidence" is a failure)."""

    def conditions(self) -> list[Condition]:
        out = super().conditions()
        if self.value is not None:
            out.append(Condition("value", self.value, "/value"))
        return out

    def param_refs(self) -> list[tuple[str, object]]:
        return [*super().param_refs(), ("per", self.per), ("threshold", self.threshold)]

    def field_refs(self) -> list[FieldRef]:
        refs = super().field_refs()
        if self.group_by is not None:
            refs.append(FieldRef("group_by", self.group_by, self.evidence))
        return refs

    @model_validator(mode="after")
    def _needs(self) -> AggregateCheck:
        if self.function not in ("count", "rate", "max_gap") and self.value is None:
            raise ValueError(f"function {self.function} needs a `value` expression")
        if self.function == "rate" and self.per is None:
            raise ValueError("function rate needs `per` (the expected cadence)")
        if self.window is None and self.function in ("rate", "max_gap"):
            raise ValueError(f"function {self.function} needs a `window`")
        return self


class SealedCheck(_CheckBase):
    """Every evidence file holding records of the workflow is sealed in its evidence folder's
    hash-chained ledger (`assay evidence seal`) and unchanged since; the ledger's chain is
    intact and no entry is back-dated or dated after the as-of time; no file sealed with
    records of the workflow is gone. Tamper-evidence of the evidence itself (C4)."""

    kind: Literal["sealed"]
    evidence: Literal["all"] = "all"
    """The evidence that must be sealed: all of the workflow's (a ledger seals files, and
    a file may hold records of several kinds)."""
    required: bool | ParamRef = True
    """Whether sealing is required; a parameter lets a control require it only at some
    classes (false: the check passes and says it is not required)."""

    def param_refs(self) -> list[tuple[str, object]]:
        return [("required", self.required)]

    def evidence_kinds(self) -> list[tuple[str, str]]:
        return []

    @model_validator(mode="after")
    def _files_not_records(self) -> SealedCheck:
        given = [name for name in ("where", "window", "time_field") if getattr(self, name)]
        if given:
            raise ValueError(
                f"a sealed check looks at files, not records: {', '.join(given)} does not apply"
            )
        if self.prohibits:
            raise ValueError("a sealed check cannot declare `prohibits`")
        return self


Check = Annotated[
    PresentCheck | FreshCheck | EveryCheck | CoveredCheck | AggregateCheck | SealedCheck,
    Field(discriminator="kind"),
]


class Control(StrictModel):
    """A control defined once in the catalog."""

    id: ControlId
    """Stable id, e.g. PROD-CANARY-01."""
    title: str = Field(min_length=1)
    """Short title."""
    intent: str = Field(min_length=1)
    """What the control is for, in one or two sentences."""
    severity: Severity
    """How bad a failure is: low, medium, high or critical."""
    requires: list[ControlId] = []
    """Controls that must pass before this one can (dependency edges of the control graph)."""
    evidence: list[str] = Field(min_length=1)
    """Evidence kinds this control reads."""
    applies_if: CelExpr | None = None
    """CEL condition over the workflow (`workflow`); when false the control is not applicable."""
    params: dict[Annotated[str, Field(pattern=NAME_PATTERN)], ParamSpec] = {}
    """Parameters the checks refer to as $name; values come from the risk classes."""
    checks: list[Check] = Field(min_length=1)
    """The checks; the control passes when all of them pass."""

    @property
    def prohibition_gate(self) -> bool:
        """True when a check of this control can deny every release (it cannot be waived)."""
        return any(check.prohibits for check in self.checks)

    mappings: Mappings
    """Framework references."""
    remediation: str = Field(min_length=1)
    """What to do when the control fails."""


class Catalog(StrictModel):
    """A catalog file: a list of controls."""

    catalog: str = Field(pattern=CLASS_ID_PATTERN)
    """Name of the catalog."""
    version: str
    """Version of the catalog."""
    controls: list[Control] = Field(min_length=1)
    """The controls."""


ParamTable = dict[ControlId, dict[Annotated[str, Field(pattern=NAME_PATTERN)], ParamValue]]


class Hypercare(StrictModel):
    """Stricter rules for the first days after launch."""

    days: int = Field(default=90, ge=1)
    """Length of the hypercare window after the launch date."""
    extension_days: int = Field(default=30, ge=1)
    """Hypercare is extended by this many days at a time while no passing exit review exists."""
    controls: list[ControlId] = []
    """Controls required only during hypercare."""
    params: ParamTable = {}
    """Parameter values during hypercare; the stricter of these and the class values applies."""


class WaiverRules(StrictModel):
    """How waivers for workflows of a class are governed."""

    max_days: int = Field(ge=1)
    """Longest a waiver may run, from approval to expiry, in days."""
    allowed_approvers: list[str] = []
    """Who may approve waivers at this class; empty means anyone but the requester."""
    require_ticket: bool = False
    """Every waiver must reference a risk-acceptance ticket."""


class RiskClass(StrictModel):
    """A risk class: which controls its workflows need, with which parameters."""

    id: str = Field(pattern=CLASS_ID_PATTERN)
    """Id used by workflows' `risk_class`, e.g. high."""
    title: str = Field(min_length=1)
    """Human title, e.g. "C3 High"."""
    level: int = Field(ge=0)
    """Rank of the class; a class may only extend a class of lower level."""
    aliases: list[str] = []
    """Other names workflows may use for this class, e.g. C3 for high."""
    description: str = ""
    """When this class applies."""
    extends: str | None = None
    """The lower class whose controls and parameters this class inherits."""
    prohibited: bool = False
    """A prohibited class denies every release (EU AI Act Art. 5)."""
    controls: list[ControlId] = []
    """Controls required at this class, in addition to the inherited ones."""
    params: ParamTable = {}
    """Parameter values, by control id then parameter name."""
    hypercare: Hypercare | None = None
    """Hypercare rules; inherited from the extended class when absent."""
    waivers: WaiverRules | None = None
    """Waiver governance; inherited from the extended class when absent."""
