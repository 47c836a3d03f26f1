"""The project configuration: `assay.yaml`, else `[tool.assay]` in pyproject.toml, else
the defaults (a bare folder layout needs no configuration); and the policies shipped with
Assay, which `policies: [bundled]` names."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import ErrorCode, InputError, Location
from ..models.config import BUNDLED, BUNDLED_POLICIES, ProjectConfig
from ..parsing.validate import validate_model
from ..parsing.yamlsafe import load_yaml
from .discover import DiskSource, EntryKind, FileSource, ProjectFile

CONFIG_NAME = "assay.yaml"
PYPROJECT = "pyproject.toml"
MAX_CONFIG_BYTES = 1_000_000


def load_config(source: FileSource) -> tuple[ProjectConfig, ProjectFile | None]:
    """The project's configuration and the file it came from (None for the defaults)."""
    if source.kind(CONFIG_NAME) == "file":
        data = source.read(CONFIG_NAME, MAX_CONFIG_BYTES)
        value, positions = load_yaml(data, CONFIG_NAME, max_bytes=MAX_CONFIG_BYTES)
        config = validate_model(
            ProjectConfig, value or {}, positions, file=CONFIG_NAME, strict=True
        )
        digest = hashlib.sha256(data).hexdigest()
        return config, ProjectFile(CONFIG_NAME, "config", digest, source, size=len(data))
    if source.kind(PYPROJECT) == "file":
        data = source.read(PYPROJECT, MAX_CONFIG_BYTES)
        try:
            table = tomllib.loads(data.decode("utf-8")).get("tool", {}).get("assay")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise InputError(
                f"invalid TOML: {err}", location=Location(PYPROJECT), code=ErrorCode.TOML
            ) from None
        if table is not None:
            config = validate_model(
                ProjectConfig, table, None, file=f"{PYPROJECT} [tool.assay]", strict=True
            )
            digest = hashlib.sha256(data).hexdigest()
            return config, ProjectFile(PYPROJECT, "config", digest, source, size=len(data))
    return ProjectConfig(), None


class BundledSource:
    """A project's files, plus the bundled policies under ``bundled/`` when the project has
    no folder of that name: report paths are then ``bundled/catalog.yaml`` wherever Assay is
    installed, and a re-assessment from a pack (which carries them under ``bundled/``)
    reads the embedded copies, not the installed ones."""

    def __init__(self, inner: FileSource) -> None:
        self._inner = inner
        self._bundled = DiskSource(BUNDLED_POLICIES)

    @property
    def root(self) -> Path:
        return self._inner.root

    def _inside(self, rel: str) -> str | None:
        """The path below ``bundled/`` when it is served from the package, else None."""
        head, _, rest = rel.strip("/").partition("/")
        if head != BUNDLED or self._inner.kind(BUNDLED) is not None:
            return None
        return rest or "."

    def kind(self, rel: str) -> EntryKind:
        inside = self._inside(rel)
        return self._inner.kind(rel) if inside is None else self._bundled.kind(inside)

    def walk(self, rel: str) -> Iterator[str]:
        inside = self._inside(rel)
        if inside is None:
            yield from self._inner.walk(rel)
            return
        for path in self._bundled.walk(inside):
            yield f"{BUNDLED}/{path}"

    def read(self, rel: str, max_bytes: int | None = None) -> bytes:
        inside = self._inside(rel)
        if inside is None:
            return self._inner.read(rel, max_bytes)
        return self._bundled.read(inside, max_bytes)

    def stream(self, rel: str, max_bytes: int | None = None) -> Iterator[bytes]:
        inside = self._inside(rel)
        if inside is None:
            return self._inner.stream(rel, max_bytes)
        return self._bundled.stream(inside, max_bytes)

    def allow(self, folders: Sequence[str]) -> None:
        self._inner.allow(folders)


def with_bundled(source: FileSource, config: ProjectConfig) -> FileSource:
    """The source to load from: with the bundled policies when `policies` names them."""
    if any(entry.strip("/") == BUNDLED for entry in config.policies):
        return BundledSource(source)
    return source
