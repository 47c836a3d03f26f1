"""The control catalog and risk classes as a Markdown reference (docs/catalog.md).

``assay catalog export --format markdown`` writes it; the project's own docs/catalog.md is
this rendering of the bundled policies, checked by a test. It reads only the models (the
loaded controls and classes): a page per catalog with

* the risk classes, their ladder and hypercare rules;
* a table of controls: severity, the lowest class that requires it, dependencies;
* per control: intent, evidence, dependencies, applicability, every parameter with the
  value each class resolves (after inheritance) and, where hypercare tightens it, the
  hypercare value; every check in its own words; the framework references; remediation.

Deterministic: classes by level, controls in catalog order, no clock. Text the authors wrote
is escaped for Markdown tables (``|``, HTML-significant characters, line breaks).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from assay.models.duration import Duration
from assay.models.policy import Control, ParamSpec, ParamValue, RiskClass

_FRAMEWORKS = (
    ("eu_ai_act", "EU AI Act (Regulation (EU) 2024/1689)"),
    ("nist_ai_rmf", "NIST AI RMF 1.0"),
    ("iso_42001", "ISO/IEC 42001:2023"),
    ("other", "Other"),
)
_STRICTER_WORDS = {
    "higher": "higher",
    "lower": "lower",
    "superset": "more items",
    "true": "true",
    "none": "—",
}


def catalog_markdown(
    controls: Iterable[Control],
    classes: Iterable[RiskClass],
    *,
    catalogs: Sequence[tuple[str, str]] = (),
    generated_by: str = "assay catalog export --format markdown",
) -> str:
    """The catalog reference as Markdown: ``controls`` in the order given (catalog order),
    ``classes`` ordered by level; ``catalogs`` names the (catalog, version) pairs shown in the
    title; ``generated_by`` is the command a reader runs to regenerate the page."""
    controls = list(controls)
    ranked = sorted(classes, key=lambda risk: (risk.level, risk.id))
    by_id = {risk.id: risk for risk in ranked}
    chains = {risk.id: _lineage(by_id, risk.id) for risk in ranked}
    ladder = [risk for risk in ranked if not risk.prohibited]
    name = "; ".join(f"{cat} {ver}".strip() for cat, ver in catalogs) or "the control catalog"
    out: list[str] = [
        f"# Control catalog: {_text(name)}",
        "",
        f"Generated from the policies by `{generated_by}`: do not edit by hand. "
        f"{len(controls)} controls, {len(ladder)} risk classes"
        + (" and a prohibition gate." if len(ladder) < len(ranked) else "."),
        "",
        "## Risk classes",
        "",
        "| Class | Title | Level | Extends | Controls | Hypercare |",
        "|---|---|---:|---|---:|---|",
    ]
    for risk in ranked:
        required = _required(chains[risk.id])
        aliases = f" ({', '.join(risk.aliases)})" if risk.aliases else ""
        hypercare = _hypercare_text(chains[risk.id]) if not risk.prohibited else "—"
        out.append(
            f"| `{risk.id}`{aliases} | {_text(risk.title)} | {risk.level} | "
            f"{f'`{risk.extends}`' if risk.extends else '—'} | "
            f"{'every release denied' if risk.prohibited else len(required)} | {hypercare} |"
        )
    out.append("")
    for risk in ranked:
        if risk.description:
            out.append(f"- **`{risk.id}`**: {_text(risk.description)}")
    out += [
        "",
        "A class includes every control of the classes it extends and may only tighten their "
        "parameters. During hypercare the stricter of the class value and the hypercare value "
        "applies.",
        "",
        "## Controls",
        "",
        "| Control | Title | Severity | Required from | Depends on |",
        "|---|---|---|---|---|",
    ]
    for control in controls:
        lowest = next((r.id for r in ladder if control.id in _required(chains[r.id])), None)
        depends = ", ".join(f"[{dep}](#{_anchor(dep)})" for dep in control.requires) or "—"
        out.append(
            f"| [{control.id}](#{_anchor(control.id)}) | {_text(control.title)} | "
            f"{control.severity} | {f'`{lowest}`' if lowest else 'no class'} | {depends} |"
        )
    for control in controls:
        out += ["", *_control(control, ladder, chains)]
    lines = [line for i, line in enumerate(out) if line or (i and out[i - 1])]
    return "\n".join(lines).rstrip() + "\n"


def _control(
    control: Control, ladder: list[RiskClass], chains: Mapping[str, list[RiskClass]]
) -> list[str]:
    out = [
        f"## {control.id}",
        "",
        f"**{_text(control.title)}**. {_text(control.intent)}",
        "",
        f"- Severity: {control.severity}",
        f"- Evidence: {', '.join(f'`{kind}`' for kind in control.evidence)}",
        "- Depends on: "
        + (", ".join(f"[{dep}](#{_anchor(dep)})" for dep in control.requires) or "—"),
    ]
    if control.applies_if:
        out.append(f"- Applies when: `{' '.join(control.applies_if.split())}`")
    if control.prohibition_gate:
        out.append("- A failure of its prohibition check denies every release; no waiver applies.")
    requiring = [risk for risk in ladder if control.id in _required(chains[risk.id])]
    if control.params:
        out += [
            "",
            "### Parameters",
            "",
            "| Parameter | Meaning | Stricter | "
            + " | ".join(f"`{risk.id}`" for risk in ladder)
            + " |",
            "|---|---|---|" + "---|" * len(ladder),
        ]
        for pname, spec in control.params.items():
            cells = []
            for risk in ladder:
                if risk not in requiring:
                    cells.append("—")
                    continue
                value, hypercare = _values(control.id, pname, spec, chains[risk.id])
                cell = _value(spec, value) if value is not None else "(not set)"
                if hypercare is not None:
                    cell += f"<br>hypercare: {_value(spec, hypercare)}"
                cells.append(cell)
            out.append(
                f"| `{pname}` | {_text(spec.description)} | "
                f"{_STRICTER_WORDS[spec.stricter]} | " + " | ".join(cells) + " |"
            )
    out += ["", "### Checks", ""]
    for check in control.checks:
        window = f", last {_window_text(check.window)}" if check.window is not None else ""
        # Generic over check kinds: a kind that links to other records has `by`.
        link = getattr(check, "by", None)
        covered_by = f" by `{link.evidence}`" if link is not None else ""
        # A kind that reads files, not records (sealed), names no evidence kind.
        target = f"`{check.evidence}`" if check.evidence_kinds() else "every evidence file"
        out.append(
            f"- `{check.id}` ({check.kind} on {target}{covered_by}{window}): "
            f"{_text(check.description)}"
        )
        conditions = [(c.name, " ".join(c.source.split())) for c in check.conditions()]
        if conditions:
            out += ["", "  <details><summary>Conditions (CEL)</summary>", "", "  ```"]
            out += [f"  {name}: {source}" for name, source in conditions]
            out += ["  ```", "", "  </details>", ""]
    refs = [
        f"- {title}: {', '.join(_text(ref) for ref in getattr(control.mappings, field))}"
        for field, title in _FRAMEWORKS
        if getattr(control.mappings, field)
    ]
    if refs:
        out += ["", "### References", "", *refs]
    out += ["", "### Remediation", "", _text(control.remediation)]
    return out


def _lineage(classes: Mapping[str, RiskClass], class_id: str) -> list[RiskClass]:
    """The class and its ancestors, lowest first (cycles are refused when policies load)."""
    chain: list[RiskClass] = []
    current: RiskClass | None = classes[class_id]
    while current is not None and current not in chain:
        chain.append(current)
        current = classes.get(current.extends) if current.extends else None
    return list(reversed(chain))


def _required(chain: Sequence[RiskClass]) -> set[str]:
    return {cid for risk in chain for cid in risk.controls}


def _hypercare_text(chain: Sequence[RiskClass]) -> str:
    rules = next((risk.hypercare for risk in reversed(chain) if risk.hypercare), None)
    if rules is None:
        return "—"
    return f"{rules.days} days, extended {rules.extension_days} days at a time"


def _values(
    control_id: str, name: str, spec: ParamSpec, chain: Sequence[RiskClass]
) -> tuple[ParamValue | None, ParamValue | None]:
    """The class value after inheritance, and the hypercare value where it is stricter."""
    value: ParamValue | None = spec.default
    for risk in chain:
        raw = risk.params.get(control_id, {}).get(name)
        if raw is not None:
            value = raw
    if value is None:
        return None, None
    effective = value
    for risk in chain:
        raw = risk.hypercare.params.get(control_id, {}).get(name) if risk.hypercare else None
        if raw is not None:
            effective = _stricter(spec, effective, raw)
    return value, (effective if _key(spec, effective) != _key(spec, value) else None)


def _key(spec: ParamSpec, value: ParamValue) -> Any:
    if spec.type == "duration":
        return Duration.parse(str(value)).approx_seconds()
    if isinstance(value, list):
        return tuple(sorted(value))
    return value


def _stricter(spec: ParamSpec, current: ParamValue, new: ParamValue) -> ParamValue:
    """The stricter of two values in the parameter's direction (the engine's rule)."""
    if spec.stricter == "none":
        return new
    if spec.stricter == "true":
        return bool(current) or bool(new)
    if spec.stricter == "superset":
        assert isinstance(current, list) and isinstance(new, list)
        return sorted(set(current) | set(new))
    a, b = _key(spec, current), _key(spec, new)
    if spec.stricter == "higher":
        return current if a > b else new
    return current if a < b else new


def _value(spec: ParamSpec, value: ParamValue) -> str:
    if spec.type == "duration":
        return _duration_text(str(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(f"`{item}`" for item in value) or "(none)"
    if isinstance(value, str):
        return f"`{value}`"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _duration_text(value: object) -> str:
    """A duration in words with its policy spelling (``5 business days (5bd)``); a parameter
    reference as its name."""
    if isinstance(value, str) and value.startswith("$"):
        return f"`{value[1:]}`"
    duration = value if isinstance(value, Duration) else Duration.parse(str(value))
    words, text = duration.describe(), str(duration)
    return words if words.replace(" ", "") == text else f"{words} ({text})"


def _window_text(value: object) -> str:
    if isinstance(value, str) and value.startswith("$"):
        return f"`{value[1:]}`"
    duration = value if isinstance(value, Duration) else Duration.parse(str(value))
    return duration.describe()


def _anchor(control_id: str) -> str:
    """GitHub's heading anchor for a control id (lower case, dashes kept)."""
    return control_id.lower()


def _text(text: str) -> str:
    """Author text for a Markdown page: one line, HTML-significant characters and table
    pipes escaped."""
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")
