"""Prometheus alerting rules (and the Alertmanager routing that sends them to a rota) ->
the ``alerts`` and ``signals`` of one ``observability_config``.

Accepted files: rule files (``groups: [{name, rules: [{alert, expr, for, labels}]}]``), the
Prometheus Operator's ``PrometheusRule`` (the same groups under ``spec``), and an Alertmanager
configuration (``route`` tree and ``receivers``). With an Alertmanager configuration, an alert
pages the receiver its labels are routed to; without one, its ``rotation_id`` label names the
rota. The other fields of the config (log retention, integrity, last telemetry) are not in
these files: pass them with ``--set``. The mapping is documented in docs/importers.md.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from .base import Conversion, Draft, ExportFile, ImportOptions, Node, iso, load_yaml_documents

_TRAILING = re.compile(r"(?:>=|<=|>|<|==|!=)\s*(-?[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?)\s*$")
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


def import_prometheus(files: Sequence[ExportFile], options: ImportOptions) -> Conversion:
    rules: list[Node] = []
    route: Node | None = None
    digest = hashlib.sha256()
    for export in sorted(files, key=lambda f: f.name):
        digest.update(hashlib.sha256(export.data).digest())
        for value, positions in load_yaml_documents(export):
            root = Node(value, export.name, "", positions)
            body = root.mapping()
            if body.get("kind") == "PrometheusRule":
                groups = root["spec"]["groups"]
            elif "groups" in body:
                groups = root["groups"]
            elif "route" in body:
                route = root["route"]
                continue
            else:
                raise root.error(
                    "expected Prometheus rule groups ('groups'), a PrometheusRule or an "
                    "Alertmanager configuration ('route')"
                )
            for group in groups.items():
                rules.extend(group["rules"].items())
    alerts: list[dict[str, Any]] = []
    signals: set[str] = set()
    out = Conversion([])
    for rule in rules:
        labels = _labels(rule)
        signal = labels.get("signal")
        if rule.get("alert") is None:
            if signal:
                signals.add(signal)  # a recording rule that produces a signal
            continue
        name = rule["alert"].text()
        signal = signal or name
        signals.add(signal)
        if route is not None:
            rotation = _route(route, {**labels, "alertname": name})
        else:
            rotation = labels.get("rotation_id")
        if not rotation:
            raise rule.error(
                f"alert {name!r}: no rota: give the Alertmanager configuration, or label the "
                "rule with rotation_id"
            )
        expr = rule["expr"].text().strip()
        match = _TRAILING.search(expr)
        threshold: float | str = float(match.group(1)) if match else " ".join(expr.split())
        alerts.append({"signal": signal, "threshold": threshold, "rotation_id": rotation})
    if not alerts:
        return out
    alerts.sort(key=lambda a: (a["signal"], a["rotation_id"], str(a["threshold"])))
    ident = f"prometheus-rules-{digest.hexdigest()[:16]}"
    fields: dict[str, Any] = {
        "created_at": iso(options.now),
        "source_uri": "prometheus-rules:" + ",".join(sorted(f.name for f in files)),
        "signals": sorted(signals),
        "alerts": alerts,
    }
    first = rules[0]
    out.drafts.append(
        Draft(
            "observability_config",
            ident,
            fields,
            Node(None, first.file).location,
            volatile=frozenset({"created_at"}),
        )
    )
    return out


def _labels(rule: Node) -> dict[str, str]:
    labels = rule.get("labels")
    if labels is None:
        return {}
    return {str(k): str(v) for k, v in labels.mapping().items()}


def _matches(route: Node, labels: dict[str, str]) -> bool:
    body = route.mapping()
    for key, value in (body.get("match") or {}).items():
        if labels.get(key) != str(value):
            return False
    for key, pattern in (body.get("match_re") or {}).items():
        if re.fullmatch(str(pattern), labels.get(key, "")) is None:
            return False
    matchers = route.get("matchers")
    for item in matchers.items() if matchers is not None else []:
        found = _MATCHER.match(item.text())
        if found is None:
            raise item.error(f"cannot read the matcher {item.value!r}")
        key, op, value = found.groups()
        actual = labels.get(key, "")
        ok = {
            "=": actual == value,
            "!=": actual != value,
            "=~": re.fullmatch(value, actual) is not None,
            "!~": re.fullmatch(value, actual) is None,
        }[op]
        if not ok:
            return False
    return True


def _route(route: Node, labels: dict[str, str], parent: str | None = None) -> str | None:
    """The receiver Alertmanager sends an alert with ``labels`` to: the deepest matching
    route, children tried in order, the first match winning (``continue`` is not followed:
    the first receiver is the one that pages)."""
    receiver = route.get("receiver")
    here = receiver.text() if receiver is not None else parent
    children = route.get("routes")
    for sub in children.items() if children is not None else []:
        if _matches(sub, labels):
            return _route(sub, labels, here)
    return here
