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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Generic, TypeVar

from ..cel import (
    Expression,
)
from ..errors import (
    AssayError,
    ErrorCode,
    ErrorCollector,
    InputError,
    InputErrors,
    Location,
    UsageError,
)
from ..evidence import LEDGER_NAME
from ..evidence.cache import CacheDir
from ..evidence.engines.base import EngineName
from ..evidence.index import (
    EvidenceIndex,
    Record,
    SourceFile,
    validate_json_document,
    validate_json_lines,
    validate_records,
)
from ..evidence.readers import ReaderLimits, reader_for, supported_suffixes
from ..evidence.view import EvidenceView
from ..models.assessment import SourcePointer
from ..models.config import ProjectConfig
from ..models.policy import (
    Catalog,
    Control,
    RiskClass,
)
from ..models.time import LATEST
from ..models.workflow import Waiver, Workflow
from ..parsing.validate import validate_model
from ..parsing.yamlsafe import Positions, check_size
from .config import load_config, with_bundled
from .crosscheck import Policies, check_policies, source_pointer
from .discover import (
    DiskSource,
    FileSource,
    MemorySource,
    ProjectFile,
    Role,
    relative,
)
from .parsed import ParsedYaml

YAML_SUFFIXES = (".yaml", ".yml")
TEST_SUFFIXES = (".test.yaml", ".test.yml")
JSON_LINES = (".jsonl", ".ndjson")
CLOCK_SKEW = timedelta(minutes=5)
"""How far a record's `created_at` may lie after the loading machine's clock (clocks of the
systems that export evidence drift a little). A record created later than that cannot exist
yet: it is refused, because no as-of time before it would ever see it and a record from
2099 would otherwise hide failing evidence for ever."""
MAX_LATE_REPORTED = 20


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
    evidence: EvidenceView
    """Records by workflow and kind: all in memory for a project held in memory; read from
    the evidence store (the ``.assay/`` cache) workflow by workflow for one on disk."""
    expressions: dict[tuple[str, str, str], Expression]
    """Compiled CEL by (control id, check id or "", field)."""
    undecidable: dict[str, str]
    """Controls whose `applies_if` reads untyped workflow values, and why: they always apply."""
    sources: dict[str, SourcePointer]
    """Where things are defined: keys "control:ID", "check:ID/check", "class:ID",
    "workflow:ID", "waiver:ID"."""
    catalogs: tuple[tuple[str, str], ...] = ()
    """(name, version) of every catalog file, sorted."""

    def source(self, key: str) -> SourcePointer:
        return self.sources.get(key, SourcePointer(file="<unknown>"))

    def close(self) -> None:
        """Release the evidence store (its cache lock) of a project loaded from disk; a
        closed project can no longer read records. Idempotent."""
        close = getattr(self.evidence, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


DELTA_LOG = "/_delta_log/"
"""The folder of a Delta table's transaction log, as it appears in an evidence path."""


def _discover(
    source: FileSource,
    entries: Iterable[str],
    suffixes: tuple[str, ...] | None,
    what: str,
    errors: ErrorCollector,
    *,
    required: bool,
) -> list[str]:
    """Files under the configured folders (relative paths), sorted; hidden files skipped."""
    found: set[str] = set()
    for entry in entries:
        try:
            kind = source.kind(entry)
        except AssayError as err:
            errors.add(err)
            continue
        if kind is None:
            if required:
                errors.add(
                    InputError(
                        f"{what} folder does not exist (create it, or list the folders holding "
                        f"the {what} under `{what}:` in assay.yaml)",
                        location=Location(entry),
                        code=ErrorCode.IO,
                    )
                )
            continue
        if kind == "file":
            found.add(relative(source.root, source.root / entry))
            continue
        try:
            paths = list(source.walk(entry))
        except AssayError as err:
            errors.add(err)
            continue
        for path in paths:
            name = path.rsplit("/", 1)[-1].lower()
            if name.endswith(TEST_SUFFIXES):
                continue  # policy test cases live next to policies (`assay policy test`)
            if suffixes is None or _suffix(name) in suffixes:
                found.add(path)
    return sorted(found, key=_path_key)


def _suffix(name: str) -> str:
    """``PurePosixPath(name).suffix`` of a file name, without building a path."""
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def _path_key(path: str) -> list[str]:
    """The order of ``PurePosixPath`` (part by part) for a normalised relative path, which
    every discovered path is, without building thousands of path objects."""
    return path.split("/")


STORE_MIN_BYTES = 8 << 20
"""Evidence size from which a project on disk goes through the evidence store unless told
otherwise. Below it, reading the files directly is faster than opening (or, the first
time, filling) a database: the examples load in 0.18 s directly, 0.23 s from a warm
store and 1.2 s building it."""

ENGINE_VARIABLE = "ASSAY_ENGINE"
"""The environment variable that picks the engine when neither the caller nor the
command line does (lets a CI run, or the test suite, exercise one engine throughout)."""


def load_project(
    root: str | Path,
    *,
    now: datetime | None = None,
    evidence_errors: list[AssayError] | None = None,
    require_workflows: bool = True,
    rehash: bool = False,
    engine: EngineName | str | None = None,
) -> Project:
    """Load and validate every input of the project at ``root``.

    ``now`` is the wall clock evidence must not postdate (default: the machine's clock).
    With the ``duckdb`` engine evidence goes through the project's evidence store
    (``.assay/``, safe to delete): a file whose stat is unchanged since the last run is not
    read again. ``rehash`` reads and hashes every evidence file regardless (``--no-cache``,
    and every audit pack). With ``rows`` every record is read into memory. None (and no
    ``$ASSAY_ENGINE``) chooses by size: the store from :data:`STORE_MIN_BYTES` of evidence.
    Raises :class:`InputErrors` listing every problem, each with file, line and column.
    With ``evidence_errors``, problems of the evidence are appended to it instead (the
    invalid records are left out) and the project is returned with the valid ones: what
    `assay evidence validate` reports. Problems of the policies, workflows and waivers are
    raised either way.
    With ``require_workflows=False`` (commands about the policies: lint, catalog export)
    the project may have no workflows folder and no workflows, and no evidence is read.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise InputError(
            "project folder does not exist", location=Location(str(root)), code=ErrorCode.IO
        )
    return load_source(
        DiskSource(root),
        now=now,
        evidence_errors=evidence_errors,
        require_workflows=require_workflows,
        rehash=rehash,
        engine=engine,
    )


def load_files(
    files: Mapping[str, bytes], root: str | Path | None = None, *, now: datetime | None = None
) -> Project:
    """Load a project held in memory (relative POSIX path -> bytes) exactly as
    :func:`load_project` loads one on disk; ``root`` is only where it says it came from."""
    return load_source(MemorySource(files, Path(root) if root is not None else None), now=now)


def load_source(
    source: FileSource,
    *,
    now: datetime | None = None,
    evidence_errors: list[AssayError] | None = None,
    require_workflows: bool = True,
    rehash: bool = False,
    engine: EngineName | str | None = None,
) -> Project:
    """Load and validate every input of the project that ``source`` holds (see
    :func:`load_project` for ``now``, ``evidence_errors`` and ``require_workflows``; a
    project in memory always uses the ``rows`` engine)."""
    config, config_file = load_config(source)
    source.allow(config.outside_folders)
    loader = _Loader(with_bundled(source, config), config, now or datetime.now(UTC))
    loader.require_workflows = require_workflows
    loader.rehash = rehash
    loader.engine = _engine(engine, config.engine)
    loader.on_disk = isinstance(source, DiskSource)
    cache = CacheDir.for_project(source.root).path
    if loader.on_disk and cache.is_dir():
        loader.parsed = ParsedYaml(cache)
    if config_file is not None:
        loader.files.append(config_file)
    return loader.load(evidence_errors)


def _engine(name: EngineName | str | None, configured: str | None = None) -> EngineName | None:
    """The engine asked for: by the caller (``--engine``), else ``$ASSAY_ENGINE``, else
    ``engine:`` in assay.yaml; None lets the loader choose by size."""
    if name is None:
        name = os.environ.get(ENGINE_VARIABLE) or configured or None
    if name is None:
        return None
    try:
        chosen = EngineName(name)
    except ValueError:
        known = ", ".join(e.value for e in EngineName)
        raise UsageError(f"unknown engine {name!r} (known: {known})") from None
    if chosen is EngineName.SPARK:
        from ..evidence.engines.spark import require

        require()  # before any evidence is read: what is missing, named (exit 2)
    return chosen


K = TypeVar("K")
V = TypeVar("V")


class _Memo(Generic[K, V]):
    """A small in-process memo, oldest entry out first. Keys name the exact bytes (SHA-256)
    of what was parsed and validated, and only results without a single error are kept:
    a process that loads the same project again (a service, an editor integration, the
    library's re-gate) does not parse, validate and compile unchanged policies and
    workflows again, and a changed file is always read afresh."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        self._items.pop(key, None)
        while len(self._items) >= self._size:
            self._items.pop(next(iter(self._items)))
        self._items[key] = value

    def clear(self) -> None:
        self._items.clear()


@dataclass(frozen=True)
class _PolicyState:
    """What loading the policy files made of them (every model frozen; copied in and out)."""

    controls: dict[str, Control]
    control_positions: dict[str, Positions]
    classes: dict[str, RiskClass]
    class_positions: dict[str, Positions]
    sources: dict[str, SourcePointer]
    expressions: dict[tuple[str, str, str], Expression]
    undecidable: dict[str, str]
    catalogs: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, loader: _Loader) -> _PolicyState:
        return cls(
            dict(loader.controls),
            dict(loader.control_positions),
            dict(loader.classes),
            dict(loader.class_positions),
            dict(loader.sources),
            dict(loader.expressions),
            dict(loader.undecidable),
            frozenset(loader.catalogs),
        )

    def restore(self, loader: _Loader) -> None:
        loader.controls = dict(self.controls)
        loader.control_positions = dict(self.control_positions)
        loader.classes = dict(self.classes)
        loader.class_positions = dict(self.class_positions)
        loader.sources.update(self.sources)
        loader.expressions = dict(self.expressions)
        loader.undecidable = dict(self.undecidable)
        loader.catalogs = set(self.catalogs)


_POLICIES: _Memo[tuple[int, tuple[tuple[str, bytes], ...]], _PolicyState] = _Memo(8)
_DOCUMENTS: _Memo[tuple[str, str, int, bytes], tuple[tuple[Any, Positions], ...]] = _Memo(8192)


class _Loader:
    rehash = False
    engine: EngineName | None = None
    on_disk = False
    """The project is a folder on disk (its evidence may go through the store)."""

    def __init__(self, source: FileSource, config: ProjectConfig, now: datetime):
        self.now = now
        self.source = source
        self.root = source.root
        self.config = config
        self.errors = ErrorCollector()
        self.files: list[ProjectFile] = []
        self.sources: dict[str, SourcePointer] = {}
        self.controls: dict[str, Control] = {}
        self.control_positions: dict[str, Positions] = {}
        self.classes: dict[str, RiskClass] = {}
        self.class_positions: dict[str, Positions] = {}
        self.expressions: dict[tuple[str, str, str], Expression] = {}
        self.undecidable: dict[str, str] = {}
        self.catalog_incomplete = False
        self.require_workflows = True
        """False: policies only; workflows and waivers when there are any, no evidence."""
        self.catalogs: set[tuple[str, str]] = set()
        self.parsed = ParsedYaml.disabled()
        """YAML parsed by earlier runs (a project on disk with a cache folder)."""

    # -- files -----------------------------------------------------------------------
    def _read_yaml(
        self, entries: list[str], what: str, *, required: bool
    ) -> Iterator[tuple[str, bytes]]:
        """The bytes of each YAML file under ``entries``; a file that cannot be read is
        reported and left out."""
        for rel in _discover(
            self.source, entries, YAML_SUFFIXES, what, self.errors, required=required
        ):
            try:
                yield rel, self.source.read(rel, self.config.max_yaml_bytes)
            except AssayError as err:
                self.errors.add(err)

    def _parse_yaml(self, rel: str, data: bytes, role: Role) -> tuple[Any, Positions] | None:
        """A file's YAML with its positions (None, reported, when it does not parse), and the
        file recorded as an input of the run."""
        try:
            value, positions = self.parsed.load(data, rel, max_bytes=self.config.max_yaml_bytes)
        except AssayError as err:
            self.errors.add(err)
            return None
        self._record(rel, data, role)
        if value is None and role in ("workflow", "waiver"):
            self.errors.add(
                InputError(
                    f"the file is empty (expected a {role} or a list of {role}s)",
                    location=Location(rel, 1, 1),
                    code=ErrorCode.EMPTY,
                )
            )
            return None
        return value, positions

    def _record(self, rel: str, data: bytes, role: Role) -> None:
        digest = hashlib.sha256(data).hexdigest()
        self.files.append(ProjectFile(rel, role, digest, self.source, size=len(data)))

    def _yaml_files(
        self, entries: list[str], role: Role, what: str, *, required: bool
    ) -> Iterator[tuple[str, Any, Positions]]:
        for rel, data in self._read_yaml(entries, what, required=required):
            parsed = self._parse_yaml(rel, data, role)
            if parsed is not None:
                yield rel, *parsed

    def _validate(self, model: Any, value: Any, positions: Positions, file: str) -> Any:
        try:
            return validate_model(model, value, positions, file=file, strict=True)
        except InputErrors as err:
            self.errors.extend(err.errors)
            return None

    # -- policies --------------------------------------------------------------------
    def load_policies(self) -> None:
        before = len(self.errors.errors)
        files = list(self._read_yaml(self.config.policies, "policies", required=True))
        key = (
            self.config.max_yaml_bytes,
            tuple((rel, hashlib.sha256(data).digest()) for rel, data in files),
        )
        known = _POLICIES.get(key) if len(self.errors.errors) == before else None
        if known is not None:
            for rel, data in files:
                self._record(rel, data, "policy")
            known.restore(self)
            return
        self._load_policies(files)
        if files and len(self.errors.errors) == before:
            _POLICIES.put(key, _PolicyState.of(self))

    def _load_policies(self, files: list[tuple[str, bytes]]) -> None:
        seen_any = False
        for rel, data in files:
            parsed = self._parse_yaml(rel, data, "policy")
            if parsed is None:
                continue
            value, positions = parsed
            seen_any = True
            if isinstance(value, dict) and "catalog" in value:
                catalog = self._validate(Catalog, value, positions, rel)
                if catalog is not None:
                    self.catalogs.add((catalog.catalog, catalog.version))
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
                                code=ErrorCode.DUPLICATE,
                            )
                        )
                        continue
                    self.controls[control.id] = control
                    self.control_positions[control.id] = positions.shifted(pointer)
                    self.sources[f"control:{control.id}"] = source_pointer(positions, pointer)
                    for ci, check in enumerate(control.checks):
                        self.sources[f"check:{control.id}/{check.id}"] = source_pointer(
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
                            code=ErrorCode.DUPLICATE,
                        )
                    )
                    continue
                self.classes[risk.id] = risk
                self.class_positions[risk.id] = positions
                self.sources[f"class:{risk.id}"] = source_pointer(positions, "")
            else:
                self.errors.add(
                    InputError(
                        "expected a control catalog (a mapping with `catalog:` and `controls:`) "
                        "or a risk class (a mapping with `id:`, `title:`, `level:`)",
                        location=positions.location(""),
                        code=ErrorCode.SCHEMA,
                    )
                )
        refused = any(e.code == ErrorCode.OUTSIDE for e in self.errors.errors)
        if (
            not seen_any
            and not refused
            and all(self.source.kind(entry) for entry in self.config.policies)
        ):
            self.errors.add(
                InputError(
                    "no policy files found (expected .yaml files with a catalog and risk classes)",
                    location=Location(", ".join(self.config.policies)),
                    code=ErrorCode.EMPTY,
                )
            )
        check_policies(
            Policies(
                self.controls,
                self.control_positions,
                self.classes,
                self.class_positions,
                self.sources,
                self.expressions,
                self.errors,
                self.undecidable,
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
        for rel, data in self._read_yaml(entries, role + "s", required=required):
            key = (role, rel, self.config.max_yaml_bytes, hashlib.sha256(data).digest())
            known = _DOCUMENTS.get(key)
            if known is not None:
                self._record(rel, data, role)
                yield from known
                continue
            parsed = self._parse_yaml(rel, data, role)
            if parsed is None:
                continue
            value, positions = parsed
            items = value if isinstance(value, list) else [value]
            valid: list[tuple[Any, Positions]] = []
            for index, item in enumerate(items):
                sub = positions.shifted(f"/{index}") if isinstance(value, list) else positions
                validated = self._validate(model, item, sub, rel)
                if validated is not None:
                    valid.append((validated, sub))
                    yield validated, sub
            if len(valid) == len(items):
                _DOCUMENTS.put(key, tuple(valid))

    def load_workflows(self) -> dict[str, Workflow]:
        workflows: dict[str, Workflow] = {}
        for workflow, sub in self._documents(
            self.config.workflows, "workflow", Workflow, self.require_workflows
        ):
            if workflow.id in workflows:
                first = self.sources[f"workflow:{workflow.id}"]
                self.errors.add(
                    InputError(
                        f"workflow {workflow.id} is defined twice (first in {first.file}:{first.line})",
                        location=sub.location("/id"),
                        code=ErrorCode.DUPLICATE,
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
                            code=ErrorCode.UNKNOWN_CLASS,
                        )
                    )
                continue
            workflows[workflow.id] = workflow
            self.sources[f"workflow:{workflow.id}"] = source_pointer(sub, "")
        if not workflows and not self.errors.errors and self.require_workflows:
            self.errors.add(
                InputError(
                    "no workflows defined",
                    location=Location(", ".join(self.config.workflows)),
                    code=ErrorCode.EMPTY,
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
                        code=ErrorCode.DUPLICATE,
                    )
                )
                continue
            if waiver.workflow not in workflows:
                self.errors.add(
                    InputError(
                        f"waiver for unknown workflow {waiver.workflow!r}",
                        location=sub.location("/workflow"),
                        code=ErrorCode.WORKFLOW,
                    )
                )
                continue
            if waiver.control not in self.controls:
                self.errors.add(
                    InputError(
                        f"waiver for unknown control {waiver.control!r}",
                        location=sub.location("/control"),
                        code=ErrorCode.UNKNOWN_CONTROL,
                    )
                )
                continue
            waivers[waiver.id] = waiver
            self.sources[f"waiver:{waiver.id}"] = source_pointer(sub, "")
        return tuple(waivers[key] for key in sorted(waivers))

    # -- evidence --------------------------------------------------------------------
    def load_evidence(self, workflows: set[str]) -> EvidenceView:
        # Loading allocates millions of long-lived objects and no garbage cycles: pausing the
        # cyclic collector meanwhile avoids repeated full scans of everything loaded so far.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._load_evidence(workflows)
        finally:
            if enabled:
                gc.enable()

    def _load_evidence(self, workflows: set[str]) -> EvidenceView:
        limits = ReaderLimits(self.config.max_yaml_bytes, self.config.max_evidence_bytes)
        before = len(self.errors.errors)
        paths = _discover(
            self.source, self.config.evidence, None, "evidence", self.errors, required=True
        )
        walked = len(self.errors.errors) == before  # else a folder could not be walked: said so
        if (
            not paths
            and walked
            and all(self.source.kind(e) == "folder" for e in self.config.evidence)
        ):
            self.errors.add(
                InputError(
                    f"no evidence files found (expected {', '.join(supported_suffixes())} files)",
                    location=Location(", ".join(self.config.evidence)),
                    code=ErrorCode.EMPTY,
                )
            )
        paths = self._refuse_delta_tables(paths)
        if self.on_disk and self._stored(paths):
            return self._load_stored(paths, workflows, limits)
        return self._load_in_memory(paths, workflows, limits)

    def _refuse_delta_tables(self, paths: list[str]) -> list[str]:
        """A Delta table's current rows are those its transaction log names, not every
        Parquet file in its folder (a file the log removed still lies there): read file by
        file it would bring back deleted records. Assay does not read the log, so such a
        folder is one error, and none of its files is read."""
        # Each table as "/" + its folder ("" for the project folder itself).
        tables = sorted({f"/{p}".split(DELTA_LOG, 1)[0] for p in paths if DELTA_LOG in f"/{p}"})
        for table in tables:
            self.errors.add(
                InputError(
                    "a Delta table, which Assay does not read (its transaction log decides "
                    "which Parquet files hold its rows); write its current version as "
                    "Parquet files (made by `assay evidence export --format parquet`) or "
                    "JSON Lines into the evidence folder",
                    location=Location(f"{table}/_delta_log".lstrip("/")),
                    code=ErrorCode.FORMAT,
                )
            )
        inside = tuple(f"{table}/" for table in tables)
        return [p for p in paths if not f"/{p}".startswith(inside)] if inside else paths

    def _stored(self, paths: list[str]) -> bool:
        """Whether the evidence goes through the store: asked for, or large enough."""
        if self.engine is not None:
            return self.engine is not EngineName.ROWS
        total = 0
        for rel in paths:
            try:
                total += (self.root / rel).stat().st_size
            except OSError:
                continue  # reported when read
            if total >= STORE_MIN_BYTES:
                return True
        return False

    def _load_stored(
        self, paths: list[str], workflows: set[str], limits: ReaderLimits
    ) -> EvidenceView:
        """A project on disk: evidence through the store. Every file is checked (stat, or
        hash), changed ones read through the project's source and validated as below, and
        no record is rebuilt yet."""
        from ..evidence.cache import CACHE_DIR_NAME, CacheDir
        from ..evidence.engines.base import StoreCorrupt
        from ..evidence.store import StoredEvidence, open_store

        root = os.fspath(self.root)
        try:
            store, report = open_store(
                self.root,
                # Strings, not path objects: a fleet has thousands of evidence files.
                [os.path.join(root, rel) for rel in paths],
                workflows,
                limits,
                cache=CacheDir.for_project(self.root),
                rehash=self.rehash,
                reads=self.source,
            )
        except StoreCorrupt as err:
            # Damage is repaired by rebuilding; this is a cache that could not be built at
            # all (a full disk, a limit of DuckDB's): the gate cannot decide, so it stops.
            raise InputError(
                f"{err}; free what it needs, or gate with --engine rows (in memory)",
                location=Location(f"{CACHE_DIR_NAME}/"),
                code=ErrorCode.IO,
            ) from None
        if self.engine is EngineName.SPARK:
            from ..evidence.engines.spark import SparkEvidence

            evidence: StoredEvidence = SparkEvidence(store, report)
        else:
            evidence = StoredEvidence(store, report)
        self.errors.extend(report.errors)
        for f in report.files:
            self.files.append(
                ProjectFile(f.path, "evidence", f.sha256, self.source, f.records, f.size, f.stat)
            )
        self.errors.extend(evidence.duplicates(workflows))
        self._refuse_future(evidence.created_after(self.now + CLOCK_SKEW))
        self._refuse_beyond_calendar(evidence.loose().times_beyond(LATEST))
        self._load_ledgers()
        return evidence

    def _load_in_memory(
        self, paths: list[str], workflows: set[str], limits: ReaderLimits
    ) -> EvidenceView:
        """Every record read, validated and indexed here, in memory (a project in memory:
        policy tests, a pack's re-assessment; or a small project on disk)."""
        batches: list[list[Record]] = []
        for rel in paths:
            suffix = PurePosixPath(rel).suffix
            reader = reader_for(suffix)
            if reader is None:
                self.errors.add(
                    InputError(
                        f"unsupported evidence file type {suffix or '(none)'!r} "
                        f"(expected {', '.join(supported_suffixes())})",
                        location=Location(rel),
                        code=ErrorCode.FORMAT,
                    )
                )
                continue
            limit = (
                limits.max_evidence_bytes
                if suffix.lower() in (*JSON_LINES, ".json", ".parquet")
                else limits.max_yaml_bytes
            )
            try:
                data = self.source.read(rel, limit)
                source = SourceFile(rel, hashlib.sha256(data).hexdigest())
                if suffix.lower() in JSON_LINES:
                    # High-volume evidence: the decode-and-keep hot path.
                    check_size(data, rel, limits.max_evidence_bytes)
                    good, errors = validate_json_lines(data, source, workflows)
                elif suffix.lower() == ".json":
                    check_size(data, rel, limits.max_evidence_bytes)
                    good, errors = validate_json_document(data, source, workflows)
                else:
                    good, errors = validate_records(reader(data, rel, limits), source, workflows)
            except AssayError as err:
                self.errors.add(err)
                continue
            size = len(data)
            del data
            self.errors.extend(errors)
            batches.append(good)
            self.files.append(
                ProjectFile(rel, "evidence", source.sha256, self.source, len(good), size)
            )
        index = EvidenceIndex(batches)
        self.errors.extend(index.duplicates)
        self._refuse_future(index.created_after(self.now + CLOCK_SKEW))
        self._refuse_beyond_calendar(index.times_beyond(LATEST))
        self._load_ledgers()
        return index

    def _refuse_beyond_calendar(self, beyond: list[tuple[Record, str]]) -> None:
        # A timestamp near the calendar's end (9999-12-31) overflows a deadline added to
        # it; nothing real happens after LATEST (year 9000), so such a value is refused.
        for record, name in beyond[:MAX_LATE_REPORTED]:
            self.errors.add(
                InputError(
                    f"{name} lies after {LATEST:%Y-%m-%d}, the latest time Assay accepts",
                    location=Location(
                        record.source.path, record.line, None, f"{record.pointer}/{name}"
                    ),
                    code=ErrorCode.SCHEMA,
                )
            )

    def _refuse_future(self, late: list[Record]) -> None:
        for record in late[:MAX_LATE_REPORTED]:
            self.errors.add(
                InputError(
                    f"created_at {record.data.created_at.isoformat()} lies in the future (the "
                    f"clock says {self.now.replace(microsecond=0).isoformat()}, with "
                    f"{int(CLOCK_SKEW.total_seconds() // 60)} minutes allowed for clock "
                    "skew): a record cannot be created after now",
                    location=Location(
                        record.source.path, record.line, None, record.pointer + "/created_at"
                    ),
                    code=ErrorCode.FUTURE,
                )
            )
        if len(late) > MAX_LATE_REPORTED:
            self.errors.add(
                InputError(
                    f"{len(late) - MAX_LATE_REPORTED} more records are created in the future",
                    location=Location(late[MAX_LATE_REPORTED].source.path),
                    code=ErrorCode.FUTURE,
                )
            )

    def _load_ledgers(self) -> None:
        """The ledger at the top of each evidence folder, an input like any other, so that
        an assessment lists it and a pack carries it. It is a hidden file (never read as
        evidence); the `sealed` check replays it."""
        seen: set[str] = set()
        for entry in self.config.evidence:
            try:
                if self.source.kind(entry) != "folder":
                    continue
                rel = relative(self.root, self.root / entry / LEDGER_NAME)
                if rel in seen or self.source.kind(rel) != "file":
                    continue
            except AssayError:
                continue  # the path's problem is reported where the evidence is discovered
            seen.add(rel)
            try:
                data = self.source.read(rel, self.config.max_evidence_bytes)
            except AssayError as err:
                self.errors.add(err)
                continue
            digest = hashlib.sha256(data).hexdigest()
            self.files.append(ProjectFile(rel, "ledger", digest, self.source, size=len(data)))

    def load(self, evidence_errors: list[AssayError] | None = None) -> Project:
        self.load_policies()
        workflows = self.load_workflows()
        waivers = self.load_waivers(workflows)
        if self.catalog_incomplete:
            # A catalog that failed validation makes every reference to its controls look
            # unknown; those are echoes of the real error, not problems of their own.
            self.errors.errors = [e for e in self.errors.errors if e.code != "UNKNOWN-CONTROL"]
        self.errors.raise_if_any()
        evidence = (
            self.load_evidence(set(workflows)) if self.require_workflows else EvidenceIndex([])
        )
        self.parsed.save()
        if evidence_errors is not None:
            evidence_errors.extend(self.errors.errors)
            self.errors.errors = []
        if self.errors.errors:
            close = getattr(evidence, "close", None)
            if close is not None:
                close()  # the store's lock: nothing will read it
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
            undecidable=self.undecidable,
            catalogs=tuple(sorted(self.catalogs)),
            sources=self.sources,
        )
