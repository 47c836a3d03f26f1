"""Identities of people (who requested a waiver, who approved it), compared as people read
them, not as strings.

Four-eyes means two *people*: ``Ahmed.Khan``, ``ahmed.khan`` and ``ａｈｍｅｄ.ｋｈａｎ`` (full-width)
are one person, and ``аhmed.khan`` with a Cyrillic ``а`` must not pass for someone else. So:

* identities are compared by :func:`identity_key`: NFKC, case-folded, NFKC again (the
  Unicode "NFKC_Casefold" idea), surrounding whitespace dropped;
* :func:`identity_problem` refuses what a reviewer cannot tell apart by looking
  (Unicode TR39, "Unicode Security Mechanisms"): invisible, control and bidirectional
  formatting characters (U+202E and friends), identities that mix scripts (Latin with
  Cyrillic, ...), and identities written entirely in another script's letters that look
  like Latin ones (whole-script confusables such as Cyrillic ``аеорсх``).

Script and confusable data come from Unicode's Scripts.txt and confusables.txt as shipped
by the ``confusable-homoglyphs`` package; it is imported only for identities that are not
plain ASCII, so the common case costs nothing at start-up.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_NEUTRAL_SCRIPTS = frozenset({"COMMON", "INHERITED"})


def identity_key(text: str) -> str:
    """The form two identities are compared in: NFKC, case-folded, NFKC again, stripped."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return folded.strip()


def identity_problem(text: str) -> str | None:
    """Why ``text`` cannot be trusted as an identity, or None. Never quotes the identity
    itself (it may hold invisible characters): names the offending code point instead."""
    if not text.strip():
        return "an identity cannot be blank"
    for char in text:
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            return (
                f"contains the invisible or control character U+{ord(char):04X} "
                f"({unicodedata.name(char, 'unnamed')})"
            )
    if text.isascii():
        return None
    return _script_problem(identity_key(text))


@lru_cache(maxsize=1024)
def _script_problem(key: str) -> str | None:
    from confusable_homoglyphs import categories
    from confusable_homoglyphs.confusables import confusables_data

    scripts = {categories.alias(char) for char in key} - _NEUTRAL_SCRIPTS
    if len(scripts) > 1:
        return (
            f"mixes scripts ({', '.join(sorted(s.title() for s in scripts))}): a letter of one "
            "script can pass for a letter of another (Unicode TR39); write it in one script"
        )
    if scripts and scripts != {"LATIN"}:
        letters = {char for char in key if char.isalpha()}
        if letters and all(_looks_ascii(char, confusables_data) for char in letters):
            (script,) = scripts
            return (
                f"is written in {script.title()} letters that all look like Latin ones "
                "(a whole-script confusable, Unicode TR39)"
            )
    return None


def _looks_ascii(char: str, data: dict[str, list[dict[str, str]]]) -> bool:
    """Whether ``char`` has an ASCII letter or digit among its homoglyphs (Cyrillic ``а``
    looks like ``a``; Greek ``λ`` looks like nothing in ASCII)."""
    return any(
        len(glyph["c"]) == 1 and glyph["c"].isascii() and glyph["c"].isalnum()
        for glyph in data.get(char, ())
    )
