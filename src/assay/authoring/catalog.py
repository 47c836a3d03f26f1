"""The control catalog as an OSCAL 1.1.3 catalog (``assay catalog export --format oscal``).

One OSCAL control per Assay control, flat and ordered by id (severity is a property, not a
group: a control whose severity changes keeps its place and its path). Each control has:

* ``id``: the Assay id in lower case (OSCAL ids are tokens; the assessment-results format
  uses the same lower-case ids, so the two documents line up);
* parts: ``overview`` (the intent), ``statement`` with one ``item`` per check, written out
  in words with ``{{ insert: param, ... }}`` for parameters, and ``guidance`` (remediation);
* params: one per control parameter, with its description, type, which way is stricter, its
  default, and the value each risk class sets (``class-value``, prop ``class`` = class id)
  and sets during hypercare (``hypercare-value``);
* props: severity, evidence kinds, ``applies-if``, where the control is defined, and one
  ``mapping`` prop per framework reference (prop ``class``: eu-ai-act, nist-ai-rmf,
  iso-42001, other);
* links: ``reference`` links to the framework's back-matter resource (text = the article,
  subcategory or Annex A control) and ``required`` links to the controls it depends on.

Deterministic: every UUID is a version-5 UUID of a stable name under Assay's OSCAL
namespace, and ``last-modified`` is never the wall clock: it is :data:`DEFAULT_LAST_MODIFIED`
(the Unix epoch, as reproducible builds do with ``SOURCE_DATE_EPOCH=0``) unless the caller
passes a time (the CLI's ``--last-modified``, e.g. the release date of the policies).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from assay.checks import check_kind
from assay.checks.base import one_line
from assay.errors import UsageError
from assay.load.project import Project
from assay.models.assessment import canonical_json
from assay.models.duration import Duration
from assay.models.policy import (
    Check,
    Control,
    ParamSpec,
)
from assay.resolve import lineage, plain_params, typed_value

from ..formats.catalog_markdown import catalog_markdown
from ..formats.oscal import NAMESPACE, OSCAL_VERSION, PROP_NS
from ..models.time import timestamp

DEFAULT_LAST_MODIFIED = datetime(1970, 1, 1, tzinfo=UTC)
"""``metadata.last-modified`` when the caller gives none: fixed, so that identical policies
give byte-identical catalogs."""

FRAMEWORKS: tuple[tuple[str, str, str, str], ...] = (
    # (mapping field, prop class, title, canonical address)
    (
        "eu_ai_act",
        "eu-ai-act",
        "Regulation (EU) 2024/1689 (Artificial Intelligence Act)",
        "https://eur-lex.europa.eu/eli/reg/2024/1689/oj",
    ),
    (
        "nist_ai_rmf",
        "nist-ai-rmf",
        "NIST AI 100-1, Artificial Intelligence Risk Management Framework (AI RMF 1.0)",
        "https://doi.org/10.6028/NIST.AI.100-1",
    ),
    (
        "iso_42001",
        "iso-42001",
        "ISO/IEC 42001:2023, Artificial intelligence — Management system",
        "https://www.iso.org/standard/81230.html",
    ),
)


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def _line(text: str) -> str:
    """A single-line, trimmed string (OSCAL StringDatatype refuses line breaks and edges)."""
    return " ".join(str(text).split())


def _prop(name: str, value: str, cls: str | None = None) -> dict[str, str]:
    prop = {"name": name, "ns": PROP_NS, "value": _line(value) or "-"}
    if cls is not None:
        prop["class"] = cls
    return prop


def _token(control_id: str) -> str:
    return control_id.lower()


def _param_id(control_id: str, name: str) -> str:
    return f"{_token(control_id)}_prm_{name}"


def _value_text(value: Any) -> str:
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)


def oscal_catalog(project: Project, *, last_modified: datetime | None = None) -> str:
    """The project's control catalog as an OSCAL 1.1.3 catalog document (canonical JSON)."""
    if not project.controls:
        raise UsageError("the project defines no controls; there is no catalog to export")
    moment = last_modified or DEFAULT_LAST_MODIFIED
    versions = list(project.catalogs)
    names = ", ".join(name for name, _ in versions) or "catalog"
    if len(versions) == 1:
        version = versions[0][1] or "unversioned"
    else:
        version = "; ".join(f"{name} {ver}" for name, ver in versions) or "unversioned"
    doc_key = "|".join(f"{name}@{ver}" for name, ver in versions) or "catalog"
    framework_uuids = {field: _uuid("framework", field) for field, _, _, _ in FRAMEWORKS}
    controls = [
        _control(project, project.controls[cid], framework_uuids)
        for cid in sorted(project.controls)
    ]
    resources: list[dict[str, Any]] = [
        {
            "uuid": framework_uuids[field],
            "title": title,
            "props": [_prop("framework", cls)],
            "rlinks": [{"href": href}],
        }
        for field, cls, title, href in FRAMEWORKS
    ]
    policies = sorted((f.path, f.sha256) for f in project.files if f.role in ("config", "policy"))
    for path, sha in policies:
        resources.append(
            {
                "uuid": _uuid("input", path, sha),
                "title": path,
                "props": [_prop("role", "policy")],
                "rlinks": [{"href": path, "hashes": [{"algorithm": "SHA-256", "value": sha}]}],
            }
        )
    metadata: dict[str, Any] = {
        "title": f"Assay control catalog: {names}",
        "last-modified": timestamp(moment),
        "version": _line(version),
        "oscal-version": OSCAL_VERSION,
        "props": [_prop("catalog", name) for name, _ in versions],
    }
    if not metadata["props"]:
        del metadata["props"]
    document = {
        "catalog": {
            "uuid": _uuid("catalog", doc_key),
            "metadata": metadata,
            "controls": controls,
            "back-matter": {"resources": resources},
        }
    }
    return canonical_json(document).decode()


def _control(project: Project, control: Control, framework_uuids: dict[str, str]) -> dict[str, Any]:
    token = _token(control.id)
    src = project.source(f"control:{control.id}")
    props = [_prop("severity", control.severity)]
    props += [_prop("evidence-kind", kind) for kind in sorted(set(control.evidence))]
    if control.applies_if:
        props.append(_prop("applies-if", control.applies_if))
    props.append(_prop("defined-at", f"{src.file}:{src.line}" if src.line else src.file))
    links: list[dict[str, str]] = []
    mappings = control.mappings
    for field, cls, _, _ in FRAMEWORKS:
        for ref in sorted(set(getattr(mappings, field))):
            props.append(_prop("mapping", ref, cls))
            links.append({"href": f"#{framework_uuids[field]}", "rel": "reference", "text": ref})
    for ref in sorted(set(mappings.other)):
        props.append(_prop("mapping", ref, "other"))
    for dep in sorted(set(control.requires)):
        if dep in project.controls:
            links.append({"href": f"#{_token(dep)}", "rel": "required", "text": dep})
    statement_items = [
        {
            "id": f"{token}_smt.{check.id}",
            "name": "item",
            "title": check.id,
            "props": [_prop("check-kind", check.kind), _prop("evidence-kind", check.evidence)],
            "prose": f"{check.description.strip()}\n\n{check_in_words(control.id, check)}",
        }
        for check in control.checks
    ]
    out: dict[str, Any] = {
        "id": token,
        "title": _line(control.title),
        "props": props,
        "parts": [
            {"id": f"{token}_ovw", "name": "overview", "title": "Intent", "prose": control.intent},
            {
                "id": f"{token}_smt",
                "name": "statement",
                "prose": "The control passes when every check below passes.",
                "parts": statement_items,
            },
            {
                "id": f"{token}_gdn",
                "name": "guidance",
                "title": "Remediation",
                "prose": control.remediation,
            },
        ],
    }
    params = [_param(project, control, name, spec) for name, spec in sorted(control.params.items())]
    if params:
        out["params"] = params
    if links:
        out["links"] = links
    return out


def _param(project: Project, control: Control, name: str, spec: ParamSpec) -> dict[str, Any]:
    props = [_prop("param-type", spec.type), _prop("stricter", spec.stricter)]
    for class_id in sorted(project.classes):
        chain = lineage(project, class_id)
        if not any(control.id in risk.controls for risk in chain) and not any(
            risk.hypercare and control.id in risk.hypercare.controls for risk in chain
        ):
            continue
        value: Any = None
        for risk in reversed(chain):
            raw = risk.params.get(control.id, {}).get(name)
            if raw is not None:
                value = raw
        if value is not None:
            shown = plain_params({name: typed_value(spec, value)})[name]
            props.append(_prop("class-value", _value_text(shown), class_id))
        for risk in chain:
            raw = risk.hypercare.params.get(control.id, {}).get(name) if risk.hypercare else None
            if raw is not None:
                shown = plain_params({name: typed_value(spec, raw)})[name]
                props.append(_prop("hypercare-value", _value_text(shown), class_id))
                break
    param: dict[str, Any] = {
        "id": _param_id(control.id, name),
        "label": name,
        "usage": spec.description,
        "props": props,
    }
    if spec.default is not None:
        param["values"] = [_line(_value_text(spec.default)) or "-"]
    return param


def _ref(control_id: str, value: object) -> str:
    """A check field in words: a parameter becomes an OSCAL parameter insertion."""
    if isinstance(value, str) and value.startswith("$"):
        return f"{{{{ insert: param, {_param_id(control_id, value[1:])} }}}}"
    if isinstance(value, Duration):
        return value.describe()
    return _value_text(value)


def check_in_words(control_id: str, check: Check) -> str:
    """One or two plain sentences saying what a check requires (for catalogs and reports)."""
    records = f"`{check.evidence}` records"
    if check.where:
        records += f" matching `{one_line(check.where)}`"
    if check.window is not None:
        records += f" within the last {_ref(control_id, check.window)}"
    return check_kind(check).words(check, records, lambda value: _ref(control_id, value))


class CatalogFormat(StrEnum):
    OSCAL = "oscal"
    MARKDOWN = "markdown"


def export_catalog(
    project: Project, fmt: CatalogFormat, *, last_modified: datetime | None = None
) -> str:
    """The project's control catalog as an OSCAL 1.1.3 catalog or as the Markdown reference
    (docs/catalog.md is this rendering of the bundled policies)."""
    if fmt is CatalogFormat.MARKDOWN:
        return catalog_markdown(
            project.controls.values(), project.classes.values(), catalogs=project.catalogs
        )
    return oscal_catalog(project, last_modified=last_modified)
