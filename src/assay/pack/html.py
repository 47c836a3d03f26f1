"""The Assessment rendered as one self-contained HTML document (jinja2, autoescape on).

The HTML carries its stylesheet and the control graph inline, so rendering it to PDF needs
no URL at all. Every value from the assessment or the evidence goes through jinja's
escaping; the only markup inserted unescaped is the SVG this package generates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from ..cel.fields import record_fields
from ..load.project import Project
from ..models.assessment import (
    STATUSES,
    Assessment,
    ControlResult,
    EvidencePointer,
    Finding,
    Verdict,
)
from .excerpts import Excerpt, ExcerptSource, created_span, excerpt_lines
from .manifest import (
    MANIFEST_NAME,
    PackAttachment,
    build_attachments,
    input_attachment_name,
    inputs_digest,
)
from .policy import resolved_policy_for
from .svg import LEGEND_ORDER, STATUS_STYLE, control_graph_svg

STATUS_LABEL = {
    "pass": "Pass",
    "fail": "Fail",
    "error": "Error",
    "blocked": "Blocked",
    "waived": "Waived",
    "not_applicable": "Not applicable",
}
_RANK = {status: index for index, status in enumerate(STATUSES)}


@dataclass(frozen=True)
class SignerView:
    """Who signs the pack, as the cover shows it."""

    name: str
    fingerprint: str
    """SHA-256 of the signer's certificate, colon-separated hex."""


@dataclass(frozen=True)
class PackContents:
    """Everything a pack is made of, computed once: the attachments and the HTML inputs."""

    assessment: Assessment
    attachments: tuple[PackAttachment, ...]
    resolved_policy: Mapping[str, Any]
    excerpts: ExcerptSource


def pack_contents(assessment: Assessment, project: Project) -> PackContents:
    """Collect the attachments and excerpt sources of a pack (deterministic)."""
    policy = resolved_policy_for(assessment, project)
    attachments = tuple(build_attachments(assessment, project, policy))
    return PackContents(assessment, attachments, policy, ExcerptSource(project.files))


def anchor(name: str) -> str:
    """A stable HTML id for an attachment name."""
    return "file-" + hashlib.sha256(name.encode()).hexdigest()[:12]


def _fmt_time(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _w3c(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(_fmt_value(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


_ENV = Environment(
    loader=PackageLoader("assay.pack", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters["time"] = _fmt_time
_ENV.filters["value"] = _fmt_value
_ENV.filters["anchor"] = anchor
_ENV.filters["label"] = lambda status: STATUS_LABEL.get(status, status)


def _stylesheet() -> str:
    return (resources.files("assay.pack") / "assets" / "pack.css").read_text(encoding="utf-8")


def _decisive(condition: str | None, count: int) -> list[frozenset[str]]:
    """Per record of a finding, the fields of the condition it did not meet. The engine
    lists the record a condition ran on (``r``) last and, for a ``covered`` check, the
    record it covers (``src``) first."""
    out = [frozenset[str]() for _ in range(count)]
    if condition and count:
        fields = record_fields(condition)
        out[-1] = frozenset(fields["r"])
        if count > 1:
            out[0] = out[0] | frozenset(fields["src"])
    return out


def evidence_markup(
    finding: Finding,
    excerpts: ExcerptSource,
    reads: Mapping[str, list[str]],
    *,
    context: bool,
) -> Markup:
    """The records of one finding as the content of one ``<pre>``: per record a pointer
    line (``file:line /N``, linked to the evidence index, then kind and id) and its
    excerpt. One block per finding, not per record, keeps the layout engine's work (the
    pack's main cost) small."""
    blocks: list[str] = []
    pointers = _unique(finding.evidence)
    decisive = _decisive(finding.condition, len(pointers))
    for pointer, unmet in zip(pointers, decisive, strict=True):
        where = pointer.file + (f":{pointer.line}" if pointer.line is not None else "")
        if pointer.pointer:
            where += f" {pointer.pointer}"
        # The fields the check read of this record's kind; unknown (a result without
        # `reads`): the whole record.
        fields = reads.get(pointer.kind) if pointer.kind is not None and reads else None
        excerpt = excerpts.excerpt(pointer, fields, context=context, decisive=unmet)
        record = " ".join(x for x in (pointer.kind, pointer.record_id) if x)
        if excerpt is not None and excerpt.hidden:
            shown = excerpt.fields - len(excerpt.hidden)
            record += f" · {shown} of {excerpt.fields} fields shown"
        target = anchor(input_attachment_name(pointer.file))
        head = Markup('<a href="#{}">{}</a>  {}').format(target, where, record)
        blocks.append(head + (excerpt_markup(excerpt) if excerpt is not None else ""))
    return Markup("\n").join(blocks)


def excerpt_markup(excerpt: Excerpt) -> Markup:
    """The excerpt's lines as the content of a ``<pre>`` (after its pointer line, so they
    start with a newline): every text escaped, each run of
    highlighted lines in one span. One element per run instead of one per row keeps the
    layout engine's work (the pack's main cost) small."""
    parts: list[str] = []
    run: list[str] = []
    current = ""

    def flush() -> None:
        if run:
            text = "\n".join(run)
            parts.append(f'<span class="{current}">{text}</span>' if current else text)
            run.clear()

    for text, kind in excerpt_lines(excerpt):
        if kind != current:
            flush()
            current = kind
        run.append(str(escape(text)))
    flush()
    return Markup("\n" + "\n".join(parts))


def _unique(pointers: list[EvidencePointer]) -> list[EvidencePointer]:
    """One pointer per record: a record that covers itself is listed once."""
    seen: dict[tuple[str, int | None, str], EvidencePointer] = {}
    for pointer in pointers:
        seen.setdefault((pointer.file, pointer.line, pointer.pointer), pointer)
    return list(seen.values())


PASSES_SHOWN = 3
"""Passing findings a check shows in the pack (every failure, error and pending finding is
shown); the others are counted, and listed in the embedded ``assessment.json``. Passes are
a sample of what held; listing twenty of them per check made a pack of hundreds of pages
without telling an auditor more."""


def _control_view(control: ControlResult, excerpts: ExcerptSource) -> dict[str, Any]:
    checks = []
    for check in control.checks:
        passes = [f for f in check.findings if f.outcome == "pass"]
        shown = [f for f in check.findings if f.outcome != "pass"] + passes[:PASSES_SHOWN]
        # The engine's order (failures first, then by file and line), whatever was cut.
        shown.sort(key=check.findings.index)
        findings = [
            {
                "outcome": finding.outcome,
                "message": finding.message,
                # A failure shows its records whole, the fields read highlighted; any
                # other finding only the fields read (the pointer line says how many).
                "evidence": evidence_markup(
                    finding,
                    excerpts,
                    check.reads,
                    context=finding.outcome in ("fail", "error"),
                ),
            }
            for finding in shown
        ]
        checks.append(
            {
                "check": check,
                "findings": findings,
                "unlisted": len(check.findings) - len(shown),
            }
        )
    params = [
        {
            "name": name,
            "value": control.params[name],
            "source": control.param_sources.get(name, "default"),
        }
        for name in sorted(control.params)
    ]
    mappings = [
        (label, values)
        for label, values in (
            ("EU AI Act", control.mappings.eu_ai_act),
            ("NIST AI RMF 1.0", control.mappings.nist_ai_rmf),
            ("ISO/IEC 42001:2023", control.mappings.iso_42001),
            ("Other", control.mappings.other),
        )
        if values
    ]
    return {"c": control, "checks": checks, "params": params, "mappings": mappings}


def _yaml(data: Any) -> str:
    """Plain data as block YAML, keys in the given order (the appendix's check listings)."""
    text: str = yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, width=88, default_flow_style=False
    )
    return text.rstrip("\n")


def _policy_view(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The resolved policy (exactly the data embedded as ``resolved-policy.json``) as the
    appendix shows it: facts, then per control its parameters and its checks in YAML."""
    controls = []
    for control in policy.get("controls", []):
        sources = control.get("param_sources", {})
        params = [
            {"name": name, "value": value, "source": sources.get(name, "default")}
            for name, value in sorted(control.get("params", {}).items())
        ]
        checks = []
        for check in control.get("checks", []):
            # id and kind first: what a reader looks for; then the model's own order.
            ordered = {"id": check.get("id"), "kind": check.get("kind")}
            ordered.update((k, v) for k, v in check.items() if k not in ordered)
            checks.append(ordered)
        source = control.get("source") or {}
        where = source.get("file", "")
        if source.get("line"):
            where += f":{source['line']}"
        controls.append(
            {
                "id": control.get("id"),
                "title": control.get("title"),
                "required_by": control.get("required_by"),
                "applicable": control.get("applicable", True),
                "requires": control.get("requires", []),
                "params": params,
                # One listing per control (a YAML list of its checks): one block to lay out.
                "checks": _yaml(checks) if checks else "",
                "waivers": [w.get("id") for w in control.get("waivers", [])],
                "source": where,
            }
        )
    return {
        "workflow": policy.get("workflow", {}),
        "risk_class": policy.get("risk_class"),
        "lineage": policy.get("lineage", []),
        "prohibited": policy.get("prohibited", False),
        "hypercare": policy.get("hypercare", {}),
        "as_of": policy.get("as_of"),
        "controls": controls,
    }


def _evidence_index(contents: PackContents) -> list[dict[str, Any]]:
    records = {d.path: d.records for d in contents.assessment.inputs}
    kinds: dict[str, set[str]] = {}
    for control in contents.assessment.controls:
        for check in control.checks:
            for finding in check.findings:
                for pointer in finding.evidence:
                    if pointer.kind:
                        kinds.setdefault(pointer.file, set()).add(pointer.kind)
    rows = []
    for item in contents.attachments:
        if item.role != "evidence" or item.path is None:
            continue
        rows.append(
            {
                "name": item.name,
                "path": item.path,
                "kinds": ", ".join(sorted(kinds.get(item.path, ()))) or "—",
                "records": records.get(item.path),
                "sha256": item.sha256,
                "span": created_span(item.data, item.path),
            }
        )
    return rows


_DETAIL_WORDS = {
    "fail": "{n} failed",
    "error": "{n} could not be evaluated",
    "blocked": "{n} blocked by a control that did not pass",
    "waived": "{n} waived",
    "pass": "{n} passed",
    "not_applicable": "{n} not applicable",
}


def verdict_detail(assessment: Assessment) -> str:
    """Why the verdict is what it is, in one sentence (the verdict word itself is the
    model's :class:`~assay.models.assessment.Verdict`, shown as it is everywhere)."""
    if assessment.verdict is Verdict.PROHIBITED:
        return assessment.prohibited_reason or "the risk class is prohibited."
    counts = assessment.summary.counts
    total = sum(counts.values())
    parts = [_DETAIL_WORDS[s].format(n=counts[s]) for s in STATUSES if counts.get(s)]
    if not parts:
        return "No control is required, so nothing is shown to hold."
    return (
        f"Of the {total} control{'' if total == 1 else 's'} its risk class requires: "
        f"{', '.join(parts)}."
    )


def render_contents(contents: PackContents, *, signer: SignerView | str | None = None) -> str:
    """Render prepared pack contents to HTML."""
    a = contents.assessment
    if isinstance(signer, str):
        signer = SignerView(signer, "")
    controls = [_control_view(c, contents.excerpts) for c in a.controls]
    ordered = sorted(a.controls, key=lambda c: (_RANK.get(c.status, 99), c.id))
    counts = [(s, a.summary.counts.get(s, 0)) for s in STATUSES]
    graph = control_graph_svg(
        [(c.id, c.status) for c in a.controls],
        [(c.id, dep) for c in a.controls for dep in c.requires],
    )
    waivers = sorted((w for c in a.controls for w in c.waivers), key=lambda w: (w.expires_at, w.id))
    assessment_json = next(x for x in contents.attachments if x.name == "assessment.json")
    manifest = next(x for x in contents.attachments if x.name == MANIFEST_NAME)
    template = _ENV.get_template("pack.html.j2")
    return template.render(
        a=a,
        css=Markup(_stylesheet()),
        graph=Markup(graph),  # generated by svg.py, which escapes every label
        controls=controls,
        ordered=ordered,
        attention=[c for c in ordered if c.status in ("fail", "error", "blocked")],
        counts=counts,
        waivers=waivers,
        evidence=_evidence_index(contents),
        attachments=contents.attachments,
        policy=_policy_view(contents.resolved_policy),
        inputs_digest=inputs_digest(a),
        assessment_sha256=assessment_json.sha256,
        manifest_sha256=manifest.sha256,
        signer=signer,
        created=_w3c(a.as_of),
        status_style=STATUS_STYLE,
        verdict_detail=verdict_detail(a),
        legend=LEGEND_ORDER,
    )


def render_html(
    assessment: Assessment,
    project: Project,
    *,
    signer: SignerView | str | None = None,
) -> str:
    """Render the audit pack's HTML for ``assessment`` over ``project``'s files.

    ``signer`` is the name shown on the cover (None: the pack is unsigned).
    """
    return render_contents(pack_contents(assessment, project), signer=signer)
