"""One model per evidence kind of the reference catalog, and the registry of kinds.

Field names are the catalog's, exactly: policies refer to them in CEL. Each kind sets
``TIME_FIELD``, the instant its windows, freshness and deadlines are measured from.

The models check *shape* (types, enums, required keys, timezone-aware times). Whether the
content meets a control (enough approvers, a passing verdict, a rollback plan) is for the
policies to decide, so a record that fails a control still loads and produces a finding.
The catalog is thin in a few places; the fields added here are marked "(Assay addition)".
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, get_args

from pydantic import AwareDatetime, Field, model_validator

from .base import StrictModel
from .evidence import Evidence

Pct = Annotated[float, Field(ge=0, le=100)]
Fraction = Annotated[float, Field(ge=0, le=1)]
NonEmpty = Annotated[str, Field(min_length=1)]
Verdict = Literal["pass", "fail"]
CheckOutcome = Literal["pass", "fail", "n/a"]


def _ordered(first: AwareDatetime, last: AwareDatetime, names: str) -> None:
    if last < first:
        raise ValueError(f"{names}: the end is before the start")


# --- model_card -------------------------------------------------------------------------


class Dependency(StrictModel):
    """A model, API or library the workflow depends on, with the version it is pinned to."""

    name: NonEmpty
    """Name of the dependency, e.g. a vendor model or a package."""
    pinned_version: NonEmpty
    """The version the workflow is pinned to."""


class ModelCard(Evidence):
    """The model card: what runs, its risk class, EU AI Act mapping, metrics and limits."""

    TIME_FIELD: ClassVar[str] = "reviewed_at"

    kind: Literal["model_card"]
    """Always `model_card`."""
    model_version: NonEmpty
    """Version of the model this card describes (as deploy records name it)."""
    risk_class: Literal["C1", "C2", "C3", "C4"]
    """Risk class the card declares: C1 minimal, C2 limited, C3 high, C4 critical."""
    eu_class: Literal["minimal", "limited", "high"]
    """Risk category under the EU AI Act."""
    eu_scope: bool
    """True when the EU AI Act applies to this workflow."""
    role: Literal["provider", "deployer"]
    """Role under the EU AI Act."""
    intended_purpose: str
    """The intended purpose, as stated to users and authorities."""
    art5_screen: Literal["clear", "flagged"]
    """Outcome of the Art. 5 prohibited-practices screen; `flagged` denies every release."""
    reviewed_at: AwareDatetime
    """When the classification was last reviewed."""
    declared_metrics: dict[str, float] = {}
    """Declared accuracy and robustness levels (Art. 15(3)), by metric name."""
    limitations: str
    """Known limitations and conditions of use."""
    predetermined_changes: str | None = None
    """Changes predetermined at conformity assessment (Art. 43(4) envelope)."""
    dependencies: list[Dependency] = []
    """Models, APIs and libraries the workflow depends on, with pinned versions."""
    transparency: dict[str, bool] = {}
    """Transparency obligations that apply, by flag (e.g. art50_1: true)."""
    pmm_plan_ref: str | None = None
    """URI of the post-market monitoring plan."""
    previous_good_version: str
    """The last known-good model version to roll back to."""
    approved_at: AwareDatetime
    """When the card was approved."""


# --- change_request ---------------------------------------------------------------------


class Approver(StrictModel):
    """One approval of a change."""

    id: NonEmpty
    """Who approved (person id)."""
    approved_at: AwareDatetime
    """When they approved."""


class ChangeRequest(Evidence):
    """A reviewed change to what runs in production: model, prompt, config, data or vendor."""

    TIME_FIELD: ClassVar[str] = "created_at"

    kind: Literal["change_request"]
    """Always `change_request`."""
    title: str | None = None
    """One line saying what changes (Assay addition)."""
    change_type: Literal["model", "prompt", "config", "data", "vendor_model", "infra"]
    """What the change touches."""
    author: NonEmpty
    """Who wrote the change; approvers must be someone else."""
    eval_passed: bool
    """True when the evaluation suite passed on the changed system."""
    rollback_plan_ref: str
    """URI of the rollback plan."""
    approvers: list[Approver] = []
    """Approvals, each with who and when."""
    emergency: bool = False
    """True for an emergency change, approved retroactively within the allowed window."""
    alters_system: bool
    """True when the change would affect the analysis of an incident's cause (Art. 73(6))."""
    substantial_mod_assessed: bool = False
    """True when the change was assessed for substantial modification (Art. 3(23))."""
    substantial_mod: bool
    """True when the change is a substantial modification."""
    conformity_ref: str | None = None
    """URI of the new conformity assessment, required when `substantial_mod` is true."""


# --- deploy_record ----------------------------------------------------------------------


class DeployRecord(Evidence):
    """A deployment of a model version to canary or production."""

    TIME_FIELD: ClassVar[str] = "started_at"

    kind: Literal["deploy_record"]
    """Always `deploy_record`."""
    change_request_id: NonEmpty
    """Id of the change_request this deployment carries out."""
    model_version: NonEmpty
    """Model version deployed."""
    release: str | None = None
    """Release or version label under gate, e.g. 2.4.0 (Assay addition)."""
    environment: Literal["canary", "prod"]
    """Where it was deployed."""
    started_at: AwareDatetime
    """When the deployment started."""
    promoted_at: AwareDatetime | None = None
    """When it reached 100 % of traffic; empty while it has not."""
    is_launch: bool = False
    """True for the first production launch of the workflow (starts hypercare)."""
    error_budget_remaining_pct: float = Field(le=100)
    """Error budget left at the start, in percent (negative when overspent)."""
    disclosure_check: CheckOutcome
    """Whether the required transparency notices were verified live."""
    emergency: bool = False
    """True for an emergency deployment."""

    @model_validator(mode="after")
    def _promoted_after_start(self) -> DeployRecord:
        if self.promoted_at is not None:
            _ordered(self.started_at, self.promoted_at, "started_at/promoted_at")
        return self


# --- canary_report ----------------------------------------------------------------------


class CanaryMetric(StrictModel):
    """One metric compared between canary and control."""

    name: NonEmpty
    """Metric name, e.g. error_rate."""
    canary: float
    """Value measured on the canary."""
    control: float
    """Value measured on the control population."""
    threshold: float
    """Largest acceptable difference (or the bound the canary must meet)."""


class CanaryReport(Evidence):
    """A canary compared with control on live traffic."""

    TIME_FIELD: ClassVar[str] = "ended_at"

    kind: Literal["canary_report"]
    """Always `canary_report`."""
    deploy_id: NonEmpty
    """Id of the deploy_record of the canary."""
    started_at: AwareDatetime
    """When the canary started taking traffic."""
    ended_at: AwareDatetime
    """When the comparison ended."""
    max_traffic_pct: Pct
    """Largest share of traffic the canary received, in percent."""
    sample_size: int = Field(ge=0)
    """Requests served by the canary."""
    metrics: list[CanaryMetric] = []
    """The metrics compared."""
    verdict: Literal["pass", "fail", "inconclusive"]
    """Outcome of the comparison."""
    signed_off_by: str | None = None
    """Person who signed the promotion off (required by some classes during hypercare;
    Assay addition)."""

    @model_validator(mode="after")
    def _ends_after_start(self) -> CanaryReport:
        _ordered(self.started_at, self.ended_at, "started_at/ended_at")
        return self


# --- drill_record -----------------------------------------------------------------------


class DrillRecord(Evidence):
    """A rollback, kill-switch or adversarial drill."""

    TIME_FIELD: ClassVar[str] = "performed_at"

    kind: Literal["drill_record"]
    """Always `drill_record`."""
    drill_type: Literal["rollback", "kill_switch", "adversarial_test"]
    """What was drilled."""
    performed_at: AwareDatetime
    """When the drill was performed."""
    measured_rto_min: float = Field(ge=0)
    """Measured time to restore (or halt), in minutes."""
    result: Verdict
    """Outcome of the drill."""


# --- observability_config ---------------------------------------------------------------


class Alert(StrictModel):
    """An alert on a signal and the rota it pages."""

    signal: NonEmpty
    """Signal the alert watches."""
    threshold: float | str
    """When it fires: a number, or an expression such as `p95 > 800ms`."""
    rotation_id: NonEmpty
    """Id of the on-call rota it pages (an oncall_schedule's rotation_id)."""


class ObservabilityConfig(Evidence):
    """The signals emitted, the alerts and their routing, and log retention."""

    TIME_FIELD: ClassVar[str] = "created_at"

    kind: Literal["observability_config"]
    """Always `observability_config`."""
    signals: list[str] = []
    """Signals emitted, e.g. availability, errors, latency, output_distribution."""
    alerts: list[Alert] = []
    """Alerts and the rota each one pages."""
    log_retention_days: int = Field(ge=0)
    """Configured retention of per-use logs, in days."""
    log_integrity: Literal["none", "hash_chain", "worm"]
    """Tamper evidence of the logs."""
    last_telemetry_at: AwareDatetime
    """When telemetry was last received."""
    observed_dependency_versions: dict[str, str] = {}
    """Dependency versions observed in production, by dependency name."""


# --- log_audit --------------------------------------------------------------------------


class LogAudit(Evidence):
    """An audit of the per-use logs: retention, completeness, integrity."""

    TIME_FIELD: ClassVar[str] = "created_at"

    kind: Literal["log_audit"]
    """Always `log_audit`."""
    retention_days_config: int = Field(ge=0)
    """Retention configured in the log store, in days."""
    oldest_log_at: AwareDatetime
    """Time of the oldest log entry still held."""
    missing_field_rate: Fraction
    """Share of entries with a required field missing (0 to 1)."""
    integrity_verified: bool = False
    """True when the log integrity (hash chain or WORM) was verified."""


# --- drift_log --------------------------------------------------------------------------


class DriftLog(Evidence):
    """One run of a drift or per-segment quality check."""

    TIME_FIELD: ClassVar[str] = "run_at"

    kind: Literal["drift_log"]
    """Always `drift_log`."""
    run_at: AwareDatetime
    """When the check ran."""
    metric: NonEmpty
    """Metric checked, e.g. psi_income or accuracy."""
    segment: str | None = None
    """Segment evaluated; empty for the whole population."""
    value: float
    """Measured value."""
    threshold: float
    """Threshold the value is compared with."""
    breach: bool
    """True when the value crossed the threshold."""
    triage_ref: str | None = None
    """Id of the incident or change_request that triaged a breach."""
    triaged_at: AwareDatetime | None = None
    """When a breach was triaged."""


# --- oversight_report -------------------------------------------------------------------


class Overseer(StrictModel):
    """A person assigned to human oversight."""

    id: NonEmpty
    """Person id."""
    trained_at: AwareDatetime
    """When they last completed oversight training."""


Band = tuple[Fraction, Fraction]


class OversightReport(Evidence):
    """A periodic report of human oversight: who, how often they override, stop tests."""

    TIME_FIELD: ClassVar[str] = "period_end"

    kind: Literal["oversight_report"]
    """Always `oversight_report`."""
    period_end: AwareDatetime
    """End of the period reported on."""
    overseers: list[Overseer] = []
    """People assigned to oversight in the period."""
    override_rate: Fraction
    """Share of outputs overridden by an overseer (0 to 1)."""
    override_band: Band
    """Expected override rate, [lo, hi]; below lo suggests automation bias."""
    stop_tested_at: AwareDatetime
    """When the stop (halt) function was last tested."""

    @model_validator(mode="after")
    def _band_ordered(self) -> OversightReport:
        low, high = self.override_band
        if low > high:
            raise ValueError(f"override_band: lo ({low}) is above hi ({high})")
        return self


# --- oncall_schedule --------------------------------------------------------------------


class Shift(StrictModel):
    """One on-call shift."""

    start: AwareDatetime
    """When the shift starts."""
    end: AwareDatetime
    """When the shift ends."""
    person: NonEmpty
    """Who is on call."""
    tier: Literal["primary", "secondary", "ml_expert"]
    """Escalation tier of the shift."""

    @model_validator(mode="after")
    def _ends_after_start(self) -> Shift:
        _ordered(self.start, self.end, "start/end")
        return self


class OncallSchedule(Evidence):
    """A published on-call rota."""

    TIME_FIELD: ClassVar[str] = "created_at"

    kind: Literal["oncall_schedule"]
    """Always `oncall_schedule`."""
    rotation_id: NonEmpty
    """Id of the rota that alerts route to."""
    coverage: Literal["business_hours", "24x7"]
    """Hours the rota covers."""
    shifts: list[Shift] = []
    """The shifts of the rota."""
    ack_sla_min: int = Field(ge=0)
    """Time to acknowledge a page, in minutes."""


# --- incident ---------------------------------------------------------------------------


class TimelineEntry(StrictModel):
    """One entry of an incident timeline."""

    ts: AwareDatetime
    """When it happened."""
    entry: NonEmpty
    """What happened."""


class Incident(Evidence):
    """An incident: severity, owner, timeline and serious-incident screening."""

    TIME_FIELD: ClassVar[str] = "aware_at"

    kind: Literal["incident"]
    """Always `incident`."""
    title: str | None = None
    """One line saying what happened (Assay addition)."""
    severity: Literal["SEV1", "SEV2", "SEV3", "SEV4"]
    """Severity, SEV1 the worst."""
    aware_at: AwareDatetime
    """When the organisation became aware (starts the Art. 73 clock)."""
    paged_at: AwareDatetime
    """When the responder was paged."""
    acked_at: AwareDatetime
    """When the page was acknowledged."""
    resolved_at: AwareDatetime | None = None
    """When the incident was resolved; empty while it is open (Assay: nullable)."""
    owner: NonEmpty
    """Person who owns the incident."""
    timeline: list[TimelineEntry] = []
    """What happened and when."""
    users_affected: bool
    """True when users were affected."""
    user_comms_at: AwareDatetime | None = None
    """When affected users were told."""
    budget_burn_pct: float = Field(ge=0)
    """Share of the error budget the incident burned, in percent."""
    model_quality: bool = False
    """True when the incident is about model quality (wrong or harmful outputs) rather than
    availability; hypercare raises these by one severity (Assay addition)."""
    si_screened_at: AwareDatetime | None = None
    """When the incident was screened for being a serious incident (Art. 3(49))."""
    si_determination: Literal["pending", "no", "serious"]
    """Outcome of the serious-incident screening."""
    si_category: (
        Literal["death", "health", "critical_infrastructure", "fundamental_rights", "property_env"]
        | None
    ) = None
    """Category of a serious incident (Art. 3(49) (a) to (d))."""
    widespread_infringement: bool
    """True for a widespread infringement (Art. 3(61)); shortens the reporting deadline."""


# --- postmortem -------------------------------------------------------------------------


class PostmortemAction(StrictModel):
    """A follow-up action of a postmortem."""

    owner: NonEmpty
    """Who owns the action."""
    priority: Literal["P0", "P1", "P2", "P3"]
    """Priority, P0 the most urgent."""
    due: AwareDatetime
    """When the action is due."""
    closed_at: AwareDatetime | None = None
    """When the action was closed; empty while open."""
    description: str | None = None
    """What the action is (Assay addition)."""


class Postmortem(Evidence):
    """A blameless postmortem of an incident, usually written as a Markdown document."""

    TIME_FIELD: ClassVar[str] = "published_at"

    kind: Literal["postmortem"]
    """Always `postmortem`."""
    incident_id: NonEmpty
    """Id of the incident it analyses."""
    published_at: AwareDatetime
    """When the postmortem was published."""
    blameless: bool
    """Attests the postmortem is blameless."""
    root_causes: list[str] = []
    """Root causes, one sentence each."""
    actions: list[PostmortemAction] = []
    """Follow-up actions with owners and due dates."""


# --- serious_incident_report ------------------------------------------------------------


class SeriousIncidentReport(Evidence):
    """A report of a serious incident to a market-surveillance authority (Art. 73)."""

    TIME_FIELD: ClassVar[str] = "submitted_at"

    kind: Literal["serious_incident_report"]
    """Always `serious_incident_report`."""
    incident_id: NonEmpty
    """Id of the incident reported."""
    authority: NonEmpty
    """The market-surveillance authority it was submitted to."""
    report_type: Literal["initial", "complete"]
    """An initial (possibly incomplete) report, or the complete one."""
    submitted_at: AwareDatetime
    """When it was submitted."""
    reference: str | None = None
    """The authority's case or receipt number (Assay addition)."""


# --- retraining_run ---------------------------------------------------------------------


class EvalRow(StrictModel):
    """One evaluation of a retrained candidate against the champion."""

    metric: NonEmpty
    """Metric name (higher is better)."""
    segment: str | None = None
    """Segment evaluated; empty for the whole population."""
    candidate: float
    """Value of the candidate."""
    champion: float
    """Value of the model in production."""
    margin: float = Field(ge=0)
    """Non-inferiority margin: the candidate passes when candidate >= champion - margin."""


class RetrainingRun(Evidence):
    """A retraining run: what it was trained on, how it was evaluated, whether promoted."""

    TIME_FIELD: ClassVar[str] = "created_at"

    kind: Literal["retraining_run"]
    """Always `retraining_run`."""
    trigger: Literal["schedule", "drift", "incident"]
    """Why the run happened."""
    model_version: str | None = None
    """Version of the candidate model produced (Assay addition)."""
    data_hash: NonEmpty
    """Hash of the training data snapshot."""
    code_commit: NonEmpty
    """Commit of the training code."""
    config_hash: NonEmpty
    """Hash of the training configuration."""
    data_quality_passed: bool
    """True when the data-quality checks passed."""
    poisoning_scan: CheckOutcome
    """Outcome of the data-poisoning scan."""
    eval: list[EvalRow] = []
    """Evaluations against the champion, per metric and segment."""
    in_envelope: bool | None = None
    """True when the change stays within the predetermined-change envelope (Art. 43(4))."""
    independent_reviewer: str | None = None
    """Reviewer independent of the team that trained it."""
    promoted: bool
    """True when the candidate was promoted to production."""
    change_request_id: str | None = None
    """Id of the change_request that promoted it."""


# --- feedback_item ----------------------------------------------------------------------


class FeedbackItem(Evidence):
    """A problem report or appeal from a user."""

    TIME_FIELD: ClassVar[str] = "received_at"

    kind: Literal["feedback_item"]
    """Always `feedback_item`."""
    received_at: AwareDatetime
    """When it was received."""
    safety_flag: bool
    """True when it reports a safety problem."""
    is_appeal: bool
    """True when the user contests an outcome."""
    triaged_at: AwareDatetime | None = None
    """When it was triaged; empty while untriaged (Assay: nullable)."""
    human_reviewer: str | None = None
    """Person who reviewed an appeal."""
    incident_id: str | None = None
    """Id of the incident opened for it."""
    closed_at: AwareDatetime | None = None
    """When it was closed."""


# --- quarterly_review -------------------------------------------------------------------


class ReviewAction(StrictModel):
    """An action decided at a review."""

    owner: NonEmpty
    """Who owns the action."""
    due: AwareDatetime
    """When it is due."""
    description: str | None = None
    """What the action is (Assay addition)."""


class QuarterlyReview(Evidence):
    """A review of the monitoring plan and the owners' decision, usually a Markdown document."""

    TIME_FIELD: ClassVar[str] = "held_at"

    kind: Literal["quarterly_review"]
    """Always `quarterly_review`."""
    review_type: Literal[
        "quarterly", "monthly", "annual", "hypercare_30", "hypercare_60", "hypercare_exit"
    ]
    """Which review this is."""
    held_at: AwareDatetime
    """When the review was held."""
    sections: dict[str, str] = {}
    """URI of each section reviewed, by section name."""
    pmm_plan_ref: str | None = None
    """URI of the post-market monitoring plan reviewed (Assay addition)."""
    pmm_coverage: Fraction
    """Share of the monitoring plan executed (0 to 1)."""
    risk_register_updated: bool = False
    """True when the risk register was updated."""
    decision: Literal["continue", "modify", "restrict", "retire"]
    """The owners' decision."""
    exit_criteria: dict[str, bool] = {}
    """For hypercare reviews: whether each exit criterion holds, by criterion."""
    actions: list[ReviewAction] = []
    """Actions decided, each with an owner and a due date."""
    signed_off_by: NonEmpty
    """The owner who signed the review off."""


# --- budget_record ----------------------------------------------------------------------


class BudgetLine(StrictModel):
    """One line of the operating budget."""

    category: NonEmpty
    """Category, e.g. compute, observability, oncall, labelling, retraining,
    legal_reporting, audit."""
    amount: float = Field(ge=0)
    """Amount budgeted for the period."""


class BudgetRecord(Evidence):
    """The approved operating budget for a period."""

    TIME_FIELD: ClassVar[str] = "period_start"

    kind: Literal["budget_record"]
    """Always `budget_record`."""
    approved_by: NonEmpty
    """Who approved the budget."""
    period_start: AwareDatetime
    """Start of the funded period."""
    period_end: AwareDatetime
    """End of the funded period."""
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    """ISO 4217 code of the amounts, e.g. EUR (Assay addition)."""
    lines: list[BudgetLine] = []
    """Budget lines."""
    variance_pct: float
    """Spend above (+) or below (-) the budget so far, in percent."""
    variance_note: str | None = None
    """Explanation of a variance beyond tolerance."""
    runway_months: float = Field(ge=0)
    """Months of operation the remaining budget funds."""

    @model_validator(mode="after")
    def _ends_after_start(self) -> BudgetRecord:
        _ordered(self.period_start, self.period_end, "period_start/period_end")
        return self


# --- registry ---------------------------------------------------------------------------


def _kind_of(model: type[Evidence]) -> str:
    (kind,) = get_args(model.model_fields["kind"].annotation)
    return str(kind)


_MODELS: tuple[type[Evidence], ...] = (
    BudgetRecord,
    CanaryReport,
    ChangeRequest,
    DeployRecord,
    DrillRecord,
    DriftLog,
    FeedbackItem,
    Incident,
    LogAudit,
    ModelCard,
    ObservabilityConfig,
    OncallSchedule,
    OversightReport,
    Postmortem,
    QuarterlyReview,
    RetrainingRun,
    SeriousIncidentReport,
)

EVIDENCE_KINDS: dict[str, type[Evidence]] = {
    _kind_of(model): model for model in sorted(_MODELS, key=_kind_of)
}
"""Every evidence kind and its model, sorted by kind."""


def evidence_model(kind: str) -> type[Evidence]:
    """The model of an evidence kind; raises KeyError for an unknown kind."""
    try:
        return EVIDENCE_KINDS[kind]
    except KeyError:
        known = ", ".join(EVIDENCE_KINDS)
        raise KeyError(f"unknown evidence kind {kind!r}; known kinds: {known}") from None
