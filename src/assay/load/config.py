"""The project configuration: `assay.yaml`, else `[tool.assay]` in pyproject.toml, else
the defaults (a bare folder layout needs no configuration)."""

from __future__ import annotations

import hashlib
import tomllib

from ..errors import ErrorCode, InputError, Location
from ..models.config import ProjectConfig
from ..parsing.validate import validate_model
from ..parsing.yamlsafe import load_yaml
from .discover import FileSource, ProjectFile

CONFIG_NAME = "assay.yaml"
PYPROJECT = "pyproject.toml"
MAX_CONFIG_BYTES = 1_000_000


def load_config(source: FileSource) -> tuple[ProjectConfig, ProjectFile | None]:
    """The project's configuration and the file it came from (None for the defaults)."""
    if source.kind(CONFIG_NAME) == "file":
        data = source.read(CONFIG_NAME)
        value, positions = load_yaml(data, CONFIG_NAME, max_bytes=MAX_CONFIG_BYTES)
        config = validate_model(ProjectConfig, value or {}, positions, file=CONFIG_NAME)
        digest = hashlib.sha256(data).hexdigest()
        return config, ProjectFile(CONFIG_NAME, "config", digest, source)
    if source.kind(PYPROJECT) == "file":
        data = source.read(PYPROJECT)
        try:
            table = tomllib.loads(data.decode("utf-8")).get("tool", {}).get("assay")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise InputError(
                f"invalid TOML: {err}", location=Location(PYPROJECT), code=ErrorCode.TOML
            ) from None
        if table is not None:
            config = validate_model(ProjectConfig, table, None, file=f"{PYPROJECT} [tool.assay]")
            digest = hashlib.sha256(data).hexdigest()
            return config, ProjectFile(PYPROJECT, "config", digest, source)
    return ProjectConfig(), None
