"""What `assay policy lint` finds: one located finding per problem."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import Location


@dataclass(frozen=True, order=True)
class LintFinding:
    location: Location
    level: Literal["error", "warning"]
    code: str
    message: str

    def line(self) -> str:
        return f"{self.location}: {self.level}[{self.code}]: {self.message}"
