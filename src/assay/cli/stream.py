"""A JSON gate report written as the workflows are assessed.

The gate's assessments come lazily (:func:`assay.evaluate.iter_fleet`: a batch of
workflows queried at a time, each workflow worded when asked for); each is written and
dropped before the next is made, so the gate's memory is bounded by a batch's query
results and one Assessment, not by the fleet. The bytes are those of
:func:`assay.formats.json.format_json` over the whole fleet.
"""

from __future__ import annotations

import contextlib
import gc
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click

from ..fileio import write_atomic
from ..formats.json import json_chunks
from ..models.assessment import Assessment, Verdict
from .replay import MAX_ENTRY_BYTES, Output, Spool


@contextmanager
def stream_json(
    ordered: Iterable[Assessment], path: Path | None, *, keep: bool
) -> Iterator[tuple[int, Output | None]]:
    """Write the JSON report of ``ordered`` (in report order) to ``path`` (standard output
    when None); gives the fleet's exit code, and with ``keep`` the output as the gate's
    replay records it (None when it is too large to record), readable until the context
    ends."""
    verdicts: list[Verdict] = []

    def noted(items: Iterable[Assessment]) -> Iterator[Assessment]:
        for item in items:
            verdicts.append(item.verdict)
            yield item

    # A copy for the replay record goes to a temporary file, not to memory, and is recorded
    # from there a chunk at a time: a thousand workflows make a report of hundreds of
    # megabytes.
    with tempfile.TemporaryFile() if keep else contextlib.nullcontext() as copy:
        # The cyclic collector is paused for the whole report, as for a fleet assessed at
        # once: the assessments and their dicts are freed by reference counting, and each
        # collection would rescan the batch still alive.
        enabled = gc.isenabled()
        gc.disable()
        try:
            chunks = _copied(json_chunks(noted(ordered)), copy)
            if path is None:
                for chunk in chunks:
                    # As bytes, written as they are: no decoding, and no scan for colour
                    # codes to strip (JSON escapes every control character; a fleet's
                    # report is tens of megabytes).
                    click.echo(chunk, nl=False)
            else:
                write_atomic(path, chunks)
        finally:
            if enabled:
                gc.enable()
        exit_code = Verdict.worst(verdicts).exit_code
        output = None
        if copy is not None and copy.tell() < MAX_ENTRY_BYTES:  # else too large to record
            target = None if path is None else str(path)
            output = Output(target, Spool(copy, 0, copy.tell()), False)
        yield exit_code, output


def _copied(chunks: Iterable[bytes], copy: IO[bytes] | None) -> Iterator[bytes]:
    for chunk in chunks:
        # Past the bound of a record the copy is of no use: it stops growing.
        if copy is not None and copy.tell() < MAX_ENTRY_BYTES:
            copy.write(chunk)
        yield chunk
