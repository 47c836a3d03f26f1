"""Evidently reports -> one ``drift_log`` per drift metric.

Accepted files (JSON), all three as Evidently writes them:

* a snapshot saved with ``Snapshot.dumps()`` / ``Report.run(...).save`` in the full form
  (``metric_results`` by metric id, ``timestamp``, ``metadata``, ``tags``) — Evidently 0.7;
* the summary of ``Snapshot.json()`` / ``save_json()`` (``metrics`` and ``tests`` lists, no
  time of its own: give ``--set run_at=...``) — Evidently 0.7;
* a legacy Report's ``json()`` / ``save_json()`` (``timestamp``, ``metrics`` with
  ``metric`` and ``result``; ``DataDriftTable`` and ``ColumnDriftMetric``) — Evidently 0.4–0.6
  and ``evidently.legacy`` in 0.7.

Drift metrics are ``ValueDrift`` (one per column) and ``DriftedColumnsCount`` (the share of
drifted columns); other metrics produce no record. The breach comes from Evidently's own
test of the metric when there is one, else from the method: a p-value breaches below the
threshold, a distance at or above it. The mapping is documented in docs/importers.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from .base import Conversion, Draft, ExportFile, ImportOptions, Node, iso, load_json

_TYPE = "evidently:metric_v2:"


def import_evidently(files: Sequence[ExportFile], options: ImportOptions) -> Conversion:
    out = Conversion([])
    for export in files:
        root = Node(load_json(export), export.name)
        body = root.mapping()
        if "metric_results" in body:
            _snapshot(root, options, out)
        elif "metrics" in body and "timestamp" in body and "tests" not in body:
            _legacy(root, options, out)
        elif "metrics" in body:
            _summary(root, options, out)
        else:
            raise root.error(
                "not an Evidently report: expected 'metric_results' (a snapshot), or "
                "'metrics' (a report's JSON)"
            )
    return out


def _run_at(root: Node, options: ImportOptions) -> tuple[datetime | None, str | None]:
    stamp = root.get("timestamp")
    if stamp is not None:
        return stamp.instant(), None
    if "run_at" in options.fields:
        return None, None  # --set run_at fills it in
    return None, (
        f"{root.file}: this report JSON carries no time (Snapshot.json() leaves it out): "
        "pass --set run_at=<when it ran>, or save the snapshot with Snapshot.dumps()"
    )


def _segment(root: Node) -> str | None:
    meta = root.get("metadata")
    if meta is not None and isinstance(meta.value, dict):
        seg = meta.get("segment")
        if seg is not None:
            return seg.text()
    return None


def _draft(
    root: Node,
    where: Node,
    options: ImportOptions,
    run_at: datetime | None,
    metric_id: str,
    metric: str,
    value: float,
    threshold: float,
    breach: bool,
) -> Draft:
    if run_at is not None:
        moment = run_at.strftime("%Y%m%dT%H%M%SZ")
    else:
        moment = _slug(str(options.fields.get("run_at", "run")))
    fields: dict[str, Any] = {
        "metric": metric,
        "value": value,
        "threshold": threshold,
        "breach": breach,
        "source_uri": f"evidently:{root.file}#{where.pointer}",
    }
    if run_at is not None:
        fields["run_at"] = iso(run_at)
        fields["created_at"] = iso(run_at)
    elif "run_at" in options.fields:
        fields["created_at"] = options.fields["run_at"]
    segment = _segment(root)
    if segment is not None:
        fields["segment"] = segment
    return Draft("drift_log", f"evidently:{moment}:{metric_id}", fields, where.location)


def _p_value(method: str) -> bool:
    return "p_value" in method.replace("-", "_").lower()


def _breach(value: float, threshold: float, method: str) -> bool:
    return value < threshold if _p_value(method) else value >= threshold


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def _tests_by_metric(tests: Node | None) -> dict[str, bool]:
    """Metric id -> True when a test of it failed (Evidently's status FAIL)."""
    failed: dict[str, bool] = {}
    for test in tests.items() if tests is not None else []:
        config = test.get("metric_config")
        if config is None:
            continue
        status = test["status"].text()
        metric_id = config["metric_id"].text()
        failed[metric_id] = failed.get(metric_id, False) or status == "FAIL"
    return failed


def _convert_v2(
    root: Node,
    where: Node,
    params: Node,
    metric_id: str,
    value: Node,
    tested: dict[str, bool],
    options: ImportOptions,
    run_at: datetime | None,
    out: Conversion,
) -> None:
    kind = params["type"].text().removeprefix(_TYPE)
    if kind == "ValueDrift":
        column = params["column"].text()
        method = (params.get("method") or params["type"]).text()
        threshold = params["threshold"].number()
        score = value.number()
        breach = tested.get(metric_id, _breach(score, threshold, method))
        out.drafts.append(
            _draft(
                root,
                where,
                options,
                run_at,
                metric_id,
                f"drift_{_slug(column)}",
                score,
                threshold,
                breach,
            )
        )
    elif kind == "DriftedColumnsCount":
        share = value["share"].number() if isinstance(value.value, dict) else value.number()
        threshold = params["drift_share"].number()
        breach = tested.get(metric_id, share >= threshold)
        out.drafts.append(
            _draft(
                root,
                where,
                options,
                run_at,
                metric_id,
                "drifted_columns_share",
                share,
                threshold,
                breach,
            )
        )
    else:
        out.skipped.append(f"{where.location}: {kind} is not a drift metric")


def _snapshot(root: Node, options: ImportOptions, out: Conversion) -> None:
    run_at, missing = _run_at(root, options)
    if missing:
        raise root.error(missing)
    results = root["metric_results"]
    tests: list[Any] = []
    for metric_id in sorted(results.mapping()):
        result = results[metric_id]
        found = result.get("tests")
        if found is not None:
            tests.extend(found.value if isinstance(found.value, list) else [])
    tested = _tests_by_metric(Node(tests, root.file, "/metric_results"))
    for metric_id in sorted(results.mapping()):
        result = results[metric_id]
        params = result["metric_value_location"]["metric"]["params"]
        if params["type"].text().removeprefix(_TYPE) == "DriftedColumnsCount":
            value = result["share"]["value"]
        else:
            value = result.get("value") or result["value"]
        _convert_v2(root, result, params, metric_id, value, tested, options, run_at, out)


def _summary(root: Node, options: ImportOptions, out: Conversion) -> None:
    run_at, missing = _run_at(root, options)
    if missing:
        raise root.error(missing)
    tested = _tests_by_metric(root.get("tests"))
    for metric in root["metrics"].items():
        metric_id = metric["id"].text()
        _convert_v2(
            root,
            metric,
            metric["config"],
            metric_id,
            metric["value"],
            tested,
            options,
            run_at,
            out,
        )


def _legacy(root: Node, options: ImportOptions, out: Conversion) -> None:
    stamp = root["timestamp"]
    run_at: datetime | None = None
    if "run_at" not in options.fields:
        text = stamp.text()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise stamp.error(f"expected the report's timestamp, got {text!r}") from None
        if parsed.tzinfo is None:
            # Legacy reports stamp the local time of the machine that ran them, unzoned.
            raise stamp.error(
                f"the report's timestamp {text!r} has no timezone (legacy Evidently reports "
                "write local time): pass --set run_at=<when it ran, with Z or an offset>"
            )
        run_at = parsed.astimezone(UTC)
    for index, metric in enumerate(root["metrics"].items()):
        name = metric["metric"].text()
        result = metric["result"]
        if name == "DataDriftTable":
            columns = result["drift_by_columns"]
            for column in sorted(columns.mapping()):
                _legacy_column(root, columns[column], f"{index}:{column}", options, run_at, out)
        elif name == "ColumnDriftMetric":
            _legacy_column(
                root, result, f"{index}:{result['column_name'].text()}", options, run_at, out
            )
        elif name == "DatasetDriftMetric":
            out.drafts.append(
                _draft(
                    root,
                    metric,
                    options,
                    run_at,
                    f"{index}:dataset",
                    "drifted_columns_share",
                    result["share_of_drifted_columns"].number(),
                    result["drift_share"].number(),
                    result["dataset_drift"].boolean(),
                )
            )
        else:
            out.skipped.append(f"{metric.location}: {name} is not a drift metric")


def _legacy_column(
    root: Node,
    node: Node,
    metric_id: str,
    options: ImportOptions,
    run_at: datetime | None,
    out: Conversion,
) -> None:
    column = node["column_name"].text()
    out.drafts.append(
        _draft(
            root,
            node,
            options,
            run_at,
            metric_id,
            f"drift_{_slug(column)}",
            node["drift_score"].number(),
            node["stattest_threshold"].number(),
            node["drift_detected"].boolean(),
        )
    )
