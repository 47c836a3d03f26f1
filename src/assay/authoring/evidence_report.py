"""What `assay evidence validate` reports: every invalid record at the offending field, then
what the valid evidence holds, per workflow and kind.

The loader locates a problem by the record it is in; this report goes back to the file
and finds the field itself (the key of a mapping, the item of a list) by its JSON pointer,
in every evidence format: the line and column of a YAML or Markdown key from the YAML
parser's marks, of a JSON or JSON Lines member by walking the document to that pointer.
A field that is missing is reported at the record that lacks it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from json.decoder import scanstring  # type: ignore[attr-defined]  # public, untyped
from pathlib import Path, PurePosixPath

from ..errors import AssayError, InputError, Location
from ..evidence.readers import ReaderLimits, reader_for
from ..load.discover import read_file
from ..load.project import Project, load_project
from ..models.evidence_kinds import EVIDENCE_KINDS

_JSON_LINES = (".jsonl", ".ndjson")
_WS = re.compile(r"[ \t\n\r]*")


def _skip(text: str, pos: int) -> int:
    """The offset of the next character that is not JSON whitespace."""
    found = _WS.match(text, pos)
    return found.end() if found is not None else pos


@dataclass(frozen=True)
class KindSummary:
    """The valid records of one kind for one workflow."""

    workflow: str
    kind: str
    records: int
    files: int
    time_field: str
    oldest: datetime | None
    newest: datetime | None


@dataclass(frozen=True)
class EvidenceReport:
    """Every problem of the evidence (located at the field), and a summary of the rest."""

    files: int
    """Evidence files read."""
    problems: tuple[AssayError, ...]
    summary: tuple[KindSummary, ...]

    @property
    def records(self) -> int:
        return sum(item.records for item in self.summary)

    @property
    def invalid_files(self) -> int:
        return len({p.location.file for p in self.problems if p.location is not None})


def evidence_report(project_dir: str | Path) -> EvidenceReport:
    """Validate the evidence of the project at ``project_dir``.

    Problems of its policies, workflows or waivers are raised (InputErrors): evidence
    cannot be checked without the workflows it belongs to.
    """
    root = Path(project_dir)
    problems: list[AssayError] = []
    project = load_project(root, evidence_errors=problems)
    limits = ReaderLimits(project.config.max_yaml_bytes, project.config.max_evidence_bytes)
    located = _Relocator(project.root, limits).all(problems)
    files = {f.path for f in project.files if f.role == "evidence"}
    files |= {p.location.file for p in problems if p.location is not None and p.location.line}
    return EvidenceReport(
        files=len(files),
        problems=tuple(sorted(located, key=lambda p: p.sort_key())),
        summary=tuple(_summary(project)),
    )


def _summary(project: Project) -> Iterable[KindSummary]:
    for workflow in project.workflows:
        for kind, model in sorted(EVIDENCE_KINDS.items()):
            records = project.evidence.records(workflow, kind)
            if not records:
                continue
            field = model.TIME_FIELD
            times = [t for r in records if (t := r.time(field)) is not None]
            yield KindSummary(
                workflow=workflow,
                kind=kind,
                records=len(records),
                files=len({r.source.path for r in records}),
                time_field=field,
                oldest=min(times) if times else None,
                newest=max(times) if times else None,
            )


class _Relocator:
    """Moves each problem's location from its record to its field."""

    def __init__(self, root: Path, limits: ReaderLimits) -> None:
        self.root = root
        self.limits = limits
        self._texts: dict[str, str | None] = {}

    def all(self, problems: Sequence[AssayError]) -> list[AssayError]:
        return [self.one(problem) for problem in problems]

    def one(self, problem: AssayError) -> AssayError:
        loc = problem.location
        if loc is None or not loc.pointer:
            return problem
        suffix = PurePosixPath(loc.file).suffix.lower()
        try:
            if suffix in _JSON_LINES:
                found = self._json_line(loc)
            elif suffix == ".json":
                found = self._json(loc)
            else:
                found = self._yaml(loc, suffix)
        except (AssayError, ValueError, IndexError, RecursionError):
            found = None  # the loader's location stands
        if found is None or found == loc:
            return problem
        return InputError(problem.message, location=found, code=problem.code)

    def _text(self, file: str) -> str | None:
        if file not in self._texts:
            try:
                self._texts[file] = read_file(self.root / file, file).decode("utf-8")
            except (AssayError, UnicodeDecodeError):
                self._texts[file] = None
        return self._texts[file]

    def _json(self, loc: Location) -> Location | None:
        text = self._text(loc.file)
        if text is None or loc.pointer is None:
            return None
        offset = json_offset(text, loc.pointer)
        if offset is None:
            return None
        line, column = _line_column(text, offset)
        return Location(loc.file, line, column, loc.pointer)

    def _json_line(self, loc: Location) -> Location | None:
        text = self._text(loc.file)
        if text is None or loc.line is None or loc.pointer is None:
            return None
        lines = text.split("\n")
        if not 1 <= loc.line <= len(lines):
            return None
        offset = json_offset(lines[loc.line - 1], loc.pointer)
        if offset is None:
            return None
        return Location(loc.file, loc.line, offset + 1, loc.pointer)

    def _yaml(self, loc: Location, suffix: str) -> Location | None:
        reader = reader_for(suffix)
        if reader is None or loc.pointer is None:
            return None
        data = read_file(self.root / loc.file, loc.file)
        for raw in reader(data, loc.file, self.limits):
            prefix = raw.pointer
            if raw.positions is None or not (
                loc.pointer == prefix or loc.pointer.startswith(prefix + "/")
            ):
                continue
            inner = loc.pointer[len(prefix) :]
            found = raw.positions.key_location(inner) if inner else raw.positions.location("")
            return Location(loc.file, found.line, found.column, loc.pointer)
        return None


def json_offset(text: str, pointer: str) -> int | None:
    """Where in JSON ``text`` the field at ``pointer`` is: the offset of its key (a member of
    an object) or of the item (a list); for a pointer that names nothing, the offset of the
    deepest object or list on its way (a missing field is reported at its record). Values
    on the way are skipped by the C decoder, so this costs one pass up to the field."""
    decoder = json.JSONDecoder()
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    pos = _skip(text, 0)
    at = pos
    for token in tokens:
        container = pos
        if text[pos] == "{":
            pos = _skip(text, pos + 1)
            while text[pos] != "}":
                key, end = scanstring(text, pos + 1)
                key_at = pos
                pos = _skip(text, end)
                if text[pos] != ":":
                    return None
                pos = _skip(text, pos + 1)
                if key == token:
                    at = key_at
                    break
                _, pos = decoder.raw_decode(text, pos)
                pos = _skip(text, pos)
                if text[pos] == ",":
                    pos = _skip(text, pos + 1)
            else:
                return container
        elif text[pos] == "[":
            if not token.isdigit():
                return container
            wanted = int(token)
            pos = _skip(text, pos + 1)
            index = 0
            while text[pos] != "]" and index < wanted:
                _, pos = decoder.raw_decode(text, pos)
                pos = _skip(text, pos)
                if text[pos] == ",":
                    pos = _skip(text, pos + 1)
                index += 1
            if text[pos] == "]":
                return container
            at = pos
        else:
            return at
    return at


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1


def format_report(report: EvidenceReport) -> str:
    """The summary table: per workflow and kind, records, files, oldest and newest."""
    lines: list[str] = []
    rows = [
        (
            s.workflow,
            s.kind,
            str(s.records),
            str(s.files),
            _time(s.oldest),
            _time(s.newest),
            s.time_field,
        )
        for s in report.summary
    ]
    header = ("workflow", "kind", "records", "files", "oldest", "newest", "by")
    if rows:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    else:
        lines.append("no valid evidence records")
    problems = len(report.problems)
    tail = (
        f"{problems} problem{'' if problems == 1 else 's'} in "
        f"{report.invalid_files} file{'' if report.invalid_files == 1 else 's'}"
        if problems
        else "all valid"
    )
    lines.append(
        f"{report.files} evidence file{'' if report.files == 1 else 's'}, "
        f"{report.records} valid record{'' if report.records == 1 else 's'}: {tail}"
    )
    return "\n".join(lines) + "\n"


def _time(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.isoformat().replace("+00:00", "Z")
