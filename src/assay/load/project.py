"""Load a whole Assay project: config, policies, workflows, waivers and evidence.

Every input file is read once, hashed, parsed safely and validated; all problems of a
run are collected and raised together as :class:`~assay.errors.InputErrors`, sorted by
location. CEL conditions are compiled here, once, so that a syntax error is reported
before anything is evaluated.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import networkx as nx

from ..checks.expr import (
    Expression,
    ExpressionSyntaxError,
    compile_expression,
)
from ..errors import AssayError, ErrorCollector, InputError, InputErrors, Location
from ..models.assessment import SourcePointer
from ..models.config import ProjectConfig, display_path, entry_path
from ..models.duration import Duration
from ..models.evidence_kinds import EVIDENCE_KINDS
from ..models.policy import (
    AggregateCheck,
    Catalog,
    Control,
    CoveredCheck,
    EveryCheck,
    FreshCheck,
    ParamSpec,
    PresentCheck,
    RiskClass,
)
from ..models.workflow import Waiver, Workflow
from .evidence import (
    EvidenceIndex,
    Record,
    SourceFile,
    validate_json_lines,
    validate_records,
)
from .readers import ReaderLimits, reader_for, supported_suffixes
from .validate import validate_model
from .yamlsafe import Positions, check_size, load_yaml

Role = Literal["config", "policy", "workflow", "waiver", "evidence"]
CONFIG_NAME = "assay.yaml"
YAML_SUFFIXES = (".yaml", ".yml")
TEST_SUFFIXES = (".test.yaml", ".test.yml")
JSON_LINES = (".jsonl", ".ndjson")

RECORD_VARS = frozenset({"r", "params", "now", "workflow", "release"})
COVER_VARS = RECORD_VARS | {"src"}
WORKFLOW_VARS = frozenset({"params", "now", "workflow", "release"})
_PARAM_USE = re.compile(r"\bparams\.([a-z][a-z0-9_]*)")


@dataclass(frozen=True)
class ProjectFile:
    """An input file of the project. Its bytes are read again on demand (and must still
    match the digest taken at load time), so that large evidence is not kept in memory."""

    path: str
    role: Role
    sha256: str
    absolute: Path = field(repr=False, compare=False)
    records: int | None = None

    @property
    def data(self) -> bytes:
        content = _read(self.absolute, self.path)
        if hashlib.sha256(content).hexdigest() != self.sha256:
            raise InputError(
                "file changed while Assay was running", location=Location(self.path), code="IO"
            )
        return content


@dataclass
class Project:
    """Everything loaded from a project folder, validated and cross-checked."""

    root: Path
    config: ProjectConfig
    files: tuple[ProjectFile, ...]
    controls: dict[str, Control]
    classes: dict[str, RiskClass]
    workflows: dict[str, Workflow]
    waivers: tuple[Waiver, ...]
    evidence: EvidenceIndex
    expressions: dict[tuple[str, str, str], Expression]
    """Compiled CEL by (control id, check id or "", field)."""
    sources: dict[str, SourcePointer]
    """Where things are defined: keys "control:ID", "check:ID/check", "class:ID",
    "workflow:ID", "waiver:ID"."""

    def source(self, key: str) -> SourcePointer:
        return self.sources.get(key, SourcePointer(file="<unknown>"))


def _read(path: Path, display: str) -> bytes:
    try:
        return path.read_bytes()
    except PermissionError:
        raise InputError(
            "cannot read file: permission denied", location=Location(display), code="IO"
        ) from None
    except IsADirectoryError:
        raise InputError(
            "expected a file, found a folder", location=Location(display), code="IO"
        ) from None
    except OSError as err:
        raise InputError(
            f"cannot read file: {err.strerror}", location=Location(display), code="IO"
        ) from None


def _rel(root: Path, path: Path) -> str:
    """The path as reports show it: relative to the project root (``..`` when outside), so
    that reports do not depend on where the project is checked out (``bundled/...`` for the
    policies shipped with Assay)."""
    return display_path(root, path)


def _discover(
    root: Path,
    entries: Iterable[str],
    suffixes: tuple[str, ...] | None,
    what: str,
    errors: ErrorCollector,
    *,
    required: bool,
    bundled: bool = False,
) -> list[Path]:
    """Files under the configured folders, sorted; hidden files are skipped. With
    ``bundled``, the entry `bundled` may name the policies shipped with Assay."""
    found: list[Path] = []
    for entry in entries:
        base = entry_path(root, entry, allow_bundled=bundled)
        if not base.exists():
            if required:
                errors.add(
                    InputError(
                        f"{what} folder does not exist (create it, or list the folders holding "
                        f"the {what} under `{what}:` in assay.yaml)",
                        location=Location(entry),
                        code="IO",
                    )
                )
            continue
        if base.is_file():
            found.append(base)
            continue
        # Symlinked folders are followed (a project may link in shared policies), each real
        # folder once: a link back up the tree must not send the walk round for ever.
        seen: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(base, followlinks=True):
            real = os.path.realpath(dirpath)
            if real in seen:
                dirnames[:] = []
                continue
            seen.add(real)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                path = Path(dirpath) / name
                if name.lower().endswith(TEST_SUFFIXES):
                    continue  # policy test cases live next to policies (`assay policy test`)
                if suffixes is None or path.suffix.lower() in suffixes:
                    found.append(path)
    return sorted(set(found))


def load_config(root: Path) -> tuple[ProjectConfig, ProjectFile | None]:
    """Read `assay.yaml`, else `[tool.assay]` in pyproject.toml, else the defaults."""
    path = root / CONFIG_NAME
    if path.is_file():
        data = _read(path, CONFIG_NAME)
        value, positions = load_yaml(data, CONFIG_NAME, max_bytes=1_000_000)
        config = validate_model(ProjectConfig, value or {}, positions, file=CONFIG_NAME)
        digest = hashlib.sha256(data).hexdigest()
        return config, ProjectFile(CONFIG_NAME, "config", digest, path)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        data = _read(pyproject, "pyproject.toml")
        try:
            table = tomllib.loads(data.decode("utf-8")).get("tool", {}).get("assay")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise InputError(
                f"invalid TOML: {err}", location=Location("pyproject.toml"), code="TOML"
            ) from None
        if table is not None:
            config = validate_model(ProjectConfig, table, None, file="pyproject.toml [tool.assay]")
            digest = hashlib.sha256(data).hexdigest()
            return config, ProjectFile("pyproject.toml", "config", digest, pyproject)
    return ProjectConfig(), None


def load_project(root: str | Path) -> Project:
    """Load and validate every input of the project at ``root``.

    Raises :class:`InputErrors` listing every problem, each with file, line and column.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise InputError("project folder does not exist", location=Location(str(root)), code="IO")
    config, config_file = load_config(root)
    loader = _Loader(root, config)
    if config_file is not None:
        loader.files.append(config_file)
    return loader.load()


class _Loader:
    def __init__(self, root: Path, config: ProjectConfig):
        self.root = root
        self.config = config
        self.errors = ErrorCollector()
        self.files: list[ProjectFile] = []
        self.sources: dict[str, SourcePointer] = {}
        self.controls: dict[str, Control] = {}
        self.control_positions: dict[str, Positions] = {}
        self.classes: dict[str, RiskClass] = {}
        self.class_positions: dict[str, Positions] = {}
        self.expressions: dict[tuple[str, str, str], Expression] = {}
        self.catalog_incomplete = False

    # -- files -----------------------------------------------------------------------
    def _yaml_files(
        self, entries: list[str], role: Role, what: str, *, required: bool
    ) -> Iterator[tuple[str, Any, Positions]]:
        for path in _discover(
            self.root,
            entries,
            YAML_SUFFIXES,
            what,
            self.errors,
            required=required,
            bundled=role == "policy",
        ):
            rel = _rel(self.root, path)
            try:
                data = _read(path, rel)
                value, positions = load_yaml(data, rel, max_bytes=self.config.max_yaml_bytes)
            except AssayError as err:
                self.errors.add(err)
                continue
            self.files.append(ProjectFile(rel, role, hashlib.sha256(data).hexdigest(), path))
            yield rel, value, positions

    def _validate(self, model: Any, value: Any, positions: Positions, file: str) -> Any:
        try:
            return validate_model(model, value, positions, file=file)
        except InputErrors as err:
            self.errors.extend(err.errors)
            return None

    # -- policies --------------------------------------------------------------------
    def load_policies(self) -> None:
        seen_any = False
        for rel, value, positions in self._yaml_files(
            self.config.policies, "policy", "policies", required=True
        ):
            seen_any = True
            if isinstance(value, dict) and "catalog" in value:
                catalog = self._validate(Catalog, value, positions, rel)
                if catalog is None:
                    # Its controls are unknown now: do not also report every reference to them.
                    self.catalog_incomplete = True
                    continue
                for index, control in enumerate(catalog.controls):
                    pointer = f"/controls/{index}"
                    if control.id in self.controls:
                        first = self.sources[f"control:{control.id}"]
                        self.errors.add(
                            InputError(
                                f"control {control.id} is defined twice (first in {first.file}:{first.line})",
                                location=positions.location(pointer + "/id"),
                                code="DUPLICATE",
                            )
                        )
                        continue
                    self.controls[control.id] = control
                    self.control_positions[control.id] = positions.shifted(pointer)
                    self.sources[f"control:{control.id}"] = _pointer(positions, pointer)
                    for ci, check in enumerate(control.checks):
                        self.sources[f"check:{control.id}/{check.id}"] = _pointer(
                            positions, f"{pointer}/checks/{ci}"
                        )
            elif isinstance(value, dict):
                risk = self._validate(RiskClass, value, positions, rel)
                if risk is None:
                    continue
                if risk.id in self.classes:
                    first = self.sources[f"class:{risk.id}"]
                    self.errors.add(
                        InputError(
                            f"risk class {risk.id} is defined twice (first in {first.file}:{first.line})",
                            location=positions.location("/id"),
                            code="DUPLICATE",
                        )
                    )
                    continue
                self.classes[risk.id] = risk
                self.class_positions[risk.id] = positions
                self.sources[f"class:{risk.id}"] = _pointer(positions, "")
            else:
                self.errors.add(
                    InputError(
                        "expected a control catalog (a mapping with `catalog:` and `controls:`) "
                        "or a risk class (a mapping with `id:`, `title:`, `level:`)",
                        location=positions.location(""),
                        code="SCHEMA",
                    )
                )
        if not seen_any and all(
            entry_path(self.root, entry, allow_bundled=True).exists()
            for entry in self.config.policies
        ):
            self.errors.add(
                InputError(
                    "no policy files found (expected .yaml files with a catalog and risk classes)",
                    location=Location(", ".join(self.config.policies)),
                    code="EMPTY",
                )
            )
        self._check_catalog()
        self._check_classes()

    def _check_catalog(self) -> None:
        graph: nx.DiGraph = nx.DiGraph()
        for control in self.controls.values():
            pos = self.control_positions[control.id]
            graph.add_node(control.id)
            for index, dep in enumerate(control.requires):
                if dep not in self.controls:
                    self.errors.add(
                        InputError(
                            f"{control.id} requires unknown control {dep!r}",
                            location=pos.location(f"/requires/{index}"),
                            code="UNKNOWN-CONTROL",
                        )
                    )
                else:
                    graph.add_edge(control.id, dep)
            for index, kind in enumerate(control.evidence):
                if kind not in EVIDENCE_KINDS:
                    self.errors.add(_unknown_kind(kind, pos.location(f"/evidence/{index}")))
            self._check_checks(control, pos)
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return
        path = " -> ".join([edge[0] for edge in cycle] + [cycle[0][0]])
        first = cycle[0][0]
        self.errors.add(
            InputError(
                f"dependency cycle in `requires`: {path}",
                location=self.control_positions[first].location("/requires"),
                code="CYCLE",
            )
        )

    def _compile(
        self,
        control: Control,
        check_id: str,
        name: str,
        source: str | None,
        allowed: frozenset[str],
        positions: Positions,
        pointer: str,
    ) -> None:
        if source is None:
            return
        location = positions.location(pointer)
        try:
            expr = compile_expression(source, allowed_variables=allowed)
        except ExpressionSyntaxError as err:
            self.errors.add(
                InputError(
                    f"invalid CEL in `{name}`: {err.message}",
                    location=positions.text_location(pointer, err.line, err.column),
                    code="CEL",
                )
            )
            return
        for used in _PARAM_USE.findall(source):
            spec = control.params.get(used)
            if spec is None:
                self.errors.add(
                    InputError(
                        f"`{name}` uses params.{used}, which {control.id} does not declare "
                        f"(declared: {', '.join(sorted(control.params)) or 'none'})",
                        location=location,
                        code="PARAM",
                    )
                )
        self.expressions[(control.id, check_id, name)] = expr

    def _check_checks(self, control: Control, pos: Positions) -> None:
        self._compile(
            control,
            "",
            "applies_if",
            control.applies_if,
            WORKFLOW_VARS,
            pos,
            "/applies_if",
        )
        seen: set[str] = set()
        for index, check in enumerate(control.checks):
            base = f"/checks/{index}"
            if check.id in seen:
                self.errors.add(
                    InputError(
                        f"check id {check.id!r} is used twice in {control.id}",
                        location=pos.location(base + "/id"),
                        code="DUPLICATE",
                    )
                )
            seen.add(check.id)
            model = EVIDENCE_KINDS.get(check.evidence)
            if model is None:
                self.errors.add(_unknown_kind(check.evidence, pos.location(base + "/evidence")))
            fields: list[tuple[str, str | None, str | None]] = [
                ("time_field", check.time_field, check.evidence)
            ]
            self._compile(
                control, check.id, "where", check.where, RECORD_VARS, pos, base + "/where"
            )
            refs: list[tuple[str, Any]] = [("window", check.window)]
            if isinstance(check, PresentCheck):
                refs.append(("min", check.min))
            elif isinstance(check, FreshCheck):
                refs.append(("max_age", check.max_age))
            elif isinstance(check, EveryCheck):
                self._compile(
                    control,
                    check.id,
                    "assert",
                    check.assert_,
                    RECORD_VARS,
                    pos,
                    base + "/assert",
                )
            elif isinstance(check, CoveredCheck):
                refs.append(("deadline", check.deadline))
                if check.by.evidence not in EVIDENCE_KINDS:
                    self.errors.add(
                        _unknown_kind(check.by.evidence, pos.location(base + "/by/evidence"))
                    )
                fields += [
                    ("by/key", check.by.key, check.by.evidence),
                    ("by/source_key", check.by.source_key, check.evidence),
                    ("from_field", check.from_field, check.evidence),
                    ("to_field", check.to_field, check.by.evidence),
                ]
                self._compile(
                    control,
                    check.id,
                    "by.where",
                    check.by.where,
                    COVER_VARS,
                    pos,
                    base + "/by/where",
                )
                self._compile(
                    control,
                    check.id,
                    "assert",
                    check.assert_,
                    COVER_VARS,
                    pos,
                    base + "/assert",
                )
            elif isinstance(check, AggregateCheck):
                refs += [("per", check.per), ("threshold", check.threshold)]
                fields.append(("group_by", check.group_by, check.evidence))
                self._compile(
                    control,
                    check.id,
                    "value",
                    check.value,
                    RECORD_VARS,
                    pos,
                    base + "/value",
                )
            for name, field_name, kind in fields:
                kind_model = EVIDENCE_KINDS.get(kind or "")
                if field_name is None or kind_model is None:
                    continue
                if field_name not in kind_model.model_fields:
                    self.errors.add(
                        InputError(
                            f"{kind} has no field {field_name!r} (fields: {', '.join(sorted(kind_model.model_fields))})",
                            location=pos.location(f"{base}/{name}"),
                            code="FIELD",
                        )
                    )
            for name, value in refs:
                if (
                    isinstance(value, str)
                    and value.startswith("$")
                    and value[1:] not in control.params
                ):
                    self.errors.add(
                        InputError(
                            f"`{name}` refers to ${value[1:]}, which {control.id} does not declare "
                            f"(declared: {', '.join(sorted(control.params)) or 'none'})",
                            location=pos.location(f"{base}/{name}"),
                            code="PARAM",
                        )
                    )

    def _check_classes(self) -> None:
        for risk in self.classes.values():
            pos = self.class_positions[risk.id]
            if risk.extends is not None:
                parent = self.classes.get(risk.extends)
                if parent is None:
                    self.errors.add(
                        InputError(
                            f"risk class {risk.id} extends unknown class {risk.extends!r} "
                            f"(known: {', '.join(sorted(self.classes))})",
                            location=pos.location("/extends"),
                            code="UNKNOWN-CLASS",
                        )
                    )
                elif parent.level >= risk.level:
                    self.errors.add(
                        InputError(
                            f"risk class {risk.id} (level {risk.level}) extends {parent.id}, whose level "
                            f"{parent.level} is not lower",
                            location=pos.location("/extends"),
                            code="CLASS",
                        )
                    )
            for index, control_id in enumerate(risk.controls):
                if control_id not in self.controls:
                    self.errors.add(
                        InputError(
                            f"risk class {risk.id} requires unknown control {control_id!r}",
                            location=pos.location(f"/controls/{index}"),
                            code="UNKNOWN-CONTROL",
                        )
                    )
            tables = [("/params", risk.params)]
            if risk.hypercare is not None:
                tables.append(("/hypercare/params", risk.hypercare.params))
                for index, control_id in enumerate(risk.hypercare.controls):
                    if control_id not in self.controls:
                        self.errors.add(
                            InputError(
                                f"hypercare of {risk.id} requires unknown control {control_id!r}",
                                location=pos.location(f"/hypercare/controls/{index}"),
                                code="UNKNOWN-CONTROL",
                            )
                        )
            for prefix, table in tables:
                for control_id, values in table.items():
                    control = self.controls.get(control_id)
                    if control is None:
                        self.errors.add(
                            InputError(
                                f"parameters for unknown control {control_id!r}",
                                location=pos.key_location(f"{prefix}/{control_id}"),
                                code="UNKNOWN-CONTROL",
                            )
                        )
                        continue
                    for name, value in values.items():
                        where = f"{prefix}/{control_id}/{name}"
                        self.sources[f"param:{risk.id}{where}"] = _pointer(pos, where)
                        spec = control.params.get(name)
                        if spec is None:
                            self.errors.add(
                                InputError(
                                    f"{control_id} has no parameter {name!r} "
                                    f"(declared: {', '.join(sorted(control.params)) or 'none'})",
                                    location=pos.key_location(where),
                                    code="PARAM",
                                )
                            )
                            continue
                        problem = param_type_problem(spec, value)
                        if problem:
                            self.errors.add(
                                InputError(problem, location=pos.location(where), code="PARAM")
                            )
        self._check_extends_cycles()

    def _check_extends_cycles(self) -> None:
        graph: nx.DiGraph = nx.DiGraph()
        for risk in self.classes.values():
            if risk.extends in self.classes:
                graph.add_edge(risk.id, risk.extends)
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return
        path = " -> ".join([edge[0] for edge in cycle] + [cycle[0][0]])
        self.errors.add(
            InputError(
                f"cycle in risk class `extends`: {path}",
                location=self.class_positions[cycle[0][0]].location("/extends"),
                code="CYCLE",
            )
        )

    def _class_alias(self, name: str) -> str | None:
        """The class id an alias (e.g. C3) stands for, when ``name`` is not an id itself."""
        if name in self.classes:
            return None
        return next((c.id for c in self.classes.values() if name in c.aliases), None)

    # -- workflows and waivers ---------------------------------------------------------
    def _documents(
        self, entries: list[str], role: Role, model: Any, required: bool
    ) -> Iterator[tuple[Any, Positions]]:
        """Validated items of files holding one item or a list, with their positions."""
        for rel, value, positions in self._yaml_files(entries, role, role + "s", required=required):
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                sub = positions.shifted(f"/{index}") if isinstance(value, list) else positions
                validated = self._validate(model, item, sub, rel)
                if validated is not None:
                    yield validated, sub

    def load_workflows(self) -> dict[str, Workflow]:
        workflows: dict[str, Workflow] = {}
        for workflow, sub in self._documents(self.config.workflows, "workflow", Workflow, True):
            if workflow.id in workflows:
                first = self.sources[f"workflow:{workflow.id}"]
                self.errors.add(
                    InputError(
                        f"workflow {workflow.id} is defined twice (first in {first.file}:{first.line})",
                        location=sub.location("/id"),
                        code="DUPLICATE",
                    )
                )
                continue
            alias = self._class_alias(workflow.risk_class)
            if alias is not None:
                workflow = workflow.model_copy(update={"risk_class": alias})
            if workflow.risk_class not in self.classes:
                # Without any class the policy errors already say why; do not echo them.
                if self.classes or not self.errors.errors:
                    known = ", ".join(sorted(self.classes)) or "none defined"
                    self.errors.add(
                        InputError(
                            f"unknown risk class {workflow.risk_class!r} (known: {known})",
                            location=sub.location("/risk_class"),
                            code="UNKNOWN-CLASS",
                        )
                    )
                continue
            workflows[workflow.id] = workflow
            self.sources[f"workflow:{workflow.id}"] = _pointer(sub, "")
        if not workflows and not self.errors.errors:
            self.errors.add(
                InputError(
                    "no workflows defined",
                    location=Location(", ".join(self.config.workflows)),
                    code="EMPTY",
                )
            )
        return workflows

    def load_waivers(self, workflows: dict[str, Workflow]) -> tuple[Waiver, ...]:
        waivers: dict[str, Waiver] = {}
        for waiver, sub in self._documents(self.config.waivers, "waiver", Waiver, False):
            if waiver.id in waivers:
                self.errors.add(
                    InputError(
                        f"waiver {waiver.id} is defined twice",
                        location=sub.location("/id"),
                        code="DUPLICATE",
                    )
                )
                continue
            if waiver.workflow not in workflows:
                self.errors.add(
                    InputError(
                        f"waiver for unknown workflow {waiver.workflow!r}",
                        location=sub.location("/workflow"),
                        code="WORKFLOW",
                    )
                )
                continue
            if waiver.control not in self.controls:
                self.errors.add(
                    InputError(
                        f"waiver for unknown control {waiver.control!r}",
                        location=sub.location("/control"),
                        code="UNKNOWN-CONTROL",
                    )
                )
                continue
            waivers[waiver.id] = waiver
            self.sources[f"waiver:{waiver.id}"] = _pointer(sub, "")
        return tuple(waivers[key] for key in sorted(waivers))

    # -- evidence --------------------------------------------------------------------
    def load_evidence(self, workflows: set[str]) -> EvidenceIndex:
        # Loading allocates millions of long-lived objects and no garbage cycles: pausing the
        # cyclic collector meanwhile avoids repeated full scans of everything loaded so far.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._load_evidence(workflows)
        finally:
            if enabled:
                gc.enable()

    def _load_evidence(self, workflows: set[str]) -> EvidenceIndex:
        limits = ReaderLimits(self.config.max_yaml_bytes, self.config.max_evidence_bytes)
        paths = _discover(
            self.root, self.config.evidence, None, "evidence", self.errors, required=True
        )
        batches: list[list[Record]] = []
        if not paths and all((self.root / e).is_dir() for e in self.config.evidence):
            self.errors.add(
                InputError(
                    f"no evidence files found (expected {', '.join(supported_suffixes())} files)",
                    location=Location(", ".join(self.config.evidence)),
                    code="EMPTY",
                )
            )
        for path in paths:
            rel = _rel(self.root, path)
            reader = reader_for(path.suffix)
            if reader is None:
                self.errors.add(
                    InputError(
                        f"unsupported evidence file type {path.suffix or '(none)'!r} "
                        f"(expected {', '.join(supported_suffixes())})",
                        location=Location(rel),
                        code="FORMAT",
                    )
                )
                continue
            try:
                data = _read(path, rel)
                source = SourceFile(rel, hashlib.sha256(data).hexdigest())
                if path.suffix.lower() in JSON_LINES:
                    # High-volume evidence: the decode-and-keep hot path.
                    check_size(data, rel, limits.max_evidence_bytes)
                    good, errors = validate_json_lines(data, source, workflows)
                else:
                    good, errors = validate_records(reader(data, rel, limits), source, workflows)
            except AssayError as err:
                self.errors.add(err)
                continue
            del data
            self.errors.extend(errors)
            batches.append(good)
            self.files.append(ProjectFile(rel, "evidence", source.sha256, path, len(good)))
        index = EvidenceIndex(batches)
        self.errors.extend(index.duplicates)
        return index

    def load(self) -> Project:
        self.load_policies()
        workflows = self.load_workflows()
        waivers = self.load_waivers(workflows)
        if self.catalog_incomplete:
            # A catalog that failed validation makes every reference to its controls look
            # unknown; those are echoes of the real error, not problems of their own.
            self.errors.errors = [e for e in self.errors.errors if e.code != "UNKNOWN-CONTROL"]
        self.errors.raise_if_any()
        evidence = self.load_evidence(set(workflows))
        self.errors.raise_if_any()
        return Project(
            root=self.root,
            config=self.config,
            files=tuple(sorted(self.files, key=lambda f: f.path)),
            controls=dict(sorted(self.controls.items())),
            classes=dict(sorted(self.classes.items())),
            workflows=dict(sorted(workflows.items())),
            waivers=waivers,
            evidence=evidence,
            expressions=self.expressions,
            sources=self.sources,
        )


def _pointer(positions: Positions, pointer: str) -> SourcePointer:
    loc = positions.location(pointer)
    return SourcePointer(file=loc.file, line=loc.line, column=loc.column)


def _unknown_kind(kind: str, location: Location) -> InputError:
    return InputError(
        f"unknown evidence kind {kind!r} (expected one of: {', '.join(sorted(EVIDENCE_KINDS))})",
        location=location,
        code="UNKNOWN-KIND",
    )


def param_type_problem(spec: ParamSpec, value: Any) -> str | None:
    """Why ``value`` does not fit the declared parameter type, or None."""
    if spec.type == "duration":
        if not isinstance(value, str):
            return f"expected a duration like 24h or 5bd, got {value!r}"
        try:
            Duration.parse(value)
        except ValueError as err:
            return str(err)
        return None
    if spec.type == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"expected a number, got {value!r}"
    if spec.type == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"expected an integer, got {value!r}"
    if spec.type == "boolean" and not isinstance(value, bool):
        return f"expected true or false, got {value!r}"
    if spec.type == "string" and not isinstance(value, str):
        return f"expected a string, got {value!r}"
    if spec.type == "list" and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return f"expected a list of strings, got {value!r}"
    return None
