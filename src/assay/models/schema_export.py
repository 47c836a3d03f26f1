"""Export the JSON Schemas of every file a person writes, from the models.

    python -m assay.models.schema_export            # (re)write assay/bundled/schemas/
    python -m assay.models.schema_export --check    # exit 1 and list stale files

The models are the source of truth; the schema files are generated, committed, and kept in
sync by a test. Every property must carry a description: the exporter refuses a model field
without one, so nobody adds an undocumented field. Timestamps get a pattern that requires a
UTC offset, so the schema rejects naive times exactly as the models do.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import os
import sys
import tempfile
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .base import FrozenModel, StrictModel
from .config import ProjectConfig, bundled_path
from .evidence_kinds import EVIDENCE_KINDS
from .policy import Catalog, RiskClass
from .workflow import Waiver, Workflow, WorkflowMetadata

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://assay.dev/schemas/"
AWARE_DATETIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})$"
)
"""An RFC 3339-style date-time that ends in Z or an offset: naive times do not match."""

_DOCUMENTS: tuple[tuple[str, type[BaseModel], str], ...] = (
    ("catalog.schema.json", Catalog, "Assay control catalog"),
    ("config.schema.json", ProjectConfig, "Assay project configuration (assay.yaml)"),
    ("risk-class.schema.json", RiskClass, "Assay risk class"),
    ("waiver.schema.json", Waiver, "Assay waiver"),
    ("workflow.schema.json", Workflow, "Assay workflow"),
)


ONE_OR_MANY = frozenset({"waiver.schema.json", "workflow.schema.json"})
"""Documents whose files may hold one item or a list of them."""


class UndocumentedFieldError(Exception):
    """A model field has no description; add an attribute docstring to it."""


DOCUMENTED_ROOTS: tuple[type[BaseModel], ...] = (StrictModel, FrozenModel, WorkflowMetadata)
"""The models (and all their subclasses) whose fields are documented by attribute
docstrings: what pydantic's ``use_attribute_docstrings`` did at class creation, done here
instead, only when schemas are built (it parses every class's source: start-up time)."""

_documented: set[type[BaseModel]] = set()


def attribute_docstrings(cls: type) -> dict[str, str]:
    """The docstrings written under the annotated attributes of ``cls`` itself (not of its
    bases), by attribute name: a string literal statement right after an annotated
    assignment, cleaned as :func:`inspect.cleandoc` does (pydantic's own rule)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    tree = ast.parse(source)
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.ClassDef):
        return {}
    docs: dict[str, str] = {}
    previous: ast.stmt | None = None
    for stmt in node.body:
        if (
            isinstance(previous, ast.AnnAssign)
            and isinstance(previous.target, ast.Name)
            and isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        ):
            docs[previous.target.id] = inspect.cleandoc(stmt.value.value)
        previous = stmt
    return docs


def _subclasses(cls: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def document_fields() -> None:
    """Give every field of the documented models that has no explicit description its
    attribute docstring, then rebuild those models so their schemas carry it. A field
    takes the docstring of the class that annotates it (an inherited field keeps its
    base's). Idempotent; models defined since the last call are documented too."""
    pending = [
        cls
        for root in DOCUMENTED_ROOTS
        for cls in (root, *_subclasses(root))
        if cls not in _documented
    ]
    pending = list(dict.fromkeys(pending))
    if not pending:
        return
    own: dict[type, dict[str, str]] = {}
    for cls in pending:
        for name, info in cls.model_fields.items():
            if info.description is not None:
                continue
            owner = next(
                (c for c in cls.__mro__ if name in c.__dict__.get("__annotations__", {})), None
            )
            if owner is None:
                continue
            if owner not in own:
                own[owner] = attribute_docstrings(owner)
            if name in own[owner]:
                info.description = own[owner][name]
    # A model's schema embeds those of the models it holds, as built then: twice over, so
    # that every container sees its members' new descriptions whatever the order.
    for _ in range(2):
        for cls in pending:
            cls.model_rebuild(force=True)
    _documented.update(pending)


def _models() -> Iterator[tuple[str, type[BaseModel], str]]:
    yield from _DOCUMENTS
    for kind, model in EVIDENCE_KINDS.items():
        yield f"evidence/{kind}.schema.json", model, f"Assay evidence record: {kind}"


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in a schema, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _object_schemas(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, object schema) for every schema with `properties`, the root named `#`."""
    defs = schema.get("$defs", {})
    yield "#", {k: v for k, v in schema.items() if k != "$defs"}
    for name in sorted(defs):
        yield f"#/$defs/{name}", defs[name]


def _title(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def _document(schema: dict[str, Any], model_name: str) -> None:
    """Give every property a title and check it has a description, in place."""
    missing: list[str] = []
    for where, obj in _object_schemas(schema):
        for node in _walk(obj):
            properties = node.get("properties")
            if not isinstance(properties, dict):
                continue
            for prop, sub in properties.items():
                sub.setdefault("title", _title(prop))
                if sub.get("description"):
                    continue
                if "const" in sub:
                    # A one-value discriminator (`kind: present`) documents itself.
                    sub["description"] = f"Always `{sub['const']}`."
                else:
                    missing.append(f"{where}/properties/{prop}")
    if missing:
        raise UndocumentedFieldError(
            f"{model_name}: fields without a description (add an attribute docstring): "
            + ", ".join(sorted(missing))
        )


def _pin_timestamps(schema: dict[str, Any]) -> None:
    """Make `format: date-time` enforceable: jsonschema does not check formats by default."""
    for node in _walk(schema):
        if node.get("format") == "date-time" and node.get("type") == "string":
            node["pattern"] = AWARE_DATETIME_PATTERN


def build_schema(model: type[BaseModel], name: str, title: str) -> dict[str, Any]:
    """The published JSON Schema of one model (Draft 2020-12, validation mode)."""
    document_fields()
    schema = model.model_json_schema(by_alias=True, mode="validation")
    _document(schema, model.__name__)
    _pin_timestamps(schema)
    description = schema.get("description") or (model.__doc__ or "").strip()
    if not description:
        raise UndocumentedFieldError(f"{model.__name__}: the model has no docstring")
    if name in ONE_OR_MANY:
        defs = schema.pop("$defs", {})
        defs[model.__name__] = schema
        ref = {"$ref": f"#/$defs/{model.__name__}"}
        schema = {"$defs": defs, "anyOf": [ref, {"type": "array", "items": ref}]}
    schema.update(
        {
            "$schema": DRAFT,
            "$id": BASE_ID + name,
            "title": title,
            "description": description,
        }
    )
    return schema


def build_schemas() -> dict[str, dict[str, Any]]:
    """Every published schema, by path relative to the schemas folder, sorted."""
    built = {name: build_schema(model, name, title) for name, model, title in _models()}
    return dict(sorted(built.items()))


def render(schema: dict[str, Any]) -> str:
    """The file text of a schema: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def stale_files(directory: Path) -> list[str]:
    """Relative paths under `directory` that differ from the models, are missing, or are
    schema files no model produces."""
    expected = {name: render(schema) for name, schema in build_schemas().items()}
    stale = []
    for name, text in expected.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    if directory.is_dir():
        for path in directory.rglob("*.schema.json"):
            name = path.relative_to(directory).as_posix()
            if name not in expected:
                stale.append(name)
    return sorted(stale)


def write_schemas(directory: Path) -> list[str]:
    """Write every schema under `directory` and remove schema files no model produces;
    return the relative paths changed, sorted."""
    changed = stale_files(directory)
    schemas = build_schemas()
    for name in changed:
        path = directory / name
        if name in schemas:
            _write_atomic(path, render(schemas[name]))
        else:
            path.unlink()
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: write the schemas, or with --check report the stale ones (exit 1)."""
    parser = argparse.ArgumentParser(
        prog="python -m assay.models.schema_export",
        description="Write (or check) the JSON Schemas generated from the models.",
    )
    parser.add_argument(
        "--check", action="store_true", help="compare instead of writing; exit 1 if stale"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=bundled_path("schemas"),
        help="schemas folder (default: the bundled one, src/assay/bundled/schemas)",
    )
    args = parser.parse_args(argv)
    directory: Path = args.dir
    if args.check:
        stale = stale_files(directory)
        for name in stale:
            print(f"stale: {directory / name}", file=sys.stderr)
        if stale:
            print(
                "run `python -m assay.models.schema_export` to regenerate the schemas",
                file=sys.stderr,
            )
            return 1
        return 0
    for name in write_schemas(directory):
        print(f"wrote: {directory / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
