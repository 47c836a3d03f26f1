"""Parsed YAML kept between runs: the policy, workflow and waiver files of a project whose
evidence cache folder (``.assay/``) exists, by the SHA-256 of their bytes.

Parsing YAML with the position map errors are worded with is a good part of every gate's
start (the bundled catalog and one file per workflow: ~0.1 s for a 200-workflow project).
What a file's bytes parse to never changes, so a file whose SHA-256 was parsed before is
not parsed again: its value and positions are read back from one JSON file. Only files
that parsed without an error are kept, and only when their value reads back exactly (every
type, every float bit, every time zone): anything else is parsed every time. The cache is
trusted only by the code that wrote it (a fingerprint of the parser and of this module)
and only in the folder it was written in (the identity of its cache folder, as the evidence
store does): a cache copied or committed into another checkout is ignored. Damage of any
kind costs time, never a verdict: an unreadable cache is an empty one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import yaml

from ..errors import AssayError
from ..evidence.cache import CacheDir
from ..parsing import yamlsafe
from ..parsing.files import read_regular
from ..parsing.yamlsafe import Positions, check_size, load_yaml

FILE_NAME = "parsed-yaml.json"
FORMAT = 1
MAX_BYTES = 64 << 20
"""A larger cache file is not read (nothing Assay writes comes near it)."""


class _Unkept(Exception):
    """A value this cache does not keep exactly."""


def _encode(value: Any) -> Any:
    """A JSON form of a parsed YAML value that keeps its exact type: scalars JSON holds
    exactly as they are, everything else as a list tagged by its first item."""
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:
        return value
    if kind is float:
        return ["f", value.hex()]
    if kind is list:
        return ["l", *(_encode(item) for item in value)]
    if kind is dict:
        out: list[Any] = ["d"]
        for key, item in value.items():
            if type(key) is not str:
                raise _Unkept
            out += (key, _encode(item))
        return out
    if kind is datetime:
        offset = value.utcoffset()
        naive = value.replace(tzinfo=None).isoformat()
        return ["t", naive, None if offset is None else offset // timedelta(microseconds=1)]
    if kind is date:
        return ["D", value.isoformat()]
    raise _Unkept


def _decode(data: Any) -> Any:
    if not isinstance(data, list):
        return data
    tag = data[0]
    if tag == "l":
        return [_decode(item) for item in data[1:]]
    if tag == "d":
        items = data[1:]
        return {items[i]: _decode(items[i + 1]) for i in range(0, len(items), 2)}
    if tag == "f":
        return float.fromhex(data[1])
    if tag == "t":
        moment = datetime.fromisoformat(data[1])
        if data[2] is None:
            return moment
        return moment.replace(tzinfo=timezone(timedelta(microseconds=data[2])))
    if tag == "D":
        return date.fromisoformat(data[1])
    raise ValueError(f"unknown tag {tag!r}")


def _same(a: Any, b: Any) -> bool:
    """Exactly the same value: same types throughout, same key order, same float bits,
    same time zones."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return bool(a.hex() == b.hex())
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, datetime):
        return bool(a == b and a.tzinfo == b.tzinfo and a.utcoffset() == b.utcoffset())
    return bool(a == b)


def _flat(table: dict[str, tuple[Any, ...]]) -> list[Any]:
    return [part for key, entry in table.items() for part in (key, *entry)]


def _table(flat: list[Any], width: int) -> dict[str, Any]:
    step = width + 1
    return {flat[i]: tuple(flat[i + 1 : i + step]) for i in range(0, len(flat), step)}


def _fingerprint() -> str:
    from .._version import __version__

    digest = hashlib.sha256(f"{FORMAT}:{__version__}:{yaml.__version__}".encode())
    for source in (yamlsafe.__file__, __file__):
        digest.update(Path(source or "").read_bytes())
    return digest.hexdigest()


class ParsedYaml:
    """The parse cache of one load. :meth:`load` is :func:`load_yaml` (same values, same
    positions, same errors); :meth:`save` writes what this load used back, when the
    project's cache folder exists."""

    def __init__(self, folder: Path | None) -> None:
        self._folder = folder
        self._known: dict[str, Any] = {}
        self._used: dict[str, Any] = {}
        self._added = False
        self._fingerprint = ""
        if folder is not None:
            self._known = self._read(folder)

    @classmethod
    def disabled(cls) -> ParsedYaml:
        return cls(None)

    def _read(self, folder: Path) -> dict[str, Any]:
        path = folder / FILE_NAME
        try:
            self._fingerprint = _fingerprint()
            if not folder.is_dir() or not path.exists():
                return {}
            # Bounded, and only a regular file: never a pipe or device put in its place.
            data = orjson.loads(read_regular(path, FILE_NAME, MAX_BYTES))
            if (
                not isinstance(data, dict)
                or data.get("fingerprint") != self._fingerprint
                or data.get("identity") != _identity(folder)
                or data.get("identity") is None
                or not isinstance(data.get("files"), dict)
            ):
                return {}
            files: dict[str, Any] = data["files"]
            return files
        except (OSError, AssayError, orjson.JSONDecodeError):
            return {}

    def load(self, data: bytes, file: str, *, max_bytes: int) -> tuple[Any, Positions]:
        if self._folder is None:
            return load_yaml(data, file, max_bytes=max_bytes)
        check_size(data, file, max_bytes)  # the limit may be lower than when it was kept
        sha = hashlib.sha256(data).hexdigest()
        entry = self._known.get(sha)
        if entry is not None:
            try:
                value = _decode(entry[0])
                positions = Positions(file, _table(entry[1], 2), 0, _table(entry[2], 3))
            except (ValueError, TypeError, IndexError, KeyError, AttributeError):
                pass  # a damaged entry: parsed afresh below
            else:
                self._used[sha] = entry
                return value, positions
        value, positions = load_yaml(data, file, max_bytes=max_bytes)
        try:
            encoded = _encode(value)
            if _same(_decode(encoded), value):
                self._used[sha] = [encoded, _flat(positions._table), _flat(positions._content)]
                self._added = True
        except (_Unkept, RecursionError):
            pass
        return value, positions

    def save(self) -> None:
        """Write the cache back when this load parsed a file it did not hold, atomically;
        quietly nothing when the folder is gone or cannot be written. It keeps what this
        load used and, within a bound, what it held before (a file edited back and forth,
        another command's files): never more than a few times the project's files."""
        folder = self._folder
        if folder is None or not self._added or not folder.is_dir():
            return
        # The folder exists (the project uses a cache): give it its marker if it has none.
        identity = _identity(folder) if CacheDir(folder).prepare() else None
        if identity is None:
            return
        files = dict(self._used)
        for sha, entry in self._known.items():
            if len(files) >= 4 * len(self._used) + 64:
                break
            files.setdefault(sha, entry)
        try:
            payload = orjson.dumps(
                {
                    "fingerprint": self._fingerprint or _fingerprint(),
                    "identity": identity,
                    "files": files,
                }
            )
            _write(folder / FILE_NAME, payload)
        except (OSError, TypeError):
            pass


def _identity(folder: Path) -> str | None:
    return CacheDir(folder).identity()


def _write(path: Path, payload: bytes) -> None:
    # A new file of its own (O_EXCL: never through a link planted in its place), renamed.
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
