"""PagerDuty REST API v2: incidents and their log entries -> ``incident``; on-calls ->
``oncall_schedule``.

Accepted files (JSON, as the API returns them; several may be given together):
``{"incidents": [...]}`` (List incidents) or ``{"incident": {...}}`` (Get an incident);
``{"log_entries": [...]}`` (List log entries, of one incident or the account; each entry names
its incident), or a ``log_entries`` list inside an incident object; ``{"oncalls": [...]}``
(List all of the on-calls); ``{"escalation_policies": [...]}`` (its first rule's escalation
delay is the on-call's acknowledgement SLA). The mapping is documented in docs/importers.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .base import Conversion, Draft, ExportFile, ImportOptions, Node, iso, load_json

SEVERITY_BY_PRIORITY = {"P1": "SEV1", "P2": "SEV2", "P3": "SEV3", "P4": "SEV4", "P5": "SEV4"}
TIER_BY_LEVEL = {1: "primary", 2: "secondary"}
"""Escalation level -> shift tier; level 3 and above are the ML-expert tier."""
CUSTOM_FIELDS = (
    "users_affected",
    "budget_burn_pct",
    "model_quality",
    "user_comms_at",
    "si_screened_at",
    "si_determination",
    "si_category",
    "widespread_infringement",
)
"""Incident fields PagerDuty has no notion of, read from incident custom fields of that name."""


def import_pagerduty(files: Sequence[ExportFile], options: ImportOptions) -> Conversion:
    incidents: list[Node] = []
    logs: dict[str, list[Node]] = defaultdict(list)
    oncalls: list[Node] = []
    policies: dict[str, Node] = {}
    for export in files:
        root = Node(load_json(export), export.name)
        body = root.mapping()
        known = False
        if "incidents" in body:
            incidents.extend(root["incidents"].items())
            known = True
        if "incident" in body:
            incidents.append(root["incident"])
            known = True
        if "log_entries" in body:
            for entry in root["log_entries"].items():
                logs[entry["incident"]["id"].text()].append(entry)
            known = True
        if "oncalls" in body:
            oncalls.extend(root["oncalls"].items())
            known = True
        if "escalation_policies" in body:
            for policy in root["escalation_policies"].items():
                policies[policy["id"].text()] = policy
            known = True
        if not known:
            raise root.error(
                "not a PagerDuty API response: expected a top-level 'incidents', 'incident', "
                f"'log_entries', 'oncalls' or 'escalation_policies' (found: {_keys(body)})"
            )
    drafts = [_incident(node, logs, options) for node in incidents]
    conversion = Conversion(drafts)
    if oncalls:
        _schedules(oncalls, policies, options, conversion)
    return conversion


def _keys(body: dict[str, Any]) -> str:
    return ", ".join(sorted(body)[:8]) or "nothing"


# --- incidents ----------------------------------------------------------------------------


def _incident(node: Node, logs: dict[str, list[Node]], options: ImportOptions) -> Draft:
    ident = node["id"].text()
    entries = list(logs.get(ident, []))
    embedded = node.get("log_entries")
    if embedded is not None:
        entries.extend(embedded.items())
    dated = sorted(((e["created_at"].instant(), e) for e in entries), key=lambda p: p[0])

    def first(*types: str) -> tuple[datetime, Node] | None:
        return next(((t, e) for t, e in dated if e["type"].text() in types), None)

    created = node["created_at"].instant()
    fields: dict[str, Any] = {
        "created_at": iso(created),
        "source_uri": (node.get("html_url") or node["self"]).text(),
        "aware_at": iso(created),
    }
    title = node.get("title") or node.get("summary")
    if title is not None:
        fields["title"] = title.text()
    priority = node.get("priority")
    if priority is not None:
        name = (priority.get("name") or priority["summary"]).text()
        severity = SEVERITY_BY_PRIORITY.get(name.upper())
        if severity is None:
            raise priority.error(
                f"incident {ident!r}: priority {name!r} has no severity "
                f"(expected one of {', '.join(SEVERITY_BY_PRIORITY)})"
            )
        fields["severity"] = severity
    paged = first("notify_log_entry") or first("trigger_log_entry")
    fields["paged_at"] = iso(paged[0] if paged else created)
    resolved = first("resolve_log_entry")
    resolved_at = resolved[0] if resolved else None
    if resolved_at is None and node["status"].text() == "resolved":
        stamp = node.get("resolved_at") or node.get("last_status_change_at")
        resolved_at = stamp.instant() if stamp is not None else None
    fields["resolved_at"] = iso(resolved_at) if resolved_at else None
    acked = first("acknowledge_log_entry")
    timeline = [{"ts": iso(t), "entry": (e.get("summary") or e["type"]).text()} for t, e in dated]
    if acked is not None:
        fields["acked_at"] = iso(acked[0])
    else:
        # Never acknowledged: the delay runs until the incident ended (or until this import
        # while it is open), so an acknowledgement SLA fails rather than passes.
        fields["acked_at"] = iso(resolved_at or options.now)
        timeline.append({"ts": fields["acked_at"], "entry": "never acknowledged (Assay import)"})
    owner = _owner(node, acked, dated)
    if owner is not None:
        fields["owner"] = owner
    fields["timeline"] = timeline
    fields["users_affected"] = True  # unknown to PagerDuty: assume the stricter case
    fields["si_determination"] = "pending"
    fields["widespread_infringement"] = False
    custom = node.get("custom_fields")
    if custom is not None:
        for item in custom.items():
            name = item["name"].text()
            if name in CUSTOM_FIELDS:
                value = item.get("value")
                fields[name] = value.value if value is not None else None
    return Draft("incident", ident, fields, node.location)


def _owner(
    node: Node, acked: tuple[datetime, Node] | None, dated: list[tuple[datetime, Node]]
) -> str | None:
    if acked is not None and acked[1].get("agent") is not None:
        return acked[1]["agent"]["summary"].text()
    for _, entry in dated:
        if entry["type"].text() == "assign_log_entry" and entry.get("assignees") is not None:
            for who in entry["assignees"].items():
                return who["summary"].text()
    assignments = node.get("assignments")
    if assignments is not None:
        for item in assignments.items():
            return item["assignee"]["summary"].text()
    return None


# --- on-call schedules --------------------------------------------------------------------


def _schedules(
    oncalls: list[Node], policies: dict[str, Node], options: ImportOptions, out: Conversion
) -> None:
    groups: dict[str, list[Node]] = defaultdict(list)
    for node in oncalls:
        groups[node["escalation_policy"]["id"].text()].append(node)
    for policy_id in sorted(groups):
        shifts: list[dict[str, Any]] = []
        spans: list[tuple[datetime, datetime]] = []
        nodes = groups[policy_id]
        for node in nodes:
            start, end = node.get("start"), node.get("end")
            if start is None or end is None:
                out.skipped.append(
                    f"{node.location}: a permanent on-call (no start or end) is not a shift"
                )
                continue
            level = node["escalation_level"].integer()
            begin, finish = start.instant(), end.instant()
            tier = TIER_BY_LEVEL.get(level, "ml_expert")
            shifts.append(
                {
                    "start": iso(begin),
                    "end": iso(finish),
                    "person": node["user"]["summary"].text(),
                    "tier": tier,
                }
            )
            if tier == "primary":
                spans.append((begin, finish))
        if not shifts:
            continue
        shifts.sort(key=lambda s: (s["start"], s["tier"], s["person"]))
        reference = nodes[0]["escalation_policy"]
        fields: dict[str, Any] = {
            "created_at": iso(options.now),
            "source_uri": (reference.get("html_url") or reference["self"]).text(),
            "rotation_id": policy_id,
            "coverage": "24x7" if _continuous(spans) else "business_hours",
            "shifts": shifts,
        }
        policy = policies.get(policy_id)
        if policy is not None:
            rules = policy["escalation_rules"].items()
            if rules:
                fields["ack_sla_min"] = rules[0]["escalation_delay_in_minutes"].integer()
        ident = f"{policy_id}/{shifts[0]['start']}/{max(s['end'] for s in shifts)}"
        out.drafts.append(
            Draft(
                "oncall_schedule",
                ident,
                fields,
                nodes[0].location,
                volatile=frozenset({"created_at"}),
            )
        )


def _continuous(spans: list[tuple[datetime, datetime]]) -> bool:
    """True when the primary shifts leave no gap between the first start and the last end."""
    if not spans:
        return False
    spans.sort()
    reach = spans[0][1]
    for begin, finish in spans[1:]:
        if begin > reach:
            return False
        reach = max(reach, finish)
    return True
