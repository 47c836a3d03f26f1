"""MLflow: tracking runs and registered model versions -> ``retraining_run``; model versions
promoted to production -> ``deploy_record``.

Reads an MLflow SQLite tracking store (``sqlite:///mlflow.db``, MLflow's default backend)
directly, with the standard library: the ``mlflow`` package is not needed to import. The
store is opened from its bytes, in memory, so it is never locked or changed. Fields MLflow
has no notion of come from run and model-version tags in the ``assay.`` namespace. The
mapping is documented in docs/importers.md.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from assay.errors import ErrorCode, InputError, Location

from .base import Conversion, Draft, ExportFile, ImportOptions, epoch_ms, iso

PROMOTION_ALIASES = frozenset({"champion", "production", "prod"})
"""A model version holding one of these aliases (or in stage Production) is in production."""
_MAGIC = b"SQLite format 3\x00"
_REQUIRED = ("experiments", "runs", "latest_metrics", "params", "tags")


@dataclass
class _Run:
    run_id: str
    experiment_id: str
    experiment_name: str
    status: str
    lifecycle: str
    start_time: int
    user_id: str | None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    datasets: list[tuple[str, str]] = field(default_factory=list)
    """(context, digest) of each dataset logged as an input of the run."""


@dataclass
class _Version:
    name: str
    version: int
    run_id: str | None
    stage: str
    updated: int
    created: int
    aliases: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"

    @property
    def promoted(self) -> bool:
        return self.stage.lower() == "production" or bool(
            PROMOTION_ALIASES.intersection(a.lower() for a in self.aliases)
        )


def import_mlflow(files: Sequence[ExportFile], options: ImportOptions) -> Conversion:
    out = Conversion([])
    for export in files:
        with _open(export) as db:
            _convert(db, export.name, options, out)
    return out


class _Store:
    def __init__(self, export: ExportFile):
        self.name = export.name
        if not export.data.startswith(_MAGIC):
            raise InputError(
                "not an MLflow SQLite store (expected an SQLite database, e.g. mlflow.db)",
                location=Location(export.name),
                code=ErrorCode.IMPORT,
            )
        self.db = sqlite3.connect(":memory:")
        try:
            self.db.deserialize(export.data)
        except sqlite3.DatabaseError as err:
            raise InputError(
                f"cannot open the SQLite store: {err}",
                location=Location(export.name),
                code=ErrorCode.IMPORT,
            ) from None

    def __enter__(self) -> _Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.db.close()

    def tables(self) -> set[str]:
        return {r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type='table'")}

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as err:
            raise InputError(
                f"cannot read the MLflow store: {err}",
                location=Location(self.name),
                code=ErrorCode.IMPORT,
            ) from None


def _open(export: ExportFile) -> _Store:
    return _Store(export)


def _convert(db: _Store, file: str, options: ImportOptions, out: Conversion) -> None:
    tables = db.tables()
    missing = [t for t in _REQUIRED if t not in tables]
    if missing:
        raise InputError(
            f"not an MLflow tracking store: no table {', '.join(missing)}",
            location=Location(file),
            code=ErrorCode.IMPORT,
        )
    runs = _runs(db, tables)
    versions = _versions(db, tables)
    by_run: dict[str, list[_Version]] = defaultdict(list)
    for version in versions:
        if version.run_id:
            by_run[version.run_id].append(version)
    experiment_tags = _experiment_tags(db, tables)
    for run in runs:
        where = Location(file, None, None, f"/runs/{run.run_id}")
        owner = run.tags.get("assay.workflow") or experiment_tags.get(run.experiment_id, {}).get(
            "assay.workflow"
        )
        if owner is not None and owner != options.workflow:
            out.skipped.append(f"{where}: run of workflow {owner!r}")
            continue
        if run.lifecycle != "active" or run.status != "FINISHED":
            out.skipped.append(
                f"{where}: run {run.run_id} is {run.lifecycle} and {run.status}, not a "
                "finished retraining"
            )
            continue
        out.drafts.append(_retraining(run, by_run.get(run.run_id, []), where))
    for version in versions:
        where = Location(file, None, None, f"/registered_models/{version.name}/{version.version}")
        if not version.promoted:
            continue
        source_run = next((r for r in runs if r.run_id == version.run_id), None)
        change = version.tags.get("assay.change_request_id") or (
            source_run.tags.get("assay.change_request_id") if source_run else None
        )
        if change is None:
            out.skipped.append(
                f"{where}: model version {version.label} is in production but names no change "
                "request (tag assay.change_request_id): no deploy_record"
            )
            continue
        out.drafts.append(_deploy(version, change, where))


def _runs(db: _Store, tables: set[str]) -> list[_Run]:
    runs: dict[str, _Run] = {}
    for row in db.query(
        "SELECT r.run_uuid, r.experiment_id, e.name, r.status, r.lifecycle_stage, r.start_time, "
        "r.user_id FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id "
        "ORDER BY r.run_uuid"
    ):
        runs[row[0]] = _Run(row[0], str(row[1]), row[2], row[3], row[4], row[5] or 0, row[6])
    for key, value, run_id in db.query("SELECT key, value, run_uuid FROM tags"):
        if run_id in runs:
            runs[run_id].tags[key] = value
    for key, value, run_id in db.query("SELECT key, value, run_uuid FROM params"):
        if run_id in runs:
            runs[run_id].params[key] = value
    for key, value, run_id, is_nan in db.query(
        "SELECT key, value, run_uuid, is_nan FROM latest_metrics"
    ):
        if run_id in runs and not is_nan:
            runs[run_id].metrics[key] = float(value)
    if {"inputs", "datasets"} <= tables:
        contexts: dict[str, str] = {}
        if "input_tags" in tables:
            contexts = {
                row[0]: row[1]
                for row in db.query(
                    "SELECT input_uuid, value FROM input_tags WHERE name = 'mlflow.data.context'"
                )
            }
        for input_id, run_id, digest in db.query(
            "SELECT i.input_uuid, i.destination_id, d.digest FROM inputs i JOIN datasets d "
            "ON d.dataset_uuid = i.source_id WHERE i.source_type = 'DATASET' AND "
            "i.destination_type = 'RUN' ORDER BY i.input_uuid"
        ):
            if run_id in runs:
                runs[run_id].datasets.append((contexts.get(input_id, ""), digest))
    return list(runs.values())


def _experiment_tags(db: _Store, tables: set[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    if "experiment_tags" in tables:
        for key, value, exp in db.query("SELECT key, value, experiment_id FROM experiment_tags"):
            out[str(exp)][key] = value
    return out


def _versions(db: _Store, tables: set[str]) -> list[_Version]:
    if "model_versions" not in tables:
        return []
    versions: dict[tuple[str, int], _Version] = {}
    for name, version, run_id, stage, updated, created in db.query(
        "SELECT name, version, run_id, current_stage, last_updated_time, creation_time "
        "FROM model_versions ORDER BY name, version"
    ):
        versions[(name, int(version))] = _Version(
            name, int(version), run_id, stage or "None", updated or 0, created or 0
        )
    if "registered_model_aliases" in tables:
        for alias, version, name in db.query(
            "SELECT alias, version, name FROM registered_model_aliases ORDER BY alias"
        ):
            if (name, int(version)) in versions:
                versions[(name, int(version))].aliases.append(alias)
    if "model_version_tags" in tables:
        for key, value, name, version in db.query(
            "SELECT key, value, name, version FROM model_version_tags"
        ):
            if (name, int(version)) in versions:
                versions[(name, int(version))].tags[key] = value
    return list(versions.values())


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in ("true", "1", "yes")


def _retraining(run: _Run, versions: list[_Version], where: Location) -> Draft:
    tags = run.tags
    fields: dict[str, Any] = {
        "created_at": iso(epoch_ms(run.start_time)),
        "source_uri": f"mlflow:#/experiments/{run.experiment_id}/runs/{run.run_id}",
        "trigger": tags.get("assay.trigger", "schedule"),
        "config_hash": tags.get("assay.config_hash")
        or hashlib.sha256(
            json.dumps(run.params, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest(),
        "data_quality_passed": _flag(tags.get("assay.data_quality_passed")) or False,
        "poisoning_scan": tags.get("assay.poisoning_scan", "n/a"),
        "eval": _evals(run),
        "promoted": any(v.promoted for v in versions) or bool(_flag(tags.get("assay.promoted"))),
    }
    data_hash = tags.get("assay.data_hash") or _training_digest(run)
    if data_hash:
        fields["data_hash"] = data_hash
    commit = tags.get("mlflow.source.git.commit") or tags.get("assay.code_commit")
    if commit:
        fields["code_commit"] = commit
    if versions:
        fields["model_version"] = versions[0].label
    elif "assay.model_version" in tags:
        fields["model_version"] = tags["assay.model_version"]
    for name in ("independent_reviewer", "change_request_id"):
        value = tags.get(f"assay.{name}")
        if value is None and name == "change_request_id":
            value = next(
                (
                    v.tags["assay.change_request_id"]
                    for v in versions
                    if "assay.change_request_id" in v.tags
                ),
                None,
            )
        if value is not None:
            fields[name] = value
    envelope = _flag(tags.get("assay.in_envelope"))
    if envelope is not None:
        fields["in_envelope"] = envelope
    return Draft("retraining_run", f"mlflow-run-{run.run_id}", fields, where)


def _training_digest(run: _Run) -> str | None:
    training = [d for c, d in run.datasets if c == "training"]
    if training:
        return training[0]
    return run.datasets[0][1] if len(run.datasets) == 1 else None


def _evals(run: _Run) -> list[dict[str, Any]]:
    """Candidate metric ``M`` (or ``M/segment``) with its champion in ``champion.M`` (or
    ``champion.M/segment``) and its margin in param ``margin.M`` (default 0)."""
    rows: list[dict[str, Any]] = []
    for key in sorted(run.metrics):
        if key.startswith("champion."):
            continue
        champion = run.metrics.get(f"champion.{key}")
        if champion is None:
            continue
        metric, _, segment = key.partition("/")
        row: dict[str, Any] = {
            "metric": metric,
            "candidate": run.metrics[key],
            "champion": champion,
            "margin": float(run.params.get(f"margin.{metric}", "0")),
        }
        if segment:
            row["segment"] = segment
        rows.append(row)
    return rows


def _deploy(version: _Version, change: str, where: Location) -> Draft:
    tags = version.tags
    started = tags.get("assay.started_at") or iso(epoch_ms(version.updated or version.created))
    fields: dict[str, Any] = {
        "created_at": started,
        "source_uri": f"mlflow:#/models/{version.name}/versions/{version.version}",
        "change_request_id": change,
        "model_version": version.label,
        "environment": "prod",
        "started_at": started,
        "promoted_at": tags.get("assay.promoted_at", started),
        "disclosure_check": tags.get("assay.disclosure_check", "n/a"),
        "is_launch": bool(_flag(tags.get("assay.is_launch"))),
        "emergency": bool(_flag(tags.get("assay.emergency"))),
    }
    if "assay.release" in tags:
        fields["release"] = tags["assay.release"]
    budget = tags.get("assay.error_budget_remaining_pct")
    if budget is not None:
        try:
            fields["error_budget_remaining_pct"] = float(budget)
        except ValueError:
            raise InputError(
                f"model version {version.label}: tag assay.error_budget_remaining_pct is "
                f"{budget!r}, not a number",
                location=where,
                code=ErrorCode.IMPORT,
            ) from None
    return Draft("deploy_record", f"mlflow-model-{version.name}-v{version.version}", fields, where)
