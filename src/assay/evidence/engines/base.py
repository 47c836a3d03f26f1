"""The engine Protocol: where validated evidence rows live and how queries run over them.

An engine holds one table per evidence kind (columns from :mod:`.columns`, plus where each
row came from: its file's blob, its order, line and JSON pointer) and answers SQL in its
own dialect. Findings rebuild the exact records from the store's object files. DuckDB is the
default, embedded engine and also persists the project's cache; a distributed engine
only has to answer the same queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol


class EngineName(StrEnum):
    """The engines Assay can run checks on (feeds ``--engine``)."""

    ROWS = "rows"
    """Every record in memory, each check a loop in Python: the reference semantics, and
    the fastest for small projects (no database to open or fill)."""
    DUCKDB = "duckdb"
    """The evidence store (``.assay/``), checks as queries: the default for large projects."""
    SPARK = "spark"
    """The evidence store's tables handed to Apache Spark, the same queries run there
    (transpiled to Spark SQL): needs the ``spark`` extra and Java 17."""


class StoreCorrupt(Exception):
    """The cache cannot be trusted (unreadable, truncated, another layout or version):
    it is rebuilt from the evidence files, never read."""


class EngineBusy(Exception):
    """Another program holds the engine's database (not through Assay's lock)."""


class EvidenceEngine(Protocol):
    """What evaluation needs from an engine: SQL over the evidence tables."""

    name: EngineName
    dialect: str
    """The SQL dialect the engine's queries are written in (for sqlglot and the CEL
    compiler): ``duckdb``, ``spark``."""

    bound_parameters: bool
    """Whether a check's per-workflow parameters are bound into a temporary table
    (:meth:`temp_table`) rather than written into its query: cheaper in DuckDB, where
    planning a VALUES row per workflow costs more than running the query; dearer on
    Spark, where each temporary table is a DataFrame sent to the JVM (measured on the
    small test fleet: 131 s with literals, 170 s bound)."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one query; raise StoreCorrupt when the engine's data cannot be read."""
        ...

    def temp_table(
        self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """(Re)create the temporary table ``name`` of ``columns`` (name, DuckDB type)
        holding ``rows``, for the queries that follow."""
        ...

    def close(self) -> None: ...


def table_name(kind: str) -> str:
    """The table of an evidence kind (kinds are lower-case identifiers)."""
    if not kind.replace("_", "").isalnum() or not kind.islower():
        raise ValueError(f"not a table-safe kind name: {kind!r}")
    return f"ev_{kind}"
