"""Shared helpers of the authoring tests: small projects on disk and the OSCAL validator.

Imported by module name: pytest puts this folder on ``sys.path`` (tests have no packages).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from standards import load_schema, oscal_validator

from assay.models.config import bundled_path

ROOT = Path(__file__).resolve().parents[2]
POLICIES = bundled_path("policies")
BASIC = ROOT / "tests" / "scenarios" / "basic"
SHA = "0" * 64


def oscal_errors(schema_file: str, doc: Any) -> list[str]:
    validator = oscal_validator(load_schema(schema_file))
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.path)))
    ]


def bundled_project(dest: Path) -> Path:
    """The bundled policies with one workflow and one evidence file (the loader needs both)."""
    shutil.copytree(POLICIES, dest / "policies")
    (dest / "workflows").mkdir(parents=True)
    (dest / "workflows" / "demo.yaml").write_text(
        "id: demo\nname: Demo\nowner: alice\nrisk_class: high\nlaunched: 2026-01-05\n",
        encoding="utf-8",
    )
    (dest / "evidence").mkdir()
    (dest / "evidence" / "card.yaml").write_text(
        "id: mc-1\nkind: model_card\nworkflow: demo\ncreated_at: 2026-01-01T00:00:00Z\n"
        "recorded_by: alice\nsource_uri: https://example.com/mc-1\nsha256: '" + SHA + "'\n"
        "model_version: '1.0'\nrisk_class: C3\neu_class: high\neu_scope: false\n"
        "role: provider\nintended_purpose: demo\nart5_screen: clear\n"
        "reviewed_at: 2026-01-01T00:00:00Z\nlimitations: none\nprevious_good_version: '0.9'\n"
        "approved_at: 2026-01-01T00:00:00Z\n",
        encoding="utf-8",
    )
    return dest


WAIVER_RULES = "waivers:\n  max_days: 60\n  require_ticket: true\n"

WAIVERS = """\
- id: W-ACTIVE
  workflow: fraud
  control: TEST-INC-01
  reason: Paging migrates to the new on-call tool.
  requested_by: alice
  approved_by: carol
  approved_at: 2026-05-01T00:00:00Z
  expires_at: 2026-06-25T00:00:00Z
  ticket: RISK-1
- id: W-SOON
  workflow: fraud
  control: TEST-PM-01
  reason: Postmortem template is being rewritten.
  requested_by: alice
  approved_by: carol
  approved_at: 2026-04-20T00:00:00Z
  expires_at: 2026-05-25T00:00:00Z
  ticket: RISK-2
- id: W-EXPIRED
  workflow: fraud
  control: TEST-REVIEW-01
  reason: Review board did not meet in March.
  requested_by: bob
  approved_by: carol
  approved_at: 2026-03-01T00:00:00Z
  expires_at: 2026-04-01T00:00:00Z
  ticket: RISK-3
- id: W-FUTURE
  workflow: fraud
  control: TEST-REVIEW-01
  reason: Review board moves to a new calendar.
  requested_by: bob
  approved_by: carol
  approved_at: 2026-06-01T00:00:00Z
  expires_at: 2026-07-01T00:00:00Z
  ticket: RISK-4
- id: W-LONG
  workflow: fraud
  control: TEST-INC-01
  reason: Requested for the whole year, longer than allowed.
  requested_by: alice
  approved_by: carol
  approved_at: 2026-05-01T00:00:00Z
  expires_at: 2026-12-31T00:00:00Z
  ticket: RISK-5
- id: W-NOTICKET
  workflow: fraud
  control: TEST-PM-01
  reason: No ticket was raised for this exception.
  requested_by: alice
  approved_by: carol
  approved_at: 2026-05-01T00:00:00Z
  expires_at: 2026-06-01T00:00:00Z
"""


def waiver_project(dest: Path) -> Path:
    """tests/scenarios/basic with waiver rules on its class and one waiver of every state
    as of 2026-05-10: active, expiring soon, expired, not yet valid, invalid (x2)."""
    shutil.copytree(BASIC, dest)
    classes = dest / "policies" / "classes.yaml"
    classes.write_text(classes.read_text(encoding="utf-8") + WAIVER_RULES, encoding="utf-8")
    (dest / "waivers").mkdir(exist_ok=True)
    (dest / "waivers" / "waivers.yaml").write_text(WAIVERS, encoding="utf-8")
    return dest
