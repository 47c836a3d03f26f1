"""Generate a synthetic fleet: a complete Assay project with realistic evidence volumes.

    python benchmarks/generate_fleet.py --out benchmarks/data/fleet

writes ``assay.yaml`` (pointing at the repository's bundled ``policies/``), one workflow
file per workflow under ``workflows/`` and, per workflow, evidence under
``evidence/<workflow>/``: drift logs as JSON Lines (the volume), deploys with their change
requests and canary reports, incidents with postmortems (SEV1 postmortems as Markdown
documents), feedback, reviews (the latest as a Markdown document), retraining runs, drills,
log audits, oversight reports, budgets, on-call schedules, observability configs and model
cards (the current card as YAML).

The data is mostly compliant. About a fifth of the workflows are "troubled": each gets one
or two realistic failures (a canary cut short, a SEV1 without a postmortem, an untriaged
drift breach, a stale review, ...), so that the gate has something to find.

Output is deterministic: a seeded random generator and a fixed ``--as-of`` instant, never
the wall clock. Re-running with the same arguments writes byte-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fleet_common import DEFAULT_AS_OF, REPO_ROOT, iso, parse_instant  # noqa: E402

Record = dict[str, Any]

MIN = 60
HOUR = 3600
DAY = 86400

# --- the risk classes, with values that meet the reference catalog (hypercare included) -----------


@dataclass(frozen=True)
class ClassSpec:
    """What a compliant workflow of one class looks like (the strictest of class and HC)."""

    code: str
    eu_class: str
    weight: float
    canary_hours: float
    canary_traffic_pct: float
    canary_samples: int
    ack_sla_min: int
    rto_min: float
    review_every_days: int
    review_type: str
    coverage: str
    tiers: tuple[str, ...]
    signals: tuple[str, ...]
    use_cases: tuple[str, ...]


_SIGNALS_A = ("availability", "errors", "latency")
_SIGNALS_B = (
    *_SIGNALS_A,
    "output_distribution",
    "schema_violations",
    "abuse_detection",
    "cost",
    "dependency_versions",
)
_SIGNALS_C = (*_SIGNALS_B, "labelled_quality", "override_rate", "segment_quality")
_SIGNALS_D = (*_SIGNALS_C, "safety")

CLASSES: dict[str, ClassSpec] = {
    "minimal": ClassSpec(
        code="C1",
        eu_class="minimal",
        weight=0.20,
        canary_hours=2.5,
        canary_traffic_pct=10.0,
        canary_samples=2_000,
        ack_sla_min=480,
        rto_min=60,
        review_every_days=85,
        review_type="quarterly",
        coverage="business_hours",
        tiers=("primary",),
        signals=_SIGNALS_A,
        use_cases=(
            "spam-filter",
            "search-ranking",
            "image-tagging",
            "log-anomaly",
            "code-suggest",
            "doc-summarise",
        ),
    ),
    "limited": ClassSpec(
        code="C2",
        eu_class="limited",
        weight=0.30,
        canary_hours=3.0,
        canary_traffic_pct=5.0,
        canary_samples=3_000,
        ack_sla_min=30,
        rto_min=30,
        review_every_days=85,
        review_type="quarterly",
        coverage="24x7",
        tiers=("primary", "secondary"),
        signals=_SIGNALS_B,
        use_cases=(
            "support-chatbot",
            "content-generator",
            "voice-assistant",
            "email-drafter",
            "translation",
            "faq-bot",
        ),
    ),
    "high": ClassSpec(
        code="C3",
        eu_class="high",
        weight=0.35,
        canary_hours=50.0,
        canary_traffic_pct=2.5,
        canary_samples=12_000,
        ack_sla_min=15,
        rto_min=20,
        review_every_days=85,
        review_type="quarterly",
        coverage="24x7",
        tiers=("primary", "secondary"),
        signals=_SIGNALS_C,
        use_cases=(
            "credit-scoring",
            "cv-screening",
            "exam-proctoring",
            "insurance-pricing",
            "benefits-eligibility",
            "tenant-screening",
        ),
    ),
    "critical": ClassSpec(
        code="C4",
        eu_class="high",
        weight=0.15,
        canary_hours=146.0,
        canary_traffic_pct=1.0,
        canary_samples=25_000,
        ack_sla_min=5,
        rto_min=8,
        review_every_days=28,
        review_type="monthly",
        coverage="24x7",
        tiers=("primary", "secondary", "ml_expert"),
        signals=_SIGNALS_D,
        use_cases=(
            "grid-load-forecast",
            "water-treatment-control",
            "triage-assistant",
            "medication-dosing",
            "rail-signalling",
        ),
    ),
}

HYPERCARE_DAYS = 90
EXIT_REVIEW_DAY = 91
EXIT_CRITERIA = (
    "no_open_sev1_sev2",
    "no_unresolved_drift_breach_14d",
    "budget_above_floor",
    "p0_actions_closed",
    "page_load_within_limit",
)

# Modes a C1 workflow's policies cannot see (no canary, business-hours on-call, weekly drift).
_NOT_AT_C1 = {"canary_short", "canary_failed", "oncall_gap", "drift_gap", "review_stale"}

FAILURE_MODES = (
    "canary_short",
    "canary_failed",
    "cr_self_approved",
    "drift_untriaged",
    "drift_gap",
    "sev1_no_postmortem",
    "postmortem_late",
    "ack_slow",
    "review_stale",
    "signal_missing",
    "telemetry_stale",
    "feedback_untriaged",
    "drill_failed",
    "oncall_gap",
)

_FIRST = (
    "ada alan amara ana ben carla chen dana emil eva farah gil hana ivan jia kai lea "
    "leo mara mei nia noah omar pia raj rosa sam sara tara theo uma vera wen yara zoe"
).split()
_LAST = (
    "adams baker costa diaz evans fischer garcia haas ito jensen kim lopez moreau "
    "novak okafor patel quinn rossi sato tanaka urban varga weber xu young zhang"
).split()
_TEAMS = (
    "risk-ml payments-ml growth-ml trust-safety support-ai platform-ml health-ai "
    "energy-ml search-ml people-analytics"
).split()
_FEATURES = (
    "income age tenure region device amount basket_size session_length "
    "query_length language channel"
).split()
_SEGMENTS = ("region=eu", "region=us", "region=apac", "new_users", "returning_users")


def hypercare_end(launch_ts: int, as_of: int) -> int:
    """When hypercare ends, as Assay computes it: 90 days from the launch date, extended by
    30 days at a time until a passing exit review held on or after the nominal end.

    The generator holds that review on day 91, so hypercare ends on day 120.
    """
    nominal = (launch_ts // DAY) * DAY + HYPERCARE_DAYS * DAY
    exit_at = launch_ts + EXIT_REVIEW_DAY * DAY
    step = 30 * DAY
    if exit_at <= as_of:
        return nominal + -(-(exit_at - nominal) // step) * step
    if as_of < nominal:
        return nominal
    return nominal + ((as_of - nominal) // step + 1) * step


# --- plumbing ---------------------------------------------------------------------------


def split_total(total: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder),
    each at least ``minimum`` when the total allows it."""
    n = len(weights)
    if n == 0:
        return []
    floor = min(minimum, total // n)
    rest = total - floor * n
    scale = sum(weights) or 1.0
    shares = [rest * w / scale for w in weights]
    counts = [int(s) for s in shares]
    order = sorted(range(n), key=lambda i: (-(shares[i] - counts[i]), i))
    for i in order[: rest - sum(counts)]:
        counts[i] += 1
    return [c + floor for c in counts]


def seal(record: Record) -> Record:
    """Set the envelope's ``sha256``: the digest of the record as its system stores it."""
    record.pop("sha256", None)
    record["sha256"] = hashlib.sha256(orjson.dumps(record)).hexdigest()
    return record


def envelope(
    kind: str, rid: str, workflow: str, created: float, by: str, uri: str, **fields: Any
) -> Record:
    """A record with the common envelope (``sha256`` is set by :func:`seal`)."""
    record: Record = {
        "id": rid,
        "kind": kind,
        "workflow": workflow,
        "created_at": iso(created),
        "recorded_by": by,
        "source_uri": uri,
    }
    record.update(fields)
    return seal(record)


class _NoAliasDumper(yaml.SafeDumper):
    """Assay refuses YAML anchors and aliases, so never emit them."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(value: Any) -> str:
    text: str = yaml.dump(
        value, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=100
    )
    return text


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_jsonl(path: Path, records: Iterable[Record]) -> int:
    lines = [orjson.dumps(r) for r in records]
    if lines:
        write_bytes(path, b"\n".join(lines) + b"\n")
    return len(lines)


def write_json(path: Path, records: list[Record]) -> int:
    if records:
        write_bytes(path, orjson.dumps(records, option=orjson.OPT_INDENT_2) + b"\n")
    return len(records)


def write_markdown(path: Path, record: Record, body: str) -> int:
    front = dump_yaml(record)
    write_bytes(path, f"---\n{front}---\n{body.rstrip()}\n".encode())
    return 1


# --- the fleet plan ---------------------------------------------------------------------


@dataclass
class Plan:
    """One workflow of the fleet and how much evidence it gets."""

    id: str
    name: str
    use_case: str
    risk_class: str
    spec: ClassSpec
    owner: str
    team: str
    people: list[str]
    launch_ts: int
    launched: str
    eu_scope: bool
    role: str
    deploys: int = 0
    incidents: int = 0
    drift: int = 0
    feedback: int = 0
    failures: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class DriftSeries:
    """One drift metric (or one segment's evaluation) checked at a fixed period."""

    metric: str
    segment: str | None
    threshold: float
    base: float
    up: bool
    """True when a breach is the value going above the threshold (PSI), else below."""
    period: int
    count: int


@dataclass
class Args:
    out: Path
    workflows: int
    drift_records: int
    deploys: int
    incidents: int
    feedback: int
    seed: int
    as_of: str
    policies: Path
    troubled_share: float


def plan_fleet(args: Args, rng: random.Random, as_of: int) -> list[Plan]:
    people = sorted({f"{f}.{last}" for f in _FIRST for last in _LAST})
    classes = list(CLASSES)
    per_class = split_total(args.workflows, [CLASSES[c].weight for c in classes])
    plans: list[Plan] = []
    index = 0
    for cls, count in zip(classes, per_class, strict=True):
        spec = CLASSES[cls]
        for n in range(count):
            index += 1
            use_case = spec.use_cases[n % len(spec.use_cases)]
            wid = f"{use_case}-{index:03d}"
            # A quarter of the fleet launched less than 90 days ago: in hypercare.
            days_ago = rng.randint(30, 89) if rng.random() < 0.25 else rng.randint(90, 365)
            launch_day = (as_of // DAY - days_ago) * DAY
            team = rng.choice(_TEAMS)
            crew = rng.sample(people, 7)
            plans.append(
                Plan(
                    id=wid,
                    name=f"{use_case.replace('-', ' ').capitalize()} #{index}",
                    use_case=use_case,
                    risk_class=cls,
                    spec=spec,
                    owner=crew[0],
                    team=team,
                    people=crew[1:],
                    launch_ts=launch_day + 10 * HOUR,
                    launched=iso(launch_day)[:10],
                    eu_scope=rng.random() < 0.7,
                    role="provider" if rng.random() < 0.6 else "deployer",
                )
            )
    lifetimes = [max(1.0, (as_of - p.launch_ts) / DAY) for p in plans]
    for p, d in zip(plans, split_total(args.deploys, lifetimes, minimum=3), strict=True):
        p.deploys = d
    for p, i in zip(plans, split_total(args.incidents, lifetimes, minimum=1), strict=True):
        p.incidents = i
    for p, f in zip(plans, split_total(args.feedback, lifetimes), strict=True):
        p.feedback = f
    troubled = rng.sample(range(len(plans)), round(len(plans) * args.troubled_share))
    for i in sorted(troubled):
        p = plans[i]
        level = int(p.spec.code[1])
        options = [m for m in FAILURE_MODES if level > 1 or m not in _NOT_AT_C1]
        if level == 2 and as_of >= hypercare_end(p.launch_ts, as_of):
            options.remove("oncall_gap")  # business-hours cover is enough at C2 after hypercare
        plans[i].failures.update(rng.sample(options, rng.choice((1, 1, 2))))
    # Drift volume follows the cadence the policies demand: 15-minute runs for high and
    # critical workflows in hypercare, one 15-minute critical feature at critical.
    weights = []
    for p in plans:
        hypercare = as_of < hypercare_end(p.launch_ts, as_of)
        level = int(p.spec.code[1])
        weights.append(3.5 if hypercare and level >= 3 else 2.0 if level == 4 else 1.0)
    for p, r in zip(plans, split_total(args.drift_records, weights), strict=True):
        p.drift = r
    return plans


# --- one workflow's evidence ------------------------------------------------------------


class WorkflowGen:
    """Builds every evidence record of one workflow."""

    def __init__(self, plan: Plan, as_of: int, rng: random.Random):
        self.p = plan
        self.wf = plan.id
        self.as_of = as_of
        self.rng = rng
        self.spec = plan.spec
        self.level = int(plan.spec.code[1])
        self.hypercare = as_of < hypercare_end(plan.launch_ts, as_of)
        self.rotation = f"{plan.id}-oncall"
        self.features = rng.sample(_FEATURES, 8)
        # Critical workflows name one feature whose drift is checked every 15 minutes.
        self.critical_features = [f"psi_{self.features[0]}"] if self.level == 4 else []
        self.decides_about_people = self.level == 2 and plan.role == "deployer"
        self.deps = {
            "feature-store-client": f"4.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
            "serving-runtime": f"2.{rng.randint(10, 40)}.0",
        }
        if plan.risk_class in ("limited", "critical"):
            self.deps["vendor-llm"] = f"2026-0{rng.randint(1, 9)}-01"
        # Filled as the generation goes.
        self.versions: list[tuple[str, int]] = []  # (model_version, first deploy start)
        self.cr_ids: list[str] = []
        self.incident_ids: list[tuple[str, int]] = []
        self.initial_reports: list[int] = []  # submission times of initial Art. 73 reports
        self.feedback_seq = 0
        self.run_seq = 0

    def failing(self, mode: str) -> bool:
        return mode in self.p.failures

    def uri(self, system: str, rid: str) -> str:
        return f"https://{system}.example.com/{self.wf}/{rid}"

    def person(self, exclude: Iterable[str] = ()) -> str:
        banned = set(exclude)
        return self.rng.choice([x for x in self.p.people if x not in banned])

    # -- model cards, change requests, deploys, canaries, retraining ------------------
    def releases(self) -> dict[str, list[Record]]:
        rng, p, spec = self.rng, self.p, self.spec
        # Leave room for the longest canary to finish before the as-of time.
        start = p.launch_ts
        end = self.as_of - DAY - int(spec.canary_hours * 1.3 * HOUR) - 2 * HOUR
        times = sorted(rng.randint(start + 2 * HOUR, end) for _ in range(p.deploys - 1))
        times = [start, *times]
        recent = [k for k, t in enumerate(times) if t > self.as_of - 60 * DAY]
        bad_deploy = recent[-1] if recent else len(times) - 1
        cards: list[Record] = []
        crs: list[Record] = []
        deploys: list[Record] = []
        canaries: list[Record] = []
        runs: list[Record] = []
        major, minor = rng.randint(1, 3), 0
        version = f"{major}.{minor}.0"
        for k, t in enumerate(times):
            new_version = k == 0 or rng.random() < 0.12
            if new_version and k > 0:
                minor += 1
                version = f"{major}.{minor}.0"
            if new_version:
                previous = self.versions[-1][0] if self.versions else f"{major}.0.0-rc"
                self.versions.append((version, t))
                cards.append(
                    self._card(
                        version, previous, t - 3 * DAY, t - 2 * DAY, f"{self.wf}-CARD-{version}"
                    )
                )
            cr_id = f"{self.wf}-CR-{k + 1:05d}"
            dep_id = f"{self.wf}-DEP-{k + 1:05d}"
            # A new model version never ships as an emergency (retraining must deploy normally).
            emergency = k > 0 and not new_version and rng.random() < 0.02
            author = self.person()
            approvers = [x for x in self.p.people if x != author]
            chosen = rng.sample(approvers, 2)
            approving = [*chosen, p.owner]
            if self.failing("cr_self_approved") and k == bad_deploy:
                approving = [author]  # rushed through: the author approved their own change
            # Emergency changes are approved after the fact, before the change record is filed.
            approve_base = t + 2 * HOUR if emergency else t - 2 * DAY
            approvals = [
                {"id": who, "approved_at": iso(approve_base + i * 40 * MIN)}
                for i, who in enumerate(approving)
            ]
            change_type = (
                "model" if new_version else rng.choice(("prompt", "config", "data", "infra"))
            )
            substantial = change_type == "model" and self.level >= 3 and rng.random() < 0.05
            cr_fields: Record = {
                "title": f"{'Ship model ' + version if new_version else change_type + ' change'}",
                "change_type": change_type,
                "author": author,
                "eval_passed": True,
                "rollback_plan_ref": f"https://runbooks.example.com/{self.wf}/rollback",
                "approvers": approvals,
                "emergency": emergency,
                # Only a change made while a serious incident is being investigated can alter
                # what the authority analyses (Art. 73(6)); it is approved after the report.
                "alters_system": change_type in ("model", "data")
                and any(0 <= approve_base - sub <= 60 * DAY for sub in self.initial_reports),
                "substantial_mod_assessed": True,
                "substantial_mod": substantial,
            }
            if substantial:
                cr_fields["conformity_ref"] = f"https://qms.example.com/{self.wf}/ca-{k + 1}"
            created = t + 6 * HOUR if emergency else t - 3 * DAY
            crs.append(
                envelope(
                    "change_request",
                    cr_id,
                    self.wf,
                    created,
                    author,
                    self.uri("changes", cr_id),
                    **cr_fields,
                )
            )
            self.cr_ids.append(cr_id)
            hours = spec.canary_hours * rng.uniform(1.0, 1.3)
            if self.failing("canary_short") and k == bad_deploy:
                hours = spec.canary_hours / 4
            canary_end = t + int(hours * HOUR)
            promoted = canary_end + rng.randint(10, 90) * MIN
            verdict = "pass"
            if self.failing("canary_failed") and k == bad_deploy:
                verdict = "fail"
            canaries.append(
                envelope(
                    "canary_report",
                    f"{self.wf}-CAN-{k + 1:05d}",
                    self.wf,
                    canary_end + 5 * MIN,
                    "canary-analyzer",
                    self.uri("canary", f"CAN-{k + 1:05d}"),
                    deploy_id=dep_id,
                    started_at=iso(t),
                    ended_at=iso(canary_end),
                    max_traffic_pct=spec.canary_traffic_pct,
                    sample_size=int(spec.canary_samples * rng.uniform(1.05, 1.6)),
                    metrics=self._canary_metrics(verdict == "pass"),
                    verdict=verdict,
                    signed_off_by=self.person(exclude=[author]),
                )
            )
            deploys.append(
                envelope(
                    "deploy_record",
                    dep_id,
                    self.wf,
                    t,
                    "deploy-bot",
                    self.uri("deploys", dep_id),
                    change_request_id=cr_id,
                    model_version=version,
                    environment="prod",
                    started_at=iso(t),
                    promoted_at=iso(promoted),
                    is_launch=k == 0,
                    error_budget_remaining_pct=round(rng.uniform(35, 98), 1),
                    disclosure_check="pass" if self.level >= 2 else "n/a",
                    emergency=emergency,
                )
            )
            if new_version and k > 0 and self.level >= 2:
                runs.append(self._retraining(version, t, cr_id, author, promoted=True))
        # A few candidates that were evaluated and not promoted.
        for _ in range(rng.randint(1, 3) if self.level >= 2 else 0):
            t = rng.randint(p.launch_ts + DAY, self.as_of - 2 * DAY)
            runs.append(
                self._retraining(f"{major}.{minor}.{rng.randint(1, 9)}-cand", t + 6 * DAY, None, "")
            )
        return {
            "model_card": cards,
            "change_request": crs,
            "deploy_record": deploys,
            "canary_report": canaries,
            "retraining_run": sorted(runs, key=lambda r: (r["created_at"], r["id"])),
        }

    def _canary_metrics(self, ok: bool) -> list[Record]:
        rng = self.rng
        control = round(rng.uniform(0.002, 0.01), 4)
        canary = round(control * (rng.uniform(0.9, 1.1) if ok else 3.5), 4)
        lat = rng.randint(80, 400)
        return [
            {"name": "error_rate", "canary": canary, "control": control, "threshold": 0.005},
            {
                "name": "latency_p95_ms",
                "canary": float(lat + rng.randint(-10, 15)),
                "control": float(lat),
                "threshold": 50.0,
            },
        ]

    def _card(self, version: str, previous: str, reviewed: int, approved: int, rid: str) -> Record:
        rng, p, spec = self.rng, self.p, self.spec
        transparency: dict[str, bool] = {}
        if self.level >= 2:
            transparency = {
                "art50_1": True,
                "art50_2": p.use_case in ("content-generator", "email-drafter"),
                "art50_3": False,
                "art50_4": False,
            }
        if self.level >= 3:
            transparency["art13" if p.role == "provider" else "art26_11"] = True
        return envelope(
            "model_card",
            rid,
            self.wf,
            reviewed,
            p.owner,
            self.uri("modelcards", rid),
            model_version=version,
            risk_class=spec.code,
            eu_class=spec.eu_class,
            eu_scope=p.eu_scope,
            role=p.role,
            intended_purpose=f"{p.use_case.replace('-', ' ')} for {p.team}",
            art5_screen="clear",
            reviewed_at=iso(reviewed),
            declared_metrics={
                "accuracy": round(rng.uniform(0.88, 0.96), 3),
                "auc": round(rng.uniform(0.85, 0.97), 3),
            },
            limitations="Not evaluated on traffic outside the declared regions; "
            "degrades on inputs longer than 4k tokens.",
            predetermined_changes="Retraining on fresh data with the same features and "
            "architecture, within the declared metric margins.",
            dependencies=[{"name": n, "pinned_version": v} for n, v in sorted(self.deps.items())],
            transparency=transparency,
            pmm_plan_ref=f"https://qms.example.com/{self.wf}/pmm-plan",
            previous_good_version=previous,
            approved_at=iso(approved),
        )

    def _retraining(
        self, version: str, deploy_t: int, cr_id: str | None, author: str, **kw: bool
    ) -> Record:
        rng = self.rng
        t = deploy_t - 6 * DAY
        self.run_seq += 1
        rid = f"{self.wf}-RT-{self.run_seq:04d}"
        evals = []
        segments: list[str | None] = [None]
        if self.level >= 3:
            segments += list(_SEGMENTS[:3])
        for metric in ("accuracy", "auc"):
            for seg in segments:
                champion = round(rng.uniform(0.86, 0.95), 4)
                row: Record = {
                    "metric": metric,
                    "candidate": round(champion + rng.uniform(-0.004, 0.01), 4),
                    "champion": champion,
                    "margin": 0.01,
                }
                if seg:
                    row["segment"] = seg
                evals.append(row)
        trigger = rng.choice(("schedule", "schedule", "drift"))
        if self.level == 4 and self.hypercare:
            trigger = "incident"  # critical workflows in hypercare retrain for incident fixes only
        fields: Record = {
            "trigger": trigger,
            "model_version": version,
            "data_hash": "sha256:" + hashlib.sha256(f"{rid}/data".encode()).hexdigest(),
            "code_commit": hashlib.sha1(f"{rid}/code".encode()).hexdigest(),  # noqa: S324
            "config_hash": "sha256:" + hashlib.sha256(f"{rid}/cfg".encode()).hexdigest(),
            "data_quality_passed": True,
            "poisoning_scan": "pass",
            "eval": evals,
            "in_envelope": True,
            "promoted": bool(kw.get("promoted", False)),
        }
        if self.level >= 3:
            fields["independent_reviewer"] = self.person(exclude=[author])
        if cr_id is not None:
            fields["change_request_id"] = cr_id
        return envelope(
            "retraining_run",
            rid,
            self.wf,
            t,
            "training-pipeline",
            self.uri("training", rid),
            **fields,
        )

    # -- incidents, postmortems, serious-incident reports, safety feedback ------------
    def incidents(self) -> tuple[dict[str, list[Record]], list[tuple[Record, str]], list[Record]]:
        rng, p, spec = self.rng, self.p, self.spec
        incidents: list[Record] = []
        postmortems: list[Record] = []
        documents: list[tuple[Record, str]] = []
        reports: list[Record] = []
        safety: list[Record] = []
        lo, hi = p.launch_ts + DAY, self.as_of - 4 * DAY
        times = sorted(rng.randint(lo, hi) for _ in range(p.incidents))
        # The latest incident is a SEV1 for the workflows whose failure is about postmortems.
        # For the postmortem failures: the latest incident old enough for its postmortem to
        # be overdue (25 days), within the policies' 90-day window, becomes a SEV1.
        forced_sev1 = -1
        if self.failing("sev1_no_postmortem") or self.failing("postmortem_late"):
            old = [k for k, t in enumerate(times) if t <= self.as_of - 25 * DAY]
            forced_sev1 = old[-1] if old else len(times) - 1
        for k, aware in enumerate(times):
            iid = f"{self.wf}-INC-{k + 1:04d}"
            roll = rng.random()
            severity = (
                "SEV1"
                if roll < 0.05
                else "SEV2"
                if roll < 0.2
                else "SEV3"
                if roll < 0.6
                else "SEV4"
            )
            if k == forced_sev1:
                severity = "SEV1"
            paged = aware + rng.randint(30, 180)
            ack_delay = rng.randint(30, max(60, min(spec.ack_sla_min, 4) * MIN))
            if self.failing("ack_slow") and k == len(times) - 1:
                # A page nobody picked up: three times the SLA, or four days at C1.
                ack_delay = 4 * DAY if self.level == 1 else spec.ack_sla_min * MIN * 3
            acked = paged + ack_delay
            resolved = acked + rng.randint(30 * MIN, 6 * HOUR)
            serious = self.level >= 3 and p.eu_scope and severity == "SEV1" and rng.random() < 0.25
            users = severity in ("SEV1", "SEV2") and rng.random() < 0.5
            owner = self.person()
            fields: Record = {
                "title": rng.choice(
                    (
                        "Elevated error rate after config push",
                        "Latency regression in feature lookup",
                        "Model scores skewed for one segment",
                        "Upstream vendor API timeouts",
                        "Schema violations from a new client",
                        "Drift alert on a key feature",
                    )
                ),
                "severity": severity,
                "aware_at": iso(aware),
                "paged_at": iso(paged),
                "acked_at": iso(acked),
                "resolved_at": iso(resolved),
                "owner": owner,
                "timeline": [
                    {"ts": iso(paged), "entry": "Alert fired; primary paged"},
                    {"ts": iso(acked), "entry": f"Acknowledged by {owner}"},
                    {"ts": iso(acked + 20 * MIN), "entry": "Mitigation: traffic shifted"},
                    {"ts": iso(resolved), "entry": "Resolved; monitoring"},
                ],
                "users_affected": users,
                "budget_burn_pct": round(
                    rng.uniform(4, 18) if severity == "SEV1" else rng.uniform(0.1, 5), 2
                ),
                "model_quality": rng.random() < 0.2,
                "si_screened_at": iso(aware + rng.randint(1, 8) * HOUR),
                "si_determination": "serious" if serious else "no",
                "widespread_infringement": False,
            }
            if users:
                fields["user_comms_at"] = iso(aware + rng.randint(15, 60) * MIN)
            if serious:
                fields["si_category"] = "health" if self.level == 4 else "fundamental_rights"
            incidents.append(
                envelope(
                    "incident",
                    iid,
                    self.wf,
                    aware,
                    "incident-bot",
                    self.uri("incidents", iid),
                    **fields,
                )
            )
            self.incident_ids.append((iid, aware))
            if fields["model_quality"] and rng.random() < 0.5:
                safety.append(self._feedback(aware - 20 * MIN, safety_incident=iid))
            if serious:
                self.initial_reports.append(aware + DAY)
                for j, (kind, delay) in enumerate((("initial", 1 * DAY), ("complete", 9 * DAY))):
                    rid = f"{self.wf}-SIR-{k + 1:04d}-{j + 1}"
                    reports.append(
                        envelope(
                            "serious_incident_report",
                            rid,
                            self.wf,
                            aware + delay,
                            owner,
                            self.uri("regulatory", rid),
                            incident_id=iid,
                            authority="Market surveillance authority (NL)",
                            report_type=kind,
                            submitted_at=iso(aware + delay),
                            reference=f"MSA-2026-{rng.randint(1000, 9999)}",
                        )
                    )
            if k == forced_sev1 and self.failing("sev1_no_postmortem"):
                continue
            delay = rng.randint(4, 26) * HOUR
            if k == forced_sev1 and self.failing("postmortem_late"):
                delay = 15 * DAY
            published = resolved + delay
            pm_id = f"{self.wf}-PM-{k + 1:04d}"
            actions = []
            for a in range(rng.randint(1, 3)):
                due = published + rng.randint(7, 30) * DAY
                action: Record = {
                    "owner": self.person(),
                    "priority": rng.choice(("P0", "P1", "P2", "P2", "P3")),
                    "due": iso(due),
                    "description": ("Add an alert", "Pin the dependency", "Add a regression test")[
                        a
                    ],
                }
                if due < self.as_of:
                    action["closed_at"] = iso(due - rng.randint(1, 5) * DAY)
                actions.append(action)
            pm = envelope(
                "postmortem",
                pm_id,
                self.wf,
                published,
                owner,
                self.uri("wiki", pm_id),
                incident_id=iid,
                published_at=iso(published),
                blameless=True,
                root_causes=[
                    rng.choice(
                        (
                            "A config change skipped the canary stage",
                            "A feature pipeline silently dropped a column",
                            "The vendor changed rate limits without notice",
                            "An alert threshold was too loose to fire",
                        )
                    )
                ],
                actions=actions,
            )
            if severity == "SEV1":
                body = (
                    f"# Postmortem: {fields['title']}\n\n## Summary\n\n{severity} on {self.wf}, "
                    f"resolved after {(resolved - aware) // MIN} minutes.\n\n## What went well\n\n"
                    "Paging worked and the rollback was quick.\n\n## What went wrong\n\n"
                    f"{pm['root_causes'][0]}.\n"
                )
                documents.append((pm, body))
            else:
                postmortems.append(pm)
        return (
            {
                "incident": incidents,
                "postmortem": postmortems,
                "serious_incident_report": reports,
            },
            documents,
            safety,
        )

    # -- feedback ---------------------------------------------------------------------
    def _feedback(self, received: int, safety_incident: str | None = None) -> Record:
        rng = self.rng
        self.feedback_seq += 1
        rid = f"{self.wf}-FB-{self.feedback_seq:05d}"
        appeal = safety_incident is None and rng.random() < 0.1
        triaged = received + rng.randint(5, 90) * MIN
        fields: Record = {
            "received_at": iso(received),
            "safety_flag": safety_incident is not None,
            "is_appeal": appeal,
            "triaged_at": iso(triaged),
        }
        if appeal:
            fields["human_reviewer"] = self.person()
        if safety_incident is not None:
            fields["incident_id"] = safety_incident
        closed = received + rng.randint(2 * HOUR, 12 * DAY)
        if closed < self.as_of:
            fields["closed_at"] = iso(closed)
        return envelope(
            "feedback_item",
            rid,
            self.wf,
            received,
            "feedback-widget",
            self.uri("feedback", rid),
            **fields,
        )

    def feedback(self, safety: list[Record]) -> list[Record]:
        rng = self.rng
        n = max(0, self.p.feedback - len(safety))
        items = [
            self._feedback(rng.randint(self.p.launch_ts, self.as_of - 3 * HOUR)) for _ in range(n)
        ]
        if self.failing("feedback_untriaged") and items:
            # An item from about three weeks ago that nobody triaged (its SLA has passed).
            target = self.as_of - 20 * DAY
            lost = min(items, key=lambda r: abs(parse_instant(r["received_at"]) - target))
            del lost["triaged_at"]
            lost.pop("closed_at", None)
            seal(lost)
        return sorted([*items, *safety], key=lambda r: (r["received_at"], r["id"]))

    # -- drift ------------------------------------------------------------------------
    def drift(self) -> list[Record]:
        """Drift runs per metric (hourly; every 15 minutes where the class demands it) and
        daily per-segment evaluations, newest at the as-of time, going back as far as this
        workflow's share of the volume reaches (at least the policies' 30-day window)."""
        rng, p = self.rng, self.p
        fast = self.level >= 3 and self.hypercare
        period = 15 * MIN if fast else HOUR
        budget = p.drift
        series: list[DriftSeries] = []
        # Daily per-segment evaluation of accuracy over the 90-day window.
        days = min(95, (self.as_of - p.launch_ts) // DAY + 2)
        for seg in _SEGMENTS[:3]:
            n = min(days, budget)
            series.append(
                DriftSeries("accuracy", seg, 0.85, rng.uniform(0.88, 0.94), False, DAY, n)
            )
            budget -= n
        features = self.features
        need = (31 * DAY) // (15 * MIN) + 8
        if self.level == 4:
            # One critical feature checked every 15 minutes (metadata.critical_features).
            n = min(need, budget)
            series.append(DriftSeries(f"psi_{features[0]}", None, 0.2, 0.05, True, 15 * MIN, n))
            budget -= n
        need = (31 * DAY) // period + 8
        k = max(1, min(7, budget // need))
        names = ["accuracy"] + [f"psi_{f}" for f in features[1:]]
        for i, n in enumerate(split_total(max(0, budget), [1.0] * k)):
            up = names[i] != "accuracy"
            base = rng.uniform(0.02, 0.08) if up else rng.uniform(0.88, 0.94)
            series.append(DriftSeries(names[i], None, 0.2 if up else 0.85, base, up, period, n))
        main = len(series) - k  # the first per-metric series
        gap = range(0, 0)
        if self.failing("drift_gap"):
            start = rng.randint(4 * DAY, 20 * DAY) // period
            gap = range(start, start + (3 * DAY) // period)
        untriaged = (
            rng.randint(8 * DAY, 20 * DAY) // period if self.failing("drift_untriaged") else -1
        )
        refs = [i for i, _ in self.incident_ids] or self.cr_ids or ["unknown"]
        rows: list[tuple[int, str, str, Record]] = []
        for s_index, spec in enumerate(series):
            anchor = (self.as_of // spec.period) * spec.period - (s_index * 37) % spec.period
            j = made = 0
            while made < spec.count:
                skip = s_index == main and j in gap
                if not skip:
                    ts = anchor - j * spec.period
                    forced = s_index == main and j == untriaged
                    breach = forced or rng.random() < 0.0008
                    if breach:
                        value = spec.threshold + (0.03 if spec.up else -0.03)
                    else:
                        value = spec.base + rng.gauss(0, 0.01)
                        value = (
                            min(value, spec.threshold - 0.001)
                            if spec.up
                            else max(value, spec.threshold + 0.001)
                        )
                    record: Record = {
                        "kind": "drift_log",
                        "workflow": self.wf,
                        "created_at": iso(ts + 40),
                        "recorded_by": "drift-monitor",
                        "run_at": iso(ts),
                        "metric": spec.metric,
                    }
                    if spec.segment is not None:
                        record["segment"] = spec.segment
                    record["value"] = round(value, 4)
                    record["threshold"] = spec.threshold
                    record["breach"] = breach
                    if breach and not forced:
                        record["triage_ref"] = rng.choice(refs)
                        record["triaged_at"] = iso(ts + rng.randint(10, 110) * MIN)
                    rows.append((ts, spec.metric, spec.segment or "", record))
                    made += 1
                j += 1
        rows.sort(key=lambda row: row[:3])
        out: list[Record] = []
        for n, (_, _, _, body) in enumerate(rows, start=1):
            rid = f"{self.wf}-DL-{n:06d}"
            record = {
                "id": rid,
                **body,
                "source_uri": f"https://monitoring.example.com/{self.wf}/drift/{n}",
            }
            out.append(seal(record))
        return out

    # -- operations: on-call, observability, audits, drills, oversight ----------------
    def operations(self) -> dict[str, list[Record]]:
        rng, p, spec = self.rng, self.p, self.spec
        week = 7 * DAY
        first = ((self.as_of - 84 * DAY) // week) * week
        now_week = (self.as_of - first) // week
        # A missing primary shift next week: the rota has a hole before it is published.
        gap_week = now_week + 1 if self.failing("oncall_gap") else -1
        owner_secondary = self.hypercare and self.level >= 2
        shifts = []
        for w in range((self.as_of + 28 * DAY - first) // week + 1):
            for tier in spec.tiers:
                if w == gap_week and tier == "primary":
                    continue
                if tier == "primary":
                    who = p.people[w % 3]
                elif tier == "secondary":
                    who = p.owner if owner_secondary else p.people[3 + w % 2]
                else:
                    who = p.people[5]
                shifts.append(
                    {
                        "start": iso(first + w * week),
                        "end": iso(first + (w + 1) * week),
                        "person": who,
                        "tier": tier,
                    }
                )
        oncall = envelope(
            "oncall_schedule",
            self.rotation,
            self.wf,
            self.as_of - 6 * DAY,
            "pagerduty-export",
            self.uri("oncall", self.rotation),
            rotation_id=self.rotation,
            coverage=spec.coverage,
            shifts=shifts,
            ack_sla_min=spec.ack_sla_min,
        )
        signals = list(spec.signals)
        if self.failing("signal_missing"):
            signals.remove("latency")
        telemetry = self.as_of - (3 * HOUR if self.failing("telemetry_stale") else 45)
        alerted = [
            ("availability", "< 99.5%"),
            ("errors", "rate > 1%"),
            ("latency", "p95 > 800ms"),
            ("labelled_quality", "accuracy < declared - 2pp"),
            ("safety", "any unsafe output flagged"),
        ]
        obs = envelope(
            "observability_config",
            f"{self.wf}-OBS",
            self.wf,
            self.as_of - 2 * DAY,
            "observability-sync",
            self.uri("observability", "config"),
            signals=signals,
            alerts=[
                {"signal": s, "threshold": t, "rotation_id": self.rotation}
                for s, t in alerted
                if s in spec.signals
            ],
            log_retention_days=400,
            log_integrity="hash_chain" if self.level >= 3 else "none",
            last_telemetry_at=iso(telemetry),
            observed_dependency_versions=dict(sorted(self.deps.items())),
        )
        # Weekly log audits, the latest a few days ago.
        audits = []
        t = self.as_of - rng.randint(1, 4) * DAY
        while t > p.launch_ts:
            rid = f"{self.wf}-LA-{iso(t)[:10]}"
            audits.append(
                envelope(
                    "log_audit",
                    rid,
                    self.wf,
                    t,
                    "log-auditor",
                    self.uri("audits", rid),
                    retention_days_config=400,
                    oldest_log_at=iso(p.launch_ts - 14 * DAY),
                    missing_field_rate=round(rng.uniform(0.0, 0.0008), 5),
                    integrity_verified=True,
                )
            )
            t -= 7 * DAY
        audits.reverse()
        # Drills: 10 days before launch, near day 30, then every few weeks.
        drills = []
        kinds = ["rollback"] + (["kill_switch"] if self.level >= 3 else [])
        step = (28, 25, 25, 25)[self.level - 1] * DAY
        when = [p.launch_ts - 10 * DAY]
        t = p.launch_ts + 28 * DAY
        while t < self.as_of:
            when.append(t)
            t += step
        n = 0
        for t in when:
            for kind in kinds:
                n += 1
                result = "pass"
                if self.failing("drill_failed") and kind == "rollback" and t > p.launch_ts:
                    result = "fail"  # rollback drills have failed since launch
                rid = f"{self.wf}-DR-{n:03d}"
                drills.append(
                    envelope(
                        "drill_record",
                        rid,
                        self.wf,
                        t,
                        p.owner,
                        self.uri("drills", rid),
                        drill_type=kind,
                        performed_at=iso(t),
                        measured_rto_min=round(spec.rto_min * rng.uniform(0.3, 0.9), 1),
                        result=result,
                    )
                )
        oversight = []
        if self.level >= 3 or self.decides_about_people:
            overseers = [
                {"id": who, "trained_at": iso(self.as_of - rng.randint(30, 300) * DAY)}
                for who in p.people[:3]
            ]
            t = p.launch_ts + 12 * HOUR
            while t < self.as_of:
                rid = f"{self.wf}-OV-{iso(t)[:13]}"
                oversight.append(
                    envelope(
                        "oversight_report",
                        rid,
                        self.wf,
                        t + HOUR,
                        p.owner,
                        self.uri("oversight", rid),
                        period_end=iso(t),
                        overseers=overseers,
                        override_rate=round(rng.uniform(0.04, 0.11), 3),
                        override_band=[0.02, 0.15],
                        stop_tested_at=iso(t - rng.randint(3, 40) * DAY),
                    )
                )
                # Critical workflows report daily during hypercare, everyone else weekly.
                daily = self.level == 4 and t < hypercare_end(p.launch_ts, self.as_of) + DAY
                t += DAY if daily else 7 * DAY
        return {
            "oncall_schedule": [oncall],
            "observability_config": [obs],
            "log_audit": audits,
            "drill_record": drills,
            "oversight_report": oversight,
        }

    # -- reviews, card re-reviews and budgets -----------------------------------------
    def governance(self) -> tuple[list[Record], list[Record], list[Record]]:
        rng, p, spec = self.rng, self.p, self.spec
        times: list[tuple[int, str]] = []
        if self.level >= 2:
            times += [
                (p.launch_ts + 30 * DAY, "hypercare_30"),
                (p.launch_ts + 60 * DAY, "hypercare_60"),
            ]
        exit_at = p.launch_ts + EXIT_REVIEW_DAY * DAY
        times.append((exit_at, "hypercare_exit"))
        t = self.as_of - rng.randint(1, 10) * DAY
        if self.failing("review_stale"):
            t -= spec.review_every_days * DAY + 20 * DAY
        # Regular reviews back to a launch-readiness review a week before launch.
        while t > p.launch_ts - 7 * DAY:
            times.append((t, spec.review_type))
            t -= spec.review_every_days * DAY
        times = sorted((x, kind) for x, kind in times if x < self.as_of)
        reviews = []
        cards = []
        for n, (t, kind) in enumerate(times, start=1):
            rid = f"{self.wf}-QR-{n:03d}"
            fields: Record = {
                "review_type": kind,
                "held_at": iso(t),
                "sections": {
                    name: f"https://wiki.example.com/{self.wf}/reviews/{n}#{name}"
                    for name in ("performance", "drift", "incidents", "feedback", "budget")
                },
                "pmm_plan_ref": f"https://qms.example.com/{self.wf}/pmm-plan",
                "pmm_coverage": 1.0 if self.level == 4 else round(rng.uniform(0.96, 1.0), 2),
                "risk_register_updated": True,
                "decision": "continue",
                "actions": [
                    {
                        "owner": self.person(),
                        "due": iso(t + 30 * DAY),
                        "description": "Refresh the segment evaluation set",
                    }
                ],
                "signed_off_by": p.owner,
            }
            if kind.startswith("hypercare"):
                fields["exit_criteria"] = dict.fromkeys(EXIT_CRITERIA, True)
            reviews.append(
                envelope(
                    "quarterly_review",
                    rid,
                    self.wf,
                    t + 2 * HOUR,
                    p.owner,
                    self.uri("wiki", rid),
                    **fields,
                )
            )
            # The review re-confirms the model card of the version in production.
            live = [v for v in self.versions if v[1] <= t]
            if live:
                version = live[-1][0]
                previous = self.versions[len(live) - 2][0] if len(live) > 1 else version
                cards.append(
                    self._card(version, previous, t, t, f"{self.wf}-CARD-{version}-R{n:03d}")
                )
        lines = ["compute", "observability", "oncall"]
        if self.level >= 2:
            lines += ["labelling", "retraining"]
        if self.level >= 3:
            lines += ["legal_reporting", "audit"]
        # The budget is re-forecast monthly, a 12-month period from each forecast.
        budgets = []
        t, n = p.launch_ts - 20 * DAY, 0
        while t < self.as_of:
            n += 1
            rid = f"{self.wf}-BUD-{n:02d}"
            budgets.append(
                envelope(
                    "budget_record",
                    rid,
                    self.wf,
                    t,
                    "finance-sync",
                    self.uri("finance", rid),
                    approved_by=rng.choice(("cfo.office", "vp.engineering")),
                    period_start=iso(t),
                    period_end=iso(t + 365 * DAY),
                    currency="EUR",
                    lines=[
                        {"category": c, "amount": float(rng.randint(5, 80) * 1000)} for c in lines
                    ],
                    variance_pct=round(rng.uniform(-8, 12), 1),
                    runway_months=round(rng.uniform(8, 14), 1),
                )
            )
            t += 30 * DAY
        return reviews, cards, budgets


def _review_body(record: Record) -> str:
    return (
        f"# {record['review_type'].replace('_', ' ').capitalize()} review of {record['workflow']}\n\n"
        "## Monitoring plan\n\nAll planned checks ran; see the linked sections.\n\n"
        f"## Decision\n\n{record['decision'].capitalize()}, signed off by "
        f"{record['signed_off_by']}.\n"
    )


# --- writing the project ----------------------------------------------------------------


def _policies_entry(out: Path, policies: Path) -> str:
    """Relative to the fleet when both live in this repository (the fleet can move with
    it), else absolute."""
    target, base = policies.resolve(), out.resolve()
    if base.is_relative_to(REPO_ROOT) and target.is_relative_to(REPO_ROOT):
        return os.path.relpath(target, base)
    return str(target)


def write_workflow_evidence(gen: WorkflowGen, folder: Path) -> dict[str, int]:
    """Generate and write one workflow's evidence; return the records written per kind."""
    written: dict[str, int] = {}

    def add(kind: str, n: int) -> None:
        written[kind] = written.get(kind, 0) + n

    # Incidents first: releases need the serious-incident reports, drift the incident ids.
    tables, documents, safety = gen.incidents()
    releases = gen.releases()
    drift = gen.drift()
    ops = gen.operations()
    reviews, review_cards, budgets = gen.governance()

    cards = sorted(
        [*releases.pop("model_card"), *review_cards], key=lambda r: (r["reviewed_at"], r["id"])
    )
    current = cards.pop()  # the card in force, kept as a YAML file like a person writes it
    add("model_card", write_jsonl(folder / "model_card.jsonl", cards))
    write_bytes(folder / "model_card.yaml", dump_yaml(current).encode())
    add("model_card", 1)
    for kind, records in releases.items():
        add(kind, write_jsonl(folder / f"{kind}.jsonl", records))
    for kind, records in tables.items():
        if kind == "serious_incident_report":
            add(kind, write_json(folder / f"{kind}.json", records))
        else:
            add(kind, write_jsonl(folder / f"{kind}.jsonl", records))
    for record, body in documents:
        path = folder / "postmortems" / f"{record['id']}.md"
        add("postmortem", write_markdown(path, record, body))
    add("feedback_item", write_jsonl(folder / "feedback_item.jsonl", gen.feedback(safety)))
    add("drift_log", write_jsonl(folder / "drift_log.jsonl", drift))
    add("oncall_schedule", write_json(folder / "oncall_schedule.json", ops.pop("oncall_schedule")))
    obs = ops.pop("observability_config")
    write_bytes(folder / "observability_config.yaml", dump_yaml(obs[0]).encode())
    add("observability_config", 1)
    for kind, records in ops.items():
        add(kind, write_jsonl(folder / f"{kind}.jsonl", records))
    if reviews:
        latest = reviews.pop()  # the latest review as the document people read
        path = folder / "reviews" / f"{latest['id']}.md"
        add("quarterly_review", write_markdown(path, latest, _review_body(latest)))
    add("quarterly_review", write_jsonl(folder / "quarterly_review.jsonl", reviews))
    add("budget_record", write_json(folder / "budget_record.json", budgets))
    return written


def generate(args: Args) -> dict[str, int]:
    """Write the fleet to ``args.out`` and return the number of records per kind."""
    as_of = parse_instant(args.as_of)
    rng = random.Random(args.seed)
    out = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    policies = _policies_entry(out, args.policies)
    config = {
        "policies": [policies],
        # The policies live outside the fleet's folder: say so, or Assay refuses them.
        "outside_folders": [policies],
        "workflows": ["workflows"],
        "waivers": ["waivers"],
        "evidence": ["evidence"],
    }
    (out / "assay.yaml").write_text(
        "# A synthetic fleet written by benchmarks/generate_fleet.py; do not edit.\n"
        + dump_yaml(config)
    )
    plans = plan_fleet(args, rng, as_of)
    counts: dict[str, int] = {}
    for plan in plans:
        # One random stream per workflow: changing one workflow does not shift the others.
        gen = WorkflowGen(plan, as_of, random.Random(f"{args.seed}/{plan.id}"))
        metadata: Record = {
            "team": plan.team,
            "repository": f"https://git.example.com/{plan.team}/{plan.id}",
            "synthetic_failures": sorted(plan.failures),
        }
        if gen.critical_features:
            metadata["critical_features"] = gen.critical_features
        if gen.decides_about_people:
            metadata["decides_about_people"] = True
        workflow = {
            "id": plan.id,
            "name": plan.name,
            "owner": plan.owner,
            "risk_class": plan.risk_class,
            "launched": plan.launched,
            "eu_scope": plan.eu_scope,
            "role": plan.role,
            "metadata": metadata,
        }
        write_bytes(out / "workflows" / f"{plan.id}.yaml", dump_yaml(workflow).encode())
        for kind, n in write_workflow_evidence(gen, out / "evidence" / plan.id).items():
            counts[kind] = counts.get(kind, 0) + n
    return dict(sorted(counts.items()))


def parse_args(argv: Sequence[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="Folder to write (replaced).")
    parser.add_argument("--workflows", type=int, default=200)
    parser.add_argument("--drift-records", type=int, default=1_000_000)
    parser.add_argument("--deploys", type=int, default=20_000)
    parser.add_argument("--incidents", type=int, default=2_000)
    parser.add_argument("--feedback", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default=DEFAULT_AS_OF, help="Fixed 'now' of the fleet (UTC).")
    parser.add_argument(
        "--policies",
        type=Path,
        default=REPO_ROOT / "src" / "assay" / "bundled" / "policies",
        help="Policies folder the fleet's assay.yaml points at (default: the bundled one).",
    )
    parser.add_argument(
        "--troubled-share",
        type=float,
        default=0.2,
        help="Share of workflows given one or two realistic failures.",
    )
    ns = parser.parse_args(argv)
    if ns.workflows < 1:
        parser.error("--workflows must be at least 1")
    for name in ("drift_records", "deploys", "incidents", "feedback"):
        if getattr(ns, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    return Args(
        out=ns.out,
        workflows=ns.workflows,
        drift_records=ns.drift_records,
        deploys=ns.deploys,
        incidents=ns.incidents,
        feedback=ns.feedback,
        seed=ns.seed,
        as_of=ns.as_of,
        policies=ns.policies,
        troubled_share=ns.troubled_share,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    counts = generate(args)
    total = sum(counts.values())
    print(f"wrote {args.out}: {args.workflows} workflows, {total:,} evidence records")
    for kind, n in counts.items():
        print(f"  {kind:<26} {n:>10,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
