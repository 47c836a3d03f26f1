"""Policy test cases: the `*.test.yaml` files risk teams keep next to their policies.

A case file is either a list of cases or a mapping with a shared ``defaults:`` block and
``cases:``. A case names a workflow, an ``as_of`` time, evidence (inline records and/or
files), optional waivers, and the statuses it expects. The defaults hold a *base set* of
evidence; a case changes it by record id:

- a case record whose ``id`` is in the base set is a **patch**: its keys replace the base
  record's keys (so ``{id: chg-1, eval_passed: false}`` is a whole fail case);
- a case record with a new ``id`` is added (it must be complete);
- ``remove: [ids]`` drops base records.

Records may omit the envelope fields a test does not care about: ``workflow`` (the case's
workflow), ``recorded_by``, ``source_uri``, ``sha256`` and ``created_at`` (the kind's time
field) are filled in. A record with ``repeat: {count, every}`` stands for ``count`` copies
whose time field moves on by ``every`` each time and whose ``id`` has ``{n}`` replaced by
the copy's number, so a month of hourly drift runs is one record.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from ...errors import AssayError, ErrorCode, ErrorCollector, InputError, InputErrors, Location
from ...models.base import StrictModel
from ...models.duration import Duration
from ...models.evidence_kinds import EVIDENCE_KINDS
from ...models.policy import ControlId
from ...models.workflow import Workflow
from ...parsing.validate import validate_model
from ...parsing.yamlsafe import Positions, load_yaml

CASE_SUFFIXES = (".test.yaml", ".test.yml")
MAX_CASE_BYTES = 5_000_000
MAX_REPEAT = 100_000
FILLER_SHA = "0" * 64

Expected = Literal["pass", "fail", "blocked", "waived", "not_applicable", "error", "not_required"]
"""An expected control status; ``not_required`` means the class does not require it."""
Verdict = Literal["COMPLIANT", "NON-COMPLIANT", "PROHIBITED"]


class Repeat(StrictModel):
    """Stands one record for ``count`` copies spaced ``every`` apart."""

    count: int = Field(ge=1, le=MAX_REPEAT)
    """How many copies."""
    every: Duration
    """Time between copies (calendar units; business days are refused)."""
    shift: list[str] | None = None
    """Time fields that move on with each copy (default: the kind's time field and
    created_at when given)."""


class Defaults(StrictModel):
    """What every case of the file starts from."""

    workflow: dict[str, Any] | None = None
    """The base workflow: id, name, owner, risk_class, launched, eu_scope, role, metadata."""
    as_of: AwareDatetime | None = None
    """The base evaluation time."""
    release: str | None = None
    """The base release under gate."""
    evidence: list[dict[str, Any]] = []
    """The base set of evidence records; cases patch, add to and remove from it by id."""
    evidence_files: list[str] = []
    """Evidence files (relative to the test file) every case uses."""
    waivers: list[dict[str, Any]] = []
    """Waivers every case uses unless it gives its own."""


class CaseSpec(StrictModel):
    """One test case as written."""

    name: str = Field(min_length=1)
    """Unique within the file; shown on the PASS/FAIL line."""
    description: str | None = None
    """Why the case exists (not shown)."""
    workflow: dict[str, Any] | None = None
    """Keys that replace the base workflow's (or the whole workflow without defaults)."""
    as_of: AwareDatetime | None = None
    release: str | None = None
    evidence: list[dict[str, Any]] = []
    """Records patching (same id) or adding to (new id) the base set."""
    remove: list[str] = []
    """Ids of base records this case drops."""
    evidence_files: list[str] = []
    """Extra evidence files (relative to the test file)."""
    waivers: list[dict[str, Any]] | None = None
    """Waivers of this case (replace the defaults' waivers when given)."""
    expect: dict[ControlId, Expected] = {}
    """Expected status per control; only the listed controls are compared."""
    expect_findings: dict[ControlId, list[str]] = {}
    """Per control, substrings that some finding message of it must contain."""
    expect_verdict: Verdict | None = None
    """Expected overall verdict."""


class CaseFileSpec(StrictModel):
    """A case file in mapping form."""

    defaults: Defaults | None = None
    cases: list[CaseSpec] = Field(min_length=1)


@dataclass(frozen=True)
class EvidenceRecord:
    """A record ready to be written, and where in the test file it came from."""

    data: dict[str, Any]
    origin: Location


@dataclass(frozen=True)
class EvidenceFile:
    """An evidence file a case uses: its path on disk and how reports show it."""

    path: Path
    display: str


@dataclass(frozen=True)
class TestCase:
    """A case with the defaults applied: everything needed to run it."""

    file: str
    """The case file as reports show it."""
    name: str
    location: Location
    workflow: Workflow
    workflow_location: Location
    as_of: datetime
    release: str | None
    records: tuple[EvidenceRecord, ...]
    evidence_files: tuple[EvidenceFile, ...]
    waivers: tuple[EvidenceRecord, ...]
    expect: dict[str, Expected]
    expect_findings: dict[str, list[str]]
    expect_verdict: Verdict | None

    @property
    def case_id(self) -> str:
        return f"{self.file}::{self.name}"


def display_path(path: Path) -> str:
    """A path as reports show it: relative to the working folder when below it, else as
    given (absolute paths stay absolute)."""
    try:
        return path.absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def discover_case_files(root: Path) -> list[Path]:
    """Every ``*.test.yaml`` / ``*.test.yml`` file under ``root``, sorted; hidden skipped."""
    if root.is_file():
        return [root]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(
            Path(dirpath) / name
            for name in filenames
            if not name.startswith(".") and name.lower().endswith(CASE_SUFFIXES)
        )
    return sorted(found)


def load_case_file(path: Path) -> list[TestCase]:
    """Read, validate and expand one case file; raise InputErrors with file:line."""
    shown = display_path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(
            f"cannot read test file: {err.strerror}", location=Location(shown), code=ErrorCode.IO
        ) from None
    value, positions = load_yaml(data, shown, max_bytes=MAX_CASE_BYTES)
    specs: list[tuple[CaseSpec, Positions]] = []
    defaults: Defaults | None = None
    defaults_pos = positions.shifted("/defaults")
    errors = ErrorCollector()
    if isinstance(value, list):
        for index, item in enumerate(value):
            sub = positions.shifted(f"/{index}")
            try:
                specs.append((validate_model(CaseSpec, item, sub, file=shown), sub))
            except InputErrors as err:
                errors.extend(err.errors)
    elif isinstance(value, dict):
        file_spec = validate_model(CaseFileSpec, value, positions, file=shown)
        defaults = file_spec.defaults
        specs = [(case, positions.shifted(f"/cases/{i}")) for i, case in enumerate(file_spec.cases)]
    else:
        raise InputError(
            "expected a list of test cases, or a mapping with `defaults:` and `cases:`",
            location=positions.location(""),
            code=ErrorCode.SCHEMA,
        )
    errors.raise_if_any()
    if not specs:
        raise InputError(
            "no test cases in this file", location=Location(shown), code=ErrorCode.EMPTY
        )
    base = _Base.build(path, shown, defaults, defaults_pos, errors)
    cases: list[TestCase] = []
    seen: dict[str, Location] = {}
    for spec, pos in specs:
        location = pos.location("")
        if spec.name in seen:
            errors.add(
                InputError(
                    f"test case {spec.name!r} is defined twice (first at line {seen[spec.name].line})",
                    location=pos.location("/name"),
                    code=ErrorCode.DUPLICATE,
                )
            )
            continue
        seen[spec.name] = location
        try:
            cases.append(base.expand(spec, pos))
        except InputErrors as err:
            errors.extend(err.errors)
        except InputError as err:
            errors.add(err)
    errors.raise_if_any()
    return cases


@dataclass
class _Base:
    """The defaults of a file, with the base records expanded and indexed by id."""

    path: Path
    shown: str
    defaults: Defaults
    positions: Positions
    records: dict[str, EvidenceRecord]

    @classmethod
    def build(
        cls,
        path: Path,
        shown: str,
        defaults: Defaults | None,
        positions: Positions,
        errors: ErrorCollector,
    ) -> _Base:
        spec = defaults or Defaults()
        records: dict[str, EvidenceRecord] = {}
        for index, raw in enumerate(spec.evidence):
            pointer = f"/evidence/{index}"
            try:
                expanded = _expand_repeat(raw, positions, pointer)
            except InputError as err:
                errors.add(err)
                continue
            for record in expanded:
                rid = record.data.get("id")
                if not isinstance(rid, str) or not rid:
                    errors.add(_needs_id(positions, pointer))
                    break
                if rid in records:
                    errors.add(
                        InputError(
                            f"base record id {rid!r} is used twice",
                            location=positions.location(pointer + "/id"),
                            code=ErrorCode.DUPLICATE,
                        )
                    )
                    continue
                records[rid] = record
        errors.raise_if_any()
        return cls(path, shown, spec, positions, records)

    def expand(self, spec: CaseSpec, pos: Positions) -> TestCase:
        errors = ErrorCollector()
        workflow, workflow_location = self._workflow(spec, pos)
        as_of = spec.as_of or self.defaults.as_of
        if as_of is None:
            errors.add(
                InputError(
                    "missing `as_of` (give it in the case or in `defaults:`)",
                    location=pos.location(""),
                    code=ErrorCode.SCHEMA,
                )
            )
        records = dict(self.records)
        for index, rid in enumerate(spec.remove):
            if records.pop(rid, None) is None:
                errors.add(
                    InputError(
                        f"remove: no base record has id {rid!r}",
                        location=pos.location(f"/remove/{index}"),
                        code=ErrorCode.UNKNOWN_RECORD,
                    )
                )
        for index, raw in enumerate(spec.evidence):
            pointer = f"/evidence/{index}"
            rid_value = raw.get("id")
            if not isinstance(rid_value, str) or not rid_value:
                errors.add(_needs_id(pos, pointer))
                continue
            rid = rid_value
            if rid in records and "repeat" not in raw:
                base = records[rid]
                if "kind" in raw and raw["kind"] != base.data.get("kind"):
                    errors.add(
                        InputError(
                            f"record {rid!r} patches a {base.data.get('kind')} record but says "
                            f"kind {raw['kind']!r} (use a new id for a new record)",
                            location=pos.location(pointer + "/kind"),
                            code=ErrorCode.SCHEMA,
                        )
                    )
                    continue
                records[rid] = EvidenceRecord({**base.data, **raw}, pos.location(pointer))
                continue
            try:
                for record in _expand_repeat(raw, pos, pointer):
                    records[str(record.data["id"])] = record
            except InputError as err:
                errors.add(err)
        files = [
            *self._files(self.defaults.evidence_files, self.positions, errors, self.path),
            *self._files(spec.evidence_files, pos, errors, self.path),
        ]
        raw_waivers = spec.waivers if spec.waivers is not None else self.defaults.waivers
        waiver_pos = pos if spec.waivers is not None else self.positions
        errors.raise_if_any()
        assert workflow is not None and as_of is not None  # errors raised above otherwise
        filled = tuple(
            EvidenceRecord(_fill(rec.data, workflow.id), rec.origin)
            for rec in sorted(records.values(), key=lambda r: str(r.data["id"]))
        )
        waivers = tuple(
            EvidenceRecord(
                _plain({"workflow": workflow.id, **item}), waiver_pos.location(f"/waivers/{i}")
            )
            for i, item in enumerate(raw_waivers)
        )
        return TestCase(
            file=self.shown,
            name=spec.name,
            location=pos.location(""),
            workflow=workflow,
            workflow_location=workflow_location,
            as_of=as_of,
            release=spec.release or self.defaults.release,
            records=filled,
            evidence_files=tuple(files),
            waivers=waivers,
            expect=dict(sorted(spec.expect.items())),
            expect_findings=dict(sorted(spec.expect_findings.items())),
            expect_verdict=spec.expect_verdict,
        )

    def _workflow(self, spec: CaseSpec, pos: Positions) -> tuple[Workflow, Location]:
        merged = {**(self.defaults.workflow or {}), **(spec.workflow or {})}
        where = (
            pos.shifted("/workflow")
            if spec.workflow is not None
            else self.positions.shifted("/workflow")
        )
        location = where.location("")
        if not merged:
            raise InputError(
                "missing `workflow` (give it in the case or in `defaults:`)",
                location=pos.location(""),
                code=ErrorCode.SCHEMA,
            )
        return validate_model(Workflow, _plain(merged), where, file=self.shown), location

    @staticmethod
    def _files(
        entries: list[str], pos: Positions, errors: ErrorCollector, test_file: Path
    ) -> list[EvidenceFile]:
        out: list[EvidenceFile] = []
        for index, entry in enumerate(entries):
            path = (test_file.parent / entry).resolve()
            if not path.is_file():
                errors.add(
                    InputError(
                        f"evidence file {entry!r} does not exist (paths are relative to the "
                        "test file)",
                        location=pos.location(f"/evidence_files/{index}"),
                        code=ErrorCode.IO,
                    )
                )
                continue
            out.append(EvidenceFile(path, display_path(path)))
        return out


def _needs_id(pos: Positions, pointer: str) -> InputError:
    return InputError(
        "every evidence record of a test needs an `id` (it is how cases patch the base set)",
        location=pos.location(pointer),
        code=ErrorCode.SCHEMA,
    )


def _time_field(record: dict[str, Any]) -> str | None:
    kind = EVIDENCE_KINDS.get(str(record.get("kind", "")))
    return kind.TIME_FIELD if kind is not None else None


def _expand_repeat(raw: dict[str, Any], pos: Positions, pointer: str) -> list[EvidenceRecord]:
    """The record, or its copies when it has a ``repeat:`` block."""
    if "repeat" not in raw:
        return [EvidenceRecord(dict(raw), pos.location(pointer))]
    location = pos.location(pointer + "/repeat")
    repeat = validate_model(Repeat, raw["repeat"], pos.shifted(pointer + "/repeat"), file=pos.file)
    try:
        step = repeat.every.as_timedelta()
    except ValueError:
        raise InputError(
            "repeat.every must be a calendar duration (h, m, d, w), not business days",
            location=location,
            code=ErrorCode.SCHEMA,
        ) from None
    body = {k: v for k, v in raw.items() if k != "repeat"}
    rid = body.get("id")
    if not isinstance(rid, str) or "{n}" not in rid:
        raise InputError(
            "a repeated record's id must contain {n} (replaced by the copy's number)",
            location=pos.location(pointer + "/id"),
            code=ErrorCode.SCHEMA,
        )
    time_field = _time_field(body)
    shift = repeat.shift
    if shift is None:
        shift = [f for f in (time_field, "created_at") if f is not None and f in body]
    starts: dict[str, datetime] = {}
    for name in shift:
        value = body.get(name)
        start = _as_datetime(value)
        if start is None:
            raise InputError(
                f"repeat: field {name!r} must be a timestamp to shift, got {value!r}",
                location=pos.location(f"{pointer}/{name}"),
                code=ErrorCode.SCHEMA,
            )
        starts[name] = start
    width = len(str(repeat.count - 1))
    copies: list[EvidenceRecord] = []
    origin = pos.location(pointer)
    for n in range(repeat.count):
        copy = dict(body)
        copy["id"] = rid.replace("{n}", str(n).zfill(width))
        for name, start in starts.items():
            copy[name] = start + step * n
        copies.append(EvidenceRecord(copy, origin))
    return copies


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None


def _fill(record: dict[str, Any], workflow: str) -> dict[str, Any]:
    """Fill the envelope fields a test does not care about (never overriding given ones)."""
    rid = str(record.get("id"))
    out = dict(record)
    out.setdefault("workflow", workflow)
    out.setdefault("recorded_by", "policy-test")
    out.setdefault("source_uri", f"test://{rid}")
    out.setdefault("sha256", FILLER_SHA)
    time_field = _time_field(out)
    if "created_at" not in out and time_field and out.get(time_field) is not None:
        out["created_at"] = out[time_field]
    plain: dict[str, Any] = _plain(out)
    return plain


def _plain(value: Any) -> Any:
    """YAML timestamps and dates as ISO strings, so that records can be written as JSON."""
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_cases(root: Path) -> list[TestCase]:
    """Every case under ``root``; all problems of all files are raised together."""
    errors = ErrorCollector()
    cases: list[TestCase] = []
    for path in discover_case_files(root):
        try:
            cases.extend(load_case_file(path))
        except InputErrors as err:
            errors.extend(err.errors)
        except AssayError as err:
            errors.add(err)
    errors.raise_if_any()
    return cases
