"""JSON output: the canonical form of the assessment.

One workflow gives exactly ``Assessment.canonical_json()``; several give a canonical object
``{"assessments": [...], "compliant": bool}`` with the assessments ordered by workflow id.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence

from assay.models.assessment import Assessment, Verdict, canonical_json, fleet_verdict

from ._common import ordered_assessments

_NESTED = b"\n    "
"""Where an assessment sits in the fleet document: two levels of two-space indent."""


def format_json(assessments: Sequence[Assessment]) -> str:
    """Canonical JSON (sorted keys, two-space indent, trailing newline)."""
    if len(assessments) == 1:
        return assessments[0].canonical_json().decode()
    if not assessments:
        return canonical_json({"assessments": [], "compliant": True}).decode()
    # The bytes of canonical_json({"assessments": [...], "compliant": ...}), written one
    # assessment at a time: a fleet's report is ~60 MB, and its whole tree of dicts at once
    # was the gate's peak of memory. An assessment's own canonical bytes, indented two
    # levels deeper, are exactly its place in the document ("assessments" sorts before
    # "compliant"; a newline in JSON text is only ever between tokens, never in a string).
    # The cyclic collector is paused meanwhile: the dicts are freed by reference counting,
    # and each collection would rescan every assessment still alive (tested in
    # tests/formats: the same bytes as the document dumped whole).
    enabled = gc.isenabled()
    gc.disable()
    try:
        parts = [b'{\n  "assessments": [\n    ']
        for index, assessment in enumerate(ordered_assessments(assessments)):
            if index:
                parts.append(b",\n    ")
            parts.append(assessment.canonical_json()[:-1].replace(b"\n", _NESTED))
        compliant = fleet_verdict(assessments) is Verdict.COMPLIANT
        parts.append(b'\n  ],\n  "compliant": ' + (b"true" if compliant else b"false") + b"\n}\n")
        data = b"".join(parts)
        del parts
        return data.decode()
    finally:
        if enabled:
            gc.enable()
