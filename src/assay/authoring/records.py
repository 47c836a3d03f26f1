"""`assay evidence new`: a record from its kind's template, ready to edit.

The template (shipped with Assay, one per kind, tested against the models) is copied with
its comments; what is filled in:

- ``id`` (``<kind>-<time>`` unless ``--set id=...``), ``workflow`` and ``created_at`` (now);
- every timestamp, moved by the same amount so that the kind's time field is now and the
  template's intervals stay as they are (acknowledged four minutes after the page);
- the ``--set`` values;
- ``sha256``, the record's content digest (:func:`assay.evidence.ledger.record_digest`).

The text is then read back with the evidence reader and validated the way the loader
validates evidence; only a valid record is written, to a file of its own where the project
keeps that kind, and an existing file is never replaced.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import yaml
from pydantic import TypeAdapter, ValidationError

from ..errors import AssayError, ErrorCode, InputError, InputErrors, Location, UsageError
from ..evidence.index import SourceFile, validate_records
from ..evidence.ledger import record_digest
from ..evidence.readers import ReaderLimits, reader_for
from ..load.discover import DiskSource
from ..models.config import ProjectConfig
from ..models.evidence import ID_PATTERN, RECORD_ID_PATTERN
from ..models.evidence_kinds import EVIDENCE_KINDS
from .intake import limits_of, project_config
from .templates import schema_line, template_path

_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$")
_SET_BY_ASSAY = ("kind", "workflow", "sha256", "body", "created_at")
_SCAN_SUFFIXES = (".yaml", ".yml", ".md")
"""Files looked at to find where a project keeps a kind (JSON Lines are bulk exports)."""


@dataclass(frozen=True)
class NewRecord:
    """A record written from its template."""

    path: Path
    shown: str
    """The file, relative to the project."""
    record: dict[str, Any]
    """The record as the loader reads it."""


def new_record(
    kind: str,
    *,
    workflow: str,
    project: str | Path = ".",
    fields: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> NewRecord:
    """Write a new ``kind`` record of ``workflow`` from its template (see the module doc)."""
    if kind not in EVIDENCE_KINDS:
        raise UsageError(
            f"unknown evidence kind {kind!r}; expected one of: {', '.join(sorted(EVIDENCE_KINDS))}"
        )
    if re.fullmatch(ID_PATTERN, workflow) is None or ".." in workflow.split("/"):
        raise UsageError(f"--workflow: {workflow!r} is not a workflow id")
    root, config = project_config(project)
    values = dict(fields or {})
    for name in values:
        if name in _SET_BY_ASSAY:
            what = "the document text" if name == "body" else "Assay"
            raise UsageError(f"--set {name}: {name} is set by {what}, not by --set")
        if name not in EVIDENCE_KINDS[kind].model_fields:
            raise UsageError(
                f"--set {name}: {kind} has no field {name!r} "
                f"(fields: {', '.join(sorted(EVIDENCE_KINDS[kind].model_fields))})"
            )
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    template = template_path(kind)
    text = template.read_text(encoding="utf-8")
    record_id = str(values.pop("id", None) or f"{kind}-{moment:%Y%m%dT%H%M%SZ}")
    if re.fullmatch(RECORD_ID_PATTERN, record_id) is None:
        raise UsageError(f"--set id: {record_id!r} is not a record id")
    limits = limits_of(config)
    folder, shown_folder = _folder(root, config, workflow, kind, limits)
    name = _file_name(record_id, template.suffix)
    target = folder / name
    shown = f"{shown_folder}/{name}"
    draft = _fill(text, target, root, kind, workflow, record_id, moment, values)
    digest = record_digest(_read_back(draft, kind, shown, limits))
    filled = _fill(
        text, target, root, kind, workflow, record_id, moment, {**values, "sha256": digest}
    )
    record = _read_back(filled, kind, shown, limits)
    # What the gate will say of the file: the loader's own validation, and the digest.
    errors = validated(filled.encode("utf-8"), shown, workflow, limits)
    if errors or record.get("sha256") != record_digest(record):
        raise InputErrors(
            errors or [InputError("the digest did not round-trip", code=ErrorCode.DIGEST)]
        )
    _write_new(target, filled.encode("utf-8"), shown)
    return NewRecord(target, shown, record)


# --- filling the template -------------------------------------------------------------


def _front(text: str) -> tuple[int, str]:
    """(offset, YAML text) of the record in a template: the front matter of a document."""
    if not text.startswith("---\n"):
        return 0, text
    end = text.index("\n---\n", 3)
    return 4, text[4 : end + 1]


def _scalars(node: yaml.Node, pointer: str = "") -> Iterator[tuple[str, yaml.Node]]:
    yield pointer, node
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            token = str(key.value).replace("~", "~0").replace("/", "~1")
            yield from _scalars(value, f"{pointer}/{token}")
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _scalars(item, f"{pointer}/{index}")


def _typed(kind: str, name: str, value: Any) -> Any:
    """A ``--set`` value (text from the command line) as the field's type, in JSON form."""
    if name == "sha256":
        return value
    info = EVIDENCE_KINDS[kind].model_fields[name]
    annotation: Any = (
        Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    )
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    try:
        typed = adapter.validate_python(value)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        raise UsageError(f"--set {name}: {first['msg']}, got {value!r}") from None
    data = adapter.dump_python(typed, mode="json")
    return _iso(typed) if isinstance(typed, datetime) else data


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _yaml_scalar(value: Any) -> str:
    """A value as YAML flow text: a string plain when YAML reads it back as that string,
    else quoted (a time stays a string, as the templates write it; `no` stays text);
    anything else as JSON, which is YAML flow."""
    if isinstance(value, str) and "\n" not in value:
        plain = yaml.safe_dump(value, allow_unicode=True, width=10**9).removesuffix("\n...\n")
        if not plain.startswith(("'", '"')) and "\n" not in plain.strip():
            return plain.strip()
    return json.dumps(value, ensure_ascii=False)


def _fill(
    text: str,
    path: Path,
    root: Path,
    kind: str,
    workflow: str,
    record_id: str,
    moment: datetime,
    values: Mapping[str, Any],
) -> str:
    offset, front = _front(text)
    document = yaml.compose(front, Loader=yaml.SafeLoader)
    if not isinstance(document, yaml.MappingNode):
        raise InputError(f"the template of {kind} is not a mapping", code=ErrorCode.SCHEMA)
    nodes = dict(_scalars(document))
    time_field = EVIDENCE_KINDS[kind].TIME_FIELD
    anchor_node = nodes.get(f"/{time_field}")
    if not isinstance(anchor_node, yaml.ScalarNode) or not _INSTANT.match(anchor_node.value):
        raise InputError(f"the template of {kind} has no {time_field} time", code=ErrorCode.SCHEMA)
    delta: timedelta = moment - datetime.fromisoformat(anchor_node.value)
    replacements: dict[str, str] = {}
    for pointer, node in nodes.items():
        if isinstance(node, yaml.ScalarNode) and _INSTANT.match(str(node.value)):
            moved = datetime.fromisoformat(node.value) + delta
            replacements[pointer] = _yaml_scalar(_iso(moved))
    replacements["/id"] = _yaml_scalar(record_id)
    replacements["/workflow"] = _yaml_scalar(workflow)
    replacements["/created_at"] = _yaml_scalar(_iso(moment))
    for name, value in values.items():
        replacements[f"/{name}"] = _yaml_scalar(_typed(kind, name, value))
    # Replace from the end, so that the offsets of what comes before stay valid.
    spans = sorted(
        (
            (nodes[p].start_mark.index, nodes[p].end_mark.index, new)
            for p, new in replacements.items()
        ),
        reverse=True,
    )
    out = front
    for start, end, new in spans:
        if out[start:end].endswith("\n"):
            # A block list or mapping runs to the next key's line: end the flow value there.
            out = out[:start] + new + "\n" + out[end:]
            continue
        # Keep a comment after the value in its column (the templates align them).
        pad = len(out[end:]) - len(out[end:].lstrip(" "))
        after = out[end + pad :]
        if pad and after.startswith("#"):
            width = end - start + pad
            out = out[:start] + new + " " * max(1, width - len(new)) + after
        else:
            out = out[:start] + new + out[end:]
    head = text[:offset]
    if not offset:  # a YAML record: point the editor at the schema inside the package
        head = schema_line(path, f"evidence/{kind}.schema.json", root)
    return head + out + text[offset + len(front) :]


def _read_back(text: str, kind: str, shown: str, limits: ReaderLimits) -> dict[str, Any]:
    """The filled template read back as the loader reads it, validated against the model."""
    reader = reader_for(PurePosixPath(shown).suffix)
    assert reader is not None  # templates are .yaml or .md
    raw = list(reader(text.encode("utf-8"), shown, limits))
    if len(raw) != 1 or not isinstance(raw[0].data, dict):
        raise InputError(f"the template of {kind} does not hold one record", code=ErrorCode.SCHEMA)
    record: dict[str, Any] = raw[0].data
    problems = _model_problems(kind, record)
    if problems:
        raise InputErrors(problems)
    return record


def _model_problems(kind: str, record: Mapping[str, Any]) -> list[AssayError]:
    try:
        EVIDENCE_KINDS[kind].model_validate(record)
    except ValidationError as err:
        return [
            InputError(
                f"{kind} {record.get('id')!r}: --set "
                f"{'.'.join(str(p) for p in item['loc']) or '(record)'}: {item['msg']}, got "
                f"{item.get('input')!r}",
                code=ErrorCode.SCHEMA,
            )
            for item in err.errors(include_url=False)
        ]
    return []


# --- where the project keeps a kind ---------------------------------------------------


def _folder(
    root: Path, config: ProjectConfig, workflow: str, kind: str, limits: ReaderLimits
) -> tuple[Path, str]:
    """The folder holding most files of ``kind`` records of ``workflow`` (YAML and Markdown
    files of the evidence folders; the first in path order on a tie), else
    ``<first evidence folder>/<workflow>/<kind>``."""
    counts: dict[str, int] = {}
    source = DiskSource(root)
    for entry in config.evidence:
        if source.kind(entry) != "folder":
            continue
        for rel in source.walk(entry):
            if not rel.lower().endswith(_SCAN_SUFFIXES) or rel.lower().endswith(".test.yaml"):
                continue
            reader = reader_for(PurePosixPath(rel).suffix)
            if reader is None:
                continue
            try:
                found = any(
                    isinstance(r.data, dict)
                    and r.data.get("kind") == kind
                    and r.data.get("workflow") == workflow
                    for r in reader(source.read(rel), rel, limits)
                )
            except AssayError:
                continue  # an invalid file is `assay evidence validate`'s business
            if found:
                parent = posixpath_parent(rel)
                counts[parent] = counts.get(parent, 0) + 1
    if counts:
        best = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]
        return root / best, best
    shown = PurePosixPath(config.evidence[0], workflow, kind).as_posix()
    return root / shown, shown


def posixpath_parent(rel: str) -> str:
    parent = PurePosixPath(rel).parent.as_posix()
    return "" if parent == "." else parent


def _file_name(record_id: str, suffix: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", record_id).strip("-.") or "record"
    return f"{safe}{suffix}"


def _write_new(path: Path, data: bytes, shown: str) -> None:
    """Write a file that must not exist yet, atomically: a temporary file in the same
    folder, hard-linked to its name (which fails if the name is taken), then removed."""
    if path.exists():
        raise UsageError(
            f"{shown} already exists: Assay never overwrites a record (pass --set id=...)"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise UsageError(f"cannot write {shown}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise UsageError(
                f"{shown} already exists: Assay never overwrites a record (pass --set id=...)"
            ) from None
        except OSError:
            # No hard links on this file system: create the name exclusively instead.
            with open(path, "xb") as handle:
                handle.write(data)
    except OSError as err:
        raise UsageError(f"cannot write {shown}: {err.strerror}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def validated(data: bytes, shown: str, workflow: str, limits: ReaderLimits) -> list[AssayError]:
    """The loader's own validation of a file's records (what `assay gate` will say)."""
    reader = reader_for(PurePosixPath(shown).suffix)
    if reader is None:
        return [InputError("not an evidence file", location=Location(shown))]
    _, errors = validate_records(reader(data, shown, limits), SourceFile(shown, ""), {workflow})
    return errors
