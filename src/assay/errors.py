"""Assay's error hierarchy.

Every error a user can see is an :class:`AssayError`: a stable ``code``, an optional
:class:`Location` and a one-line message that says what was expected. Third-party
errors (yaml, pydantic, jsonschema, CEL, weasyprint, cryptography) are translated
at the boundary where they occur; nothing else escapes the library.

    AssayError                 exit 2 unless stated
    ├── InputError             a file the user wrote is wrong (policy, workflow, evidence, waiver)
    │   └── InputErrors        several InputErrors, collected and sorted by location
    ├── UsageError             bad arguments or options
    ├── SigningError           key, certificate or passphrase problems
    └── VerificationError      exit 3: a pack failed verification
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    """Every error code Assay reports, in one registry: stable, shown as ``error[CODE]``."""

    ASSAY = "ASSAY"
    CEL = "CEL"
    CLASS = "CLASS"
    CYCLE = "CYCLE"
    DIGEST = "DIGEST"
    DUPLICATE = "DUPLICATE"
    EMPTY = "EMPTY"
    ENCODING = "ENCODING"
    FIELD = "FIELD"
    FORMAT = "FORMAT"
    FRONTMATTER = "FRONTMATTER"
    FUTURE = "FUTURE"
    IMPORT = "IMPORT"
    INPUT = "INPUT"
    IO = "IO"
    JSON = "JSON"
    LEDGER = "LEDGER"
    LOOSENS = "LOOSENS"
    MISSING_EXTRA = "MISSING-EXTRA"
    OUTSIDE = "OUTSIDE"
    PACK_INPUT = "PACK-INPUT"
    PACK_MANIFEST = "PACK-MANIFEST"
    PACK_RENDER = "PACK-RENDER"
    PARAM = "PARAM"
    SCHEMA = "SCHEMA"
    SIGNING = "SIGNING"
    SIZE = "SIZE"
    TOML = "TOML"
    UNKNOWN_CLASS = "UNKNOWN-CLASS"
    UNKNOWN_CONTROL = "UNKNOWN-CONTROL"
    UNKNOWN_KIND = "UNKNOWN-KIND"
    UNKNOWN_RECORD = "UNKNOWN-RECORD"
    USAGE = "USAGE"
    VERIFY = "VERIFY"
    VERIFY_INPUT = "VERIFY-INPUT"
    VERIFY_TRUST = "VERIFY-TRUST"
    WORKFLOW = "WORKFLOW"
    YAML = "YAML"


@dataclass(frozen=True, order=True)
class Location:
    """Where in which file a problem is: 1-based line and column, and/or a JSON pointer."""

    file: str
    line: int | None = None
    column: int | None = None
    pointer: str | None = None

    def __str__(self) -> str:
        text = self.file
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        if self.pointer:
            text += f" (at {self.pointer})"
        return text

    def _sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line or 0, self.column or 0, self.pointer or "")


class AssayError(Exception):
    """Root of every error Assay reports to a user."""

    code: ErrorCode = ErrorCode.ASSAY
    exit_code: int = 2

    def __init__(
        self, message: str, *, location: Location | None = None, code: ErrorCode | None = None
    ):
        super().__init__(message)
        self.message = message
        self.location = location
        if code is not None:
            self.code = code

    def lines(self) -> list[str]:
        """One line per problem: ``file:line:col: error[CODE]: message``."""
        prefix = f"{self.location}: " if self.location else ""
        return [f"{prefix}error[{self.code}]: {self.message}"]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location._sort_key() if self.location else ("", 0, 0, "")
        return (*loc, self.message)


class InputError(AssayError):
    """A file the user wrote cannot be used as it is."""

    code = ErrorCode.INPUT


class InputErrors(InputError):
    """All the input errors of a run, sorted by location, reported together."""

    errors: list[AssayError]

    def __init__(self, errors: Iterable[AssayError]):
        flat: list[AssayError] = []
        for err in errors:
            flat.extend(err.errors if isinstance(err, InputErrors) else [err])
        self.errors = sorted(flat, key=lambda e: e.sort_key())
        first = self.errors[0] if self.errors else None
        super().__init__(
            first.message if first else "no errors",
            location=first.location if first else None,
        )

    def lines(self) -> list[str]:
        return [line for err in self.errors for line in err.lines()]


class UsageError(AssayError):
    """Bad command-line arguments or library call parameters."""

    code = ErrorCode.USAGE


class SigningError(AssayError):
    """A signing key, certificate or passphrase cannot be used."""

    code = ErrorCode.SIGNING


class VerificationError(AssayError):
    """A pack failed verification."""

    code = ErrorCode.VERIFY
    exit_code = 3


class ErrorCollector:
    """Collects input errors so a loader can report every problem of a file at once."""

    def __init__(self) -> None:
        self.errors: list[AssayError] = []

    def add(self, error: AssayError) -> None:
        self.errors.append(error)

    def extend(self, errors: Iterable[AssayError]) -> None:
        for err in errors:
            self.add(err)

    def raise_if_any(self) -> None:
        if self.errors:
            raise InputErrors(self.errors)
