"""Helpers shared by the fleet generator and the gate benchmark.

Kept free of Assay imports so that the benchmark's parse floor measures only what a
fast JSON parser costs, not the engine's import time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_DATA = BENCH_DIR / "data" / "fleet"
DEFAULT_AS_OF = "2026-11-20T12:00:00Z"

EVIDENCE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".yaml", ".yml", ".md")


def parse_instant(text: str) -> int:
    """POSIX seconds of an ISO 8601 instant that names its timezone (``...Z`` or an offset)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no timezone; write e.g. 2026-11-20T12:00:00Z")
    return int(value.astimezone(UTC).timestamp())


def iso(ts: float) -> str:
    """An ISO 8601 UTC instant ending in Z, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def evidence_files(root: Path) -> list[Path]:
    """Every evidence file under ``root/evidence``, sorted, hidden files skipped."""
    base = root / "evidence"
    return sorted(
        path
        for path in base.rglob("*")
        if path.is_file()
        and path.suffix.lower() in EVIDENCE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(base).parts)
    )


def _yaml_loader() -> Any:
    # The C loader when PyYAML was built with libyaml (it is on this machine).
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_file(path: Path) -> Iterator[Any]:
    """Parse one evidence file the fastest way: orjson for JSON(L), libyaml for YAML/front matter.

    This is the *floor*: no validation, no positions, no indexing.
    """
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        loads = orjson.loads
        for line in data.split(b"\n"):
            if line.strip():
                yield loads(line)
    elif suffix == ".json":
        value = orjson.loads(data)
        if isinstance(value, list):
            yield from value
        else:
            yield value
    elif suffix in (".yaml", ".yml"):
        value = yaml.load(data, Loader=_yaml_loader())  # noqa: S506 - a safe loader
        if isinstance(value, list):
            yield from value
        elif value is not None:
            yield value
    elif suffix == ".md":
        text = data.decode("utf-8")
        _, front, _body = text.split("---\n", 2)
        yield yaml.load(front, Loader=_yaml_loader())  # noqa: S506 - a safe loader
