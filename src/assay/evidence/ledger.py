"""A tamper-evident ledger of the evidence folder: seal what was collected, verify it later.

``seal`` appends one entry per new, changed or removed evidence file to ``.assay-ledger.jsonl``
at the top of the evidence folder. Each entry records the file, its SHA-256, who sealed it and
when, and chains the previous entry's hash, so that editing, inserting or dropping an entry
in the middle breaks every later link. ``verify`` replays the ledger and compares it with the
folder: a file edited, deleted or added since it was sealed, an entry dated before its
predecessor (back-dated) and a broken chain are each reported, naming the entry and the file.
Dropping entries from the *end* of the ledger cannot be seen from the ledger alone: keep the
head hash that ``seal`` returns somewhere else (a commit, the pack) and pass it to ``verify``.

The ledger is a hidden file, which the project loader skips, so it is never read as evidence.
Its format is deterministic: JSON Lines, one entry per line, keys sorted, no spaces.

Record digests. Every record declares ``sha256``; Assay checks it against the record's
*content*, defined as: the record's fields as written in its file (for a Markdown document,
its front matter plus ``body``, the text after it), without the ``sha256`` field, serialised as
JSON with keys sorted, ``","`` and ``":"`` as separators, non-ASCII escaped (``\\uXXXX``) and
timestamps that YAML parsed unquoted written in ISO 8601 (UTC as ``Z``); the digest is the
lower-case hex SHA-256 of those UTF-8 bytes. :func:`record_digest` computes it.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, Field, ValidationError

from assay.errors import (
    AssayError,
    ErrorCode,
    InputError,
    InputErrors,
    Location,
    UsageError,
    VerificationError,
)
from assay.evidence import LEDGER_NAME
from assay.evidence.readers import ReaderLimits, reader_for
from assay.fileio import write_atomic
from assay.models.base import StrictModel
from assay.models.config import ProjectConfig

GENESIS = "0" * 64
"""The ``prev`` of the first entry."""
_HEX64 = r"^[0-9a-f]{64}$"
_TEST_SUFFIXES = (".test.yaml", ".test.yml")
"""Skipped by the project loader's folder walk (policy test cases), so not evidence."""


# --- record digests -----------------------------------------------------------------------


def _instant(value: Any) -> str:
    # json.dumps calls this only for what JSON has no type for: YAML's unquoted timestamps.
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def canonical_json(value: Any) -> bytes:
    """The canonical serialisation used for record digests and ledger entries."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
        default=_instant,
    ).encode("utf-8")


def record_digest(record: Mapping[str, Any]) -> str:
    """SHA-256 of a record's content: its fields without ``sha256`` (see the module doc)."""
    content = {key: value for key, value in record.items() if key != "sha256"}
    return hashlib.sha256(canonical_json(content)).hexdigest()


# --- the ledger ---------------------------------------------------------------------------


class LedgerEntry(StrictModel):
    """One line of the ledger: a file sealed (added or changed) or its removal recorded."""

    seq: int = Field(ge=1)
    """Position in the ledger, from 1."""
    prev: str = Field(pattern=_HEX64)
    """Hash of the previous entry (64 zeros for the first)."""
    at: AwareDatetime
    """When it was sealed (UTC)."""
    by: str = Field(min_length=1)
    """Who sealed it."""
    op: Literal["add", "change", "remove"]
    """What happened to the file since the previous seal."""
    file: str = Field(min_length=1)
    """Path of the evidence file, relative to the evidence folder, with ``/``."""
    sha256: str | None = Field(default=None, pattern=_HEX64)
    """SHA-256 of the file's bytes; empty for a removal."""
    workflows: tuple[str, ...] | None = None
    """The workflows the file's records were evidence for when it was sealed (sorted; absent
    for a removal). A gate checks one workflow's files: this tells it which sealed files were
    that workflow's, so that one deleted, or emptied of its records, is still seen."""
    hash: str = Field(pattern=_HEX64)
    """SHA-256 of this entry's canonical JSON without ``hash``: what the next entry chains."""

    def body(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude={"hash"})
        data["at"] = _utc(self.at)
        if data["workflows"] is None:
            del data["workflows"]
        return data

    def line(self) -> bytes:
        return canonical_json({**self.body(), "hash": self.hash})


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _entry_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _new_entry(
    seq: int,
    prev: str,
    at: datetime,
    by: str,
    op: str,
    file: str,
    sha: str | None,
    workflows: Sequence[str] | None = None,
) -> LedgerEntry:
    body: dict[str, Any] = {
        "seq": seq,
        "prev": prev,
        "at": _utc(at),
        "by": by,
        "op": op,
        "file": file,
        "sha256": sha,
    }
    if workflows is not None:
        body["workflows"] = sorted(workflows)
    return LedgerEntry.model_validate({**body, "hash": _entry_hash(body)})


class LedgerError(VerificationError):
    """Verification of the evidence folder failed: every problem, each with its location."""

    code = ErrorCode.LEDGER

    def __init__(self, problems: Sequence[AssayError]):
        self.problems = sorted(problems, key=lambda p: p.sort_key())
        first = self.problems[0]
        super().__init__(first.message, location=first.location)

    def lines(self) -> list[str]:
        return [
            f"{p.location}: error[{self.code}]: {p.message}"
            if p.location
            else f"error[{self.code}]: {p.message}"
            for p in self.problems
        ]


def _problem(message: str, file: str, line: int | None = None) -> AssayError:
    return VerificationError(message, location=Location(file, line))


@dataclass(frozen=True)
class SealResult:
    """What a seal appended; ``head`` is the hash of the ledger's last entry."""

    ledger: Path
    entries: tuple[LedgerEntry, ...]
    head: str


@dataclass(frozen=True)
class VerifyResult:
    """A folder that verified: how many entries and files, and the head hash."""

    ledger: Path
    entries: int
    files: int
    records: int
    head: str


@dataclass
class Replay:
    """A ledger read entry by entry: what it says the folder holds, and what is wrong with it."""

    entries: list[LedgerEntry] = field(default_factory=list)
    state: dict[str, tuple[str, LedgerEntry]] = field(default_factory=dict)
    """File -> (sha256, the entry that sealed it), after every entry."""
    problems: list[AssayError] = field(default_factory=list)
    """A broken chain, back-dated or future entries, lines that are not entries."""
    lines: dict[int, int] = field(default_factory=dict)
    """Entry seq -> its line in the ledger file."""

    @property
    def head(self) -> str:
        return self.entries[-1].hash if self.entries else GENESIS


def _read_ledger(path: Path, display: str, now: datetime | None) -> Replay:
    if not path.is_file():
        return Replay()
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read {display}: {err.strerror}") from None
    return replay_ledger(data, display, now)


def replay_ledger(data: bytes, display: str, now: datetime | None = None) -> Replay:
    """Replay a ledger's bytes (no file system): every entry checked against the chain and
    the clock (``now``: entries dated after it are reported; None skips that check)."""
    replay = Replay()
    prev = GENESIS
    last_at: datetime | None = None
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        seq = len(replay.entries) + 1
        try:
            entry = LedgerEntry.model_validate_json(raw)
        except ValidationError as err:
            first = err.errors(include_url=False)[0]
            where = "/".join(str(p) for p in first["loc"])
            what = f"{where}: {first['msg']}" if where else first["msg"]
            replay.problems.append(
                _problem(f"entry {seq} is not a valid ledger entry ({what})", display, number)
            )
            return replay  # without this entry, nothing after it can be chained
        named = f"entry {entry.seq} ({entry.op} {entry.file})"
        if entry.seq != seq:
            replay.problems.append(
                _problem(f"broken chain: {named} should be entry {seq}", display, number)
            )
        if entry.prev != prev:
            replay.problems.append(
                _problem(
                    f"broken chain: {named} does not chain the previous entry "
                    f"(prev {entry.prev[:12]}…, expected {prev[:12]}…)",
                    display,
                    number,
                )
            )
        if _entry_hash(entry.body()) != entry.hash:
            replay.problems.append(
                _problem(
                    f"broken chain: {named} was altered (its hash does not match)", display, number
                )
            )
        if last_at is not None and entry.at < last_at:
            replay.problems.append(
                _problem(
                    f"{named} is back-dated: sealed at {_utc(entry.at)}, before the entry "
                    f"preceding it ({_utc(last_at)})",
                    display,
                    number,
                )
            )
        if now is not None and entry.at > now:
            replay.problems.append(
                _problem(
                    f"{named} is dated {_utc(entry.at)}, after the time of verification "
                    f"({_utc(now)})",
                    display,
                    number,
                )
            )
        last_at = entry.at if last_at is None else max(last_at, entry.at)
        prev = entry.hash
        replay.entries.append(entry)
        replay.lines[entry.seq] = number
        if entry.op == "remove":
            replay.state.pop(entry.file, None)
        elif entry.sha256 is not None:
            replay.state[entry.file] = (entry.sha256, entry)
    return replay


def evidence_files(folder: Path) -> list[str]:
    """The files of an evidence folder the project loader reads, relative, with ``/``, sorted:
    hidden files and folders are skipped, symlinked folders followed once."""
    found: set[str] = set()
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith(".") or name.lower().endswith(_TEST_SUFFIXES):
                continue
            found.add(Path(os.path.relpath(Path(dirpath) / name, folder)).as_posix())
    return sorted(found)


def _digest_file(path: Path, display: str) -> tuple[str, bytes]:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read file: {err.strerror}", location=Location(display)) from None
    return hashlib.sha256(data).hexdigest(), data


def _record_problems(
    data: bytes, name: str, display: str, limits: ReaderLimits
) -> tuple[int, list[AssayError], set[str]]:
    """Records whose declared sha256 does not match their content (see the module doc); also
    how many records the file holds and the workflows they name."""
    reader = reader_for(Path(name).suffix)
    if reader is None:
        return 0, [], set()  # not an evidence format: the loader reports it
    count = 0
    problems: list[AssayError] = []
    workflows: set[str] = set()
    try:
        for raw in reader(data, display, limits):
            value = raw.data
            if isinstance(value, bytes):
                try:
                    value = orjson.loads(value)
                except orjson.JSONDecodeError as err:
                    problems.append(
                        InputError(f"invalid JSON: {err.msg}", location=Location(display, raw.line))
                    )
                    continue
            if not isinstance(value, dict):
                continue  # not a record: the loader reports it
            count += 1
            workflow = value.get("workflow")
            if isinstance(workflow, str):
                workflows.add(workflow)
            declared = value.get("sha256")
            if not isinstance(declared, str):
                continue  # a record without a digest fails validation in the loader
            actual = record_digest(value)
            if declared.lower() != actual:
                record = value.get("id")
                problems.append(
                    VerificationError(
                        f"record {record!r}: sha256 {declared[:12]}… does not match its "
                        f"content ({actual[:12]}…): the record was changed after its digest "
                        "was taken",
                        location=Location(display, raw.line, None, raw.pointer or None),
                    )
                )
    except AssayError as err:
        problems.append(err)
    return count, problems, workflows


@dataclass(frozen=True)
class _Scan:
    digests: dict[str, str]
    records: int
    record_problems: list[AssayError]
    workflows: dict[str, set[str]]


def _scan(folder: Path, display: str, limits: ReaderLimits) -> _Scan:
    digests: dict[str, str] = {}
    problems: list[AssayError] = []
    workflows: dict[str, set[str]] = {}
    records = 0
    for rel in evidence_files(folder):
        shown = f"{display}/{rel}"
        sha, data = _digest_file(folder / rel, shown)
        digests[rel] = sha
        count, found, named = _record_problems(data, rel, shown, limits)
        records += count
        problems.extend(found)
        workflows[rel] = named
    return _Scan(digests, records, problems, workflows)


def _limits(limits: ReaderLimits | None) -> ReaderLimits:
    if limits is not None:
        return limits
    config = ProjectConfig()
    return ReaderLimits(config.max_yaml_bytes, config.max_evidence_bytes)


def _now(now: datetime | None) -> datetime:
    moment = now if now is not None else datetime.now(UTC).replace(microsecond=0)
    if moment.tzinfo is None:
        raise UsageError("the time of a seal or verification must have a timezone")
    return moment.astimezone(UTC)


def seal(
    folder: str | Path,
    *,
    by: str | None = None,
    now: datetime | None = None,
    display: str | None = None,
    limits: ReaderLimits | None = None,
) -> SealResult:
    """Append an entry for every evidence file added, changed or removed since the last seal.

    Refuses (and writes nothing) when the ledger does not verify as a chain, when the clock
    is behind the ledger's last entry, or when a record's ``sha256`` does not match its
    content (fix the record first: sealing it would make the mismatch look sanctioned).
    """
    base = Path(folder)
    shown = display if display is not None else base.name
    if not base.is_dir():
        raise UsageError(f"evidence folder {shown} does not exist")
    moment = _now(now)
    who = by or _whoami()
    ledger_path = base / LEDGER_NAME
    replay = _read_ledger(ledger_path, f"{shown}/{LEDGER_NAME}", None)
    if replay.problems:
        raise LedgerError(replay.problems)
    if replay.entries and moment < replay.entries[-1].at:
        raise UsageError(
            f"cannot seal at {_utc(moment)}: the ledger's last entry is dated "
            f"{_utc(replay.entries[-1].at)} (a seal must not be back-dated)"
        )
    scan = _scan(base, shown, _limits(limits))
    if scan.record_problems:
        raise InputErrors(
            [
                InputError(p.message, location=p.location, code=ErrorCode.DIGEST)
                for p in scan.record_problems
            ]
        )
    changes: list[tuple[str, str, str | None]] = []
    for rel, sha in scan.digests.items():
        sealed = replay.state.get(rel)
        if sealed is None:
            changes.append(("add", rel, sha))
        elif sealed[0] != sha:
            changes.append(("change", rel, sha))
    changes.extend(("remove", rel, None) for rel in replay.state if rel not in scan.digests)
    changes.sort(key=lambda c: c[1])
    entries: list[LedgerEntry] = []
    prev: str = replay.head
    seq = len(replay.entries)
    for op, rel, digest in changes:
        seq += 1
        named = sorted(scan.workflows.get(rel, ())) if op != "remove" else None
        entry = _new_entry(seq, prev, moment, who, op, rel, digest, named)
        entries.append(entry)
        prev = entry.hash
    if entries:
        old = ledger_path.read_bytes() if ledger_path.is_file() else b""
        if old and not old.endswith(b"\n"):
            old += b"\n"
        write_atomic(ledger_path, old + b"".join(e.line() + b"\n" for e in entries))
    return SealResult(ledger_path, tuple(entries), prev)


def verify(
    folder: str | Path,
    *,
    now: datetime | None = None,
    head: str | None = None,
    display: str | None = None,
    limits: ReaderLimits | None = None,
) -> VerifyResult:
    """Check the evidence folder against its ledger; raise :class:`LedgerError` (exit 3)
    listing every problem, or return what was verified.

    ``head``, when given, is the hash the last entry must have (as returned by a seal),
    which also catches entries dropped from the end of the ledger.
    """
    base = Path(folder)
    shown = display if display is not None else base.name
    if not base.is_dir():
        raise UsageError(f"evidence folder {shown} does not exist")
    moment = _now(now)
    ledger_display = f"{shown}/{LEDGER_NAME}"
    ledger_path = base / LEDGER_NAME
    if not ledger_path.is_file():
        raise LedgerError(
            [
                _problem(
                    "no ledger: the evidence has never been sealed (run `assay evidence seal`)",
                    ledger_display,
                )
            ]
        )
    replay = _read_ledger(ledger_path, ledger_display, moment)
    problems = list(replay.problems)
    if head is not None and replay.head != head.lower():
        problems.append(
            _problem(
                f"the ledger ends at {replay.head[:12]}…, not at the expected head "
                f"{head[:12]}…: entries were dropped or added at the end",
                ledger_display,
            )
        )
    scan = _scan(base, shown, _limits(limits))
    problems.extend(scan.record_problems)
    for rel, sha in scan.digests.items():
        sealed = replay.state.get(rel)
        if sealed is None:
            problems.append(
                _problem("added but not sealed (run `assay evidence seal`)", f"{shown}/{rel}")
            )
        elif sealed[0] != sha:
            entry = sealed[1]
            problems.append(
                _problem(
                    f"edited after it was sealed: sha256 is {sha[:12]}…, entry {entry.seq} "
                    f"({_utc(entry.at)}, by {entry.by}) sealed {sealed[0][:12]}…",
                    f"{shown}/{rel}",
                )
            )
    for rel, (sha, entry) in replay.state.items():
        if rel not in scan.digests:
            problems.append(
                _problem(
                    f"deleted, but sealed by entry {entry.seq} ({_utc(entry.at)}, by {entry.by}) "
                    f"with sha256 {sha[:12]}…",
                    f"{shown}/{rel}",
                )
            )
    if problems:
        raise LedgerError(problems)
    return VerifyResult(
        ledger_path, len(replay.entries), len(scan.digests), scan.records, replay.head
    )


def _whoami() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unknown"


# --- several folders ---------------------------------------------------------------------


def seal_folders(
    folders: Sequence[tuple[Path, str]],
    *,
    by: str | None = None,
    now: datetime | None = None,
    limits: ReaderLimits | None = None,
) -> list[SealResult]:
    """Seal each (folder, display name), e.g. every evidence folder of a project, at one time."""
    moment = _now(now)
    return [seal(path, by=by, now=moment, display=shown, limits=limits) for path, shown in folders]


def verify_folders(
    folders: Sequence[tuple[Path, str]],
    *,
    now: datetime | None = None,
    limits: ReaderLimits | None = None,
    heads: Mapping[str, str] | None = None,
) -> list[VerifyResult]:
    """Verify each (folder, display name); one LedgerError lists the problems of all.
    ``heads`` maps display names to the head hash their ledger must end at."""
    results: list[VerifyResult] = []
    problems: list[AssayError] = []
    wanted = dict(heads or {})
    unknown = sorted(set(wanted) - {shown for _, shown in folders})
    if unknown:
        known = ", ".join(shown for _, shown in folders)
        raise UsageError(f"no evidence folder {', '.join(unknown)} (folders: {known})")
    for path, shown in folders:
        try:
            results.append(
                verify(path, now=now, display=shown, limits=limits, head=wanted.get(shown))
            )
        except LedgerError as err:
            problems.extend(err.problems)
    if problems:
        raise LedgerError(problems)
    return results


def iter_entries(folder: str | Path) -> Iterator[LedgerEntry]:
    """The entries of a folder's ledger, as written (no verification)."""
    path = Path(folder) / LEDGER_NAME
    if not path.is_file():
        return
    for raw in path.read_bytes().split(b"\n"):
        if raw.strip():
            yield LedgerEntry.model_validate_json(raw)


__all__ = [
    "GENESIS",
    "LEDGER_NAME",
    "LedgerEntry",
    "LedgerError",
    "Replay",
    "SealResult",
    "VerifyResult",
    "canonical_json",
    "evidence_files",
    "iter_entries",
    "record_digest",
    "replay_ledger",
    "seal",
    "seal_folders",
    "verify",
    "verify_folders",
]
