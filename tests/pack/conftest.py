"""Fixtures of the pack tests; the helpers themselves live in `pack_support` so that test
modules import them by a unique name (several test folders have a conftest.py)."""

from pack_support import (  # noqa: F401 - fixtures are found by name
    keys,
    lt_pack,
    other_keys,
    pki_server,
    rsa_keys,
    rsa_signed_pdf,
    run_tool,
    sample_assessment,
    sample_project,
    signed_pdf,
    token,
    unsigned_html,
    unsigned_render,
    workdir,
)
