"""JSON output: the canonical form of the assessment.

One workflow gives exactly ``Assessment.canonical_json()``; several give a canonical object
``{"assessments": [...], "compliant": bool}`` with the assessments ordered by workflow id.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence

from assay.models.assessment import Assessment, Verdict, canonical_json

from ._common import ordered_assessments

_NESTED = b"\n    "
"""Where an assessment sits in the fleet document: two levels of two-space indent."""


def format_json(assessments: Sequence[Assessment]) -> str:
    """Canonical JSON (sorted keys, two-space indent, trailing newline)."""
    if len(assessments) == 1:
        return assessments[0].canonical_json().decode()
    # The cyclic collector is paused meanwhile: the dicts are freed by reference counting,
    # and each collection would rescan every assessment still alive.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return b"".join(json_chunks(ordered_assessments(assessments))).decode()
    finally:
        if enabled:
            gc.enable()


def json_chunks(ordered: Iterable[Assessment]) -> Iterator[bytes]:
    """The bytes of :func:`format_json`, one assessment at a time, for assessments already
    in report order (:func:`~assay.formats._common.ordered_assessments`): each is asked for
    only once the one before it is written, so a fleet's report (~60 MB for 200 workflows)
    never needs every assessment, nor the whole text, at once.

    The fleet document is ``canonical_json({"assessments": [...], "compliant": ...})``: an
    assessment's own canonical bytes, indented two levels deeper, are exactly its place in
    it ("assessments" sorts before "compliant"; a newline in JSON text is only ever between
    tokens, never in a string). Tested against the document dumped whole (tests/formats).
    """
    items = iter(ordered)
    first = next(items, None)
    if first is None:
        yield canonical_json({"assessments": [], "compliant": True})
        return
    second = next(items, None)
    if second is None:
        yield first.canonical_json()  # one workflow: its Assessment, as is
        return
    compliant = True
    chained = _chain(first, second, items)
    del first, second  # each assessment is freed once written
    yield b'{\n  "assessments": [\n    '
    for index, assessment in enumerate(chained):
        compliant = compliant and assessment.verdict is Verdict.COMPLIANT
        body = assessment.canonical_json()[:-1].replace(b"\n", _NESTED)
        del assessment
        yield (b",\n    " + body) if index else body
    yield b'\n  ],\n  "compliant": ' + (b"true" if compliant else b"false") + b"\n}\n"


def _chain(
    first: Assessment, second: Assessment, rest: Iterator[Assessment]
) -> Iterator[Assessment]:
    # Handed over without a reference kept here, so each is freed once written.
    items: list[Assessment] = [second, first]
    del first, second
    while items:
        yield items.pop()
    yield from rest
