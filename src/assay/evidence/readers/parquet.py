"""Parquet evidence: the tables `assay evidence export --format parquet` writes.

Each row's ``record`` column holds the record's canonical JSON, which is validated exactly
as a JSON Lines record is (the typed columns beside it are for the lake's own readers and
are not trusted here). A row is located by its position in the file (``/<row>``, from 0):
a Parquet file has no lines.

DuckDB (a dependency of the evidence store) reads the file; the bytes the loader read are
what is parsed, through a private temporary copy, so the SHA-256 the Assessment records is
the SHA-256 of the content validated.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

from ...errors import ErrorCode, InputError, Location
from .base import RawRecord, ReaderLimits


def read(data: bytes, file: str, limits: ReaderLimits) -> Iterator[RawRecord]:
    import duckdb

    fd, name = tempfile.mkstemp(prefix="assay-evidence-", suffix=".parquet")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        con = duckdb.connect(":memory:")
        try:
            con.execute("SET enable_progress_bar = false")
            columns = {
                row[0]
                for row in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [name]).fetchall()
            }
            if "record" not in columns:
                raise InputError(
                    "a Parquet evidence file needs a `record` column holding each record's "
                    "JSON (the tables `assay evidence export --format parquet` writes)",
                    location=Location(file),
                    code=ErrorCode.FORMAT,
                )
            rows = con.execute(
                "SELECT CAST(record AS VARCHAR) FROM read_parquet(?)", [name]
            ).fetchall()
        except duckdb.Error as err:
            raise InputError(
                f"not a readable Parquet file: {str(err).splitlines()[0]}",
                location=Location(file),
                code=ErrorCode.FORMAT,
            ) from None
        finally:
            con.close()
    finally:
        os.unlink(name)
    for index, (text,) in enumerate(rows):
        if text is None:
            raise InputError(
                "a row without a record (`record` is null)",
                location=Location(file, None, None, f"/{index}"),
                code=ErrorCode.FORMAT,
            )
        yield RawRecord(text.encode(), None, f"/{index}", None)
