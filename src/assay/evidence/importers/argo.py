"""Argo Rollouts: a Rollout and its AnalysisRuns (YAML, as ``kubectl get -o yaml`` writes
them) -> one ``canary_report`` per rollout revision.

The AnalysisRuns of a revision are those whose owner is the Rollout and whose
``rollout.argoproj.io/revision`` annotation names it. Start and end are the earliest
``startedAt`` and latest ``finishedAt`` of their measurements; the verdict follows the runs'
phases; each metric's last measurement becomes a compared metric. Fields Argo has no notion
of come from annotations on the Rollout (``assay.dev/...``). The mapping is documented in
docs/importers.md.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .base import Conversion, Draft, ExportFile, ImportOptions, Node, iso, load_yaml_documents

REVISION = "rollout.argoproj.io/revision"
ANNOTATION = "assay.dev/"
SAMPLE_METRICS = frozenset({"sample-size", "sample_size", "request-count", "requests"})
"""A metric of one of these names counts the canary's requests: it is the sample size."""
_CONDITION = re.compile(r"(<=|>=|<|>|==)\s*(-?[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?)\s*$")
"""The number a successCondition compares the result with, at its end: the threshold."""


def import_argo_rollouts(files: Sequence[ExportFile], options: ImportOptions) -> Conversion:
    rollouts: dict[str, Node] = {}
    runs: list[Node] = []
    for export in files:
        for value, positions in load_yaml_documents(export):
            root = Node(value, export.name, "", positions)
            items = root["items"].items() if root.mapping().get("kind") == "List" else [root]
            for item in items:
                kind = item["kind"].text()
                if kind == "Rollout":
                    rollouts[_name(item)] = item
                elif kind == "AnalysisRun":
                    runs.append(item)
                else:
                    raise item["kind"].error(f"expected a Rollout or an AnalysisRun, got {kind!r}")
    grouped: dict[tuple[str, str], list[Node]] = defaultdict(list)
    out = Conversion([])
    for run in runs:
        owner = _owner(run)
        if owner is None or owner not in rollouts:
            out.skipped.append(
                f"{run.location}: AnalysisRun {_name(run)} belongs to no Rollout given "
                f"({owner or 'no owner'})"
            )
            continue
        annotations = run["metadata"].get("annotations")
        revision = annotations.get(REVISION) if annotations is not None else None
        if revision is None:
            raise run["metadata"].error(
                f"AnalysisRun {_name(run)}: missing annotation {REVISION!r}"
            )
        grouped[(owner, str(revision.value))].append(run)
    for (owner, number), items in sorted(grouped.items()):
        out.drafts.append(_report(rollouts[owner], number, items))
    return out


def _name(node: Node) -> str:
    meta = node["metadata"]
    space = meta.get("namespace")
    name = meta["name"].text()
    return f"{space.text()}/{name}" if space is not None else name


def _owner(run: Node) -> str | None:
    meta = run["metadata"]
    owners = meta.get("ownerReferences")
    if owners is None:
        return None
    space = meta.get("namespace")
    for ref in owners.items():
        if ref["kind"].text() == "Rollout":
            name = ref["name"].text()
            return f"{space.text()}/{name}" if space is not None else name
    return None


def _annotation(rollout: Node, name: str) -> Node | None:
    annotations = rollout["metadata"].get("annotations")
    return annotations.get(ANNOTATION + name) if annotations is not None else None


def _max_weight(rollout: Node) -> float:
    canary = rollout["spec"]["strategy"].get("canary")
    if canary is None:
        raise rollout["spec"]["strategy"].error("not a canary rollout (no strategy.canary)")
    steps = canary.get("steps")
    weights = [
        step["setWeight"].number()
        for step in (steps.items() if steps is not None else [])
        if step.get("setWeight") is not None
    ]
    below_full = [w for w in weights if w < 100]
    return max(below_full, default=0.0)


def _measured(value: Node | None) -> list[float]:
    """A measurement's value: a number, or a JSON list of numbers as Prometheus gives them."""
    if value is None:
        return []
    raw = value.value
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return [float(raw)]
    text = value.text()
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        raise value.error(f"expected a number or a list of numbers, got {text!r}") from None
    items = parsed if isinstance(parsed, list) else [parsed]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
        raise value.error(f"expected a number or a list of numbers, got {text!r}")
    return [float(v) for v in items]


def _report(rollout: Node, revision: str, runs: list[Node]) -> Draft:
    name = _name(rollout)
    conditions: dict[str, str] = {}
    phases: list[str] = []
    starts: list[datetime] = []
    ends: list[datetime] = []
    metrics: list[dict[str, Any]] = []
    sample = 0
    for run in sorted(runs, key=_name):
        for metric in run["spec"]["metrics"].items():
            condition = metric.get("successCondition")
            if condition is not None:
                conditions[metric["name"].text()] = condition.text()
        status = run["status"]
        phases.append(status["phase"].text())
        started = status.get("startedAt")
        if started is not None:
            starts.append(started.instant())
        results = status.get("metricResults")
        for result in results.items() if results is not None else []:
            metric_name = result["name"].text()
            measurements = result.get("measurements")
            done = list(measurements.items()) if measurements is not None else []
            for m in done:
                if m.get("startedAt") is not None:
                    starts.append(m["startedAt"].instant())
                if m.get("finishedAt") is not None:
                    ends.append(m["finishedAt"].instant())
            if not done:
                continue
            values = _measured(done[-1].get("value"))
            if not values:
                continue
            if metric_name in SAMPLE_METRICS:
                sample += int(values[0])
                continue
            threshold = _threshold(conditions.get(metric_name), result)
            metrics.append(
                {
                    "name": metric_name,
                    "canary": values[0],
                    # A query that returns [canary, control] compares the two populations;
                    # a single value is compared with the threshold only.
                    "control": values[1] if len(values) > 1 else values[0],
                    "threshold": threshold,
                }
            )
    if not starts:
        raise runs[0]["status"].error(
            f"Rollout {name} revision {revision}: no AnalysisRun has a start time"
        )
    verdict = _verdict(phases)
    deploy = _annotation(rollout, "deploy-id")
    override_sample = _annotation(rollout, "sample-size")
    fields: dict[str, Any] = {
        "created_at": iso(max(ends) if ends else min(starts)),
        "source_uri": f"argo-rollouts:{name}/revision/{revision}",
        "deploy_id": deploy.text() if deploy is not None else f"{name}@{revision}",
        "started_at": iso(min(starts)),
        "ended_at": iso(max(ends) if ends else min(starts)),
        "max_traffic_pct": _max_weight(rollout),
        "sample_size": int(override_sample.text()) if override_sample is not None else sample,
        "metrics": metrics,
        "verdict": verdict,
    }
    signoff = _annotation(rollout, "signed-off-by")
    if signoff is not None:
        fields["signed_off_by"] = signoff.text()
    return Draft("canary_report", f"{name}@{revision}", fields, runs[0].location)


def _threshold(condition: str | None, result: Node) -> float:
    if condition is None:
        raise result.error(
            f"metric {result['name'].text()!r}: its successCondition is not in the "
            "AnalysisRun spec, so the threshold is unknown"
        )
    match = _CONDITION.search(condition)
    if match is None:
        raise result.error(
            f"metric {result['name'].text()!r}: cannot read a threshold from the "
            f"successCondition {condition!r} (expected e.g. 'result[0] >= 0.95')"
        )
    return float(match.group(2))


def _verdict(phases: list[str]) -> str:
    if any(p in ("Failed", "Error") for p in phases):
        return "fail"
    if phases and all(p == "Successful" for p in phases):
        return "pass"
    return "inconclusive"
