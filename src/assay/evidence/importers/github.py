"""GitHub deployments and deployment statuses (REST API JSON) -> ``deploy_record``.

Accepted files: the JSON list of "List deployments" (``GET /repos/{owner}/{repo}/deployments``)
and of "List deployment statuses" (``GET .../deployments/{id}/statuses``), each status naming
its deployment by ``deployment_url``; a deployment may also carry its statuses in a
``statuses`` list. The promotion is the first ``success`` status in the production
environment. Fields GitHub has no notion of come from the deployment's ``payload`` (set when
the deployment is created). The mapping is documented in docs/importers.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from .base import Conversion, Draft, ExportFile, ImportOptions, Node, iso, load_json

PRODUCTION = frozenset({"production", "prod"})
PAYLOAD_FIELDS = (
    "change_request_id",
    "model_version",
    "release",
    "is_launch",
    "error_budget_remaining_pct",
    "disclosure_check",
    "emergency",
)


def import_github(files: Sequence[ExportFile], options: ImportOptions) -> Conversion:
    deployments: list[Node] = []
    statuses: dict[str, list[Node]] = defaultdict(list)
    for export in files:
        root = Node(load_json(export), export.name)
        if isinstance(root.value, dict):
            # A single object (Get a deployment / Get a deployment status).
            items = [root]
        else:
            items = root.items()
        for item in items:
            body = item.mapping()
            if "deployment_url" in body and "state" in body:
                statuses[item["deployment_url"].text().rstrip("/")].append(item)
            elif "statuses_url" in body or "production_environment" in body:
                deployments.append(item)
            else:
                raise item.error(
                    "not a GitHub deployment or deployment status: expected 'statuses_url' "
                    "(a deployment) or 'deployment_url' and 'state' (a status)"
                )
    out = Conversion([])
    for node in deployments:
        draft = _deployment(node, statuses)
        if draft is None:
            env = node["environment"].text()
            out.skipped.append(
                f"{node.location}: deployment {node['id'].value} to {env!r} is neither "
                "production nor a canary"
            )
        else:
            out.drafts.append(draft)
    return out


def _environment(node: Node) -> str | None:
    name = node["environment"].text().lower()
    flag = node.get("production_environment")
    if (flag is not None and flag.boolean()) or name in PRODUCTION:
        return "prod"
    if "canary" in name:
        return "canary"
    return None


def _deployment(node: Node, statuses: dict[str, list[Node]]) -> Draft | None:
    environment = _environment(node)
    if environment is None:
        return None
    ident = node["id"].integer()
    url = node["url"].text()
    own = list(statuses.get(url.rstrip("/"), []))
    embedded = node.get("statuses")
    if embedded is not None:
        own.extend(embedded.items())
    started = node["created_at"].instant()
    fields: dict[str, Any] = {
        "created_at": iso(started),
        "source_uri": url,
        "environment": environment,
        "started_at": iso(started),
        "model_version": node["ref"].text(),
        "disclosure_check": "n/a",
    }
    successes = sorted(
        s["created_at"].instant()
        for s in own
        if s["state"].text() == "success" and _status_in_production(s, node)
    )
    fields["promoted_at"] = iso(successes[0]) if successes else None
    payload = node.get("payload")
    if payload is not None and isinstance(payload.value, dict):
        for name in PAYLOAD_FIELDS:
            value = payload.get(name)
            if value is not None:
                fields[name] = value.value
    return Draft("deploy_record", f"github-deployment-{ident}", fields, node.location)


def _status_in_production(status: Node, deployment: Node) -> bool:
    env = status.get("environment")
    if env is None:
        return _environment(deployment) == "prod"
    return (
        env.text().lower() in PRODUCTION
        or _environment(deployment) == "prod"
        and (env.text() == deployment["environment"].text())
    )
