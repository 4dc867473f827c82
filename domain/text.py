"""What characters people's text may hold: one rule for the API, CSV import and log-in (docs/text.md).

Names, titles and remarks are shown back to liaisons and printed in documents, so characters that
hide or reorder what a reader sees are refused rather than stored: C0 controls (NUL, ESC…), DEL
and C1 controls, the bidi embeddings/overrides U+202A-202E and isolates U+2066-2069 (the
"Trojan Source" characters), and lone surrogates (not text at all). LRM/RLM (U+200E/U+200F)
stay: Uyghur names written beside Chinese need them. Multi-line text keeps ``\\n`` and ``\\t``;
a Windows ``\\r\\n`` becomes ``\\n``. What is kept is normalised to NFC, so one name has one form.
"""
from __future__ import annotations

import re
import unicodedata

from .errors import TextForbiddenCharacterError

# Refused everywhere but the two a multi-line field keeps (\t U+0009, \n U+000A).
_OTHERS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_MULTILINE = re.compile(f"[{_OTHERS}]")
_LINE = re.compile(f"[\t\n{_OTHERS}]")


def forbidden_character(value: str, *, multiline: bool = False) -> tuple[int, str] | None:
    """The first refused character as (position, ``U+XXXX``), or None when the text is clean."""
    found = (_MULTILINE if multiline else _LINE).search(value)
    return None if found is None else (found.start(), f"U+{ord(found.group()):04X}")


def clean(value: str, *, multiline: bool = False, field: str = "text") -> str:
    """The text in NFC; raises TextForbiddenCharacterError(field, char, position) for a refused character."""
    if multiline:
        value = value.replace("\r\n", "\n")
    bad = forbidden_character(value, multiline=multiline)
    if bad is not None:
        raise TextForbiddenCharacterError(field=field, char=bad[1], position=bad[0])
    return unicodedata.normalize("NFC", value)
