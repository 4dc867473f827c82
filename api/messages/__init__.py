"""The one message catalogue: zh-CN and English texts for every error code, as gettext .po files.

msgids are ``<code>|title`` and ``<code>|detail``; details take ``{param}`` placeholders
filled from the error's parameters."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

HERE = Path(__file__).parent
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"


@lru_cache(maxsize=None)
def catalogue(locale: str) -> dict[str, str]:
    """All ``<locale>/*.po`` files merged: one catalogue, one file per feature so features do not collide."""
    merged: dict[str, str] = {}
    for path in sorted((HERE / locale).glob("*.po")):
        with open(path, "rb") as fh:
            cat = read_po(fh, locale=locale)
        for m in cat:
            if m.id and m.string:
                if m.id in merged:
                    raise ValueError(f"message {m.id!r} defined twice ({path.name})")
                merged[m.id] = m.string
    return merged


def text(locale: str, msgid: str, params: dict | None = None) -> str | None:
    template = catalogue(locale).get(msgid)
    if template is None:
        return None
    try:
        return template.format_map(_Safe(params or {}))
    except (ValueError, IndexError):
        return template


class _Safe(dict):
    def __missing__(self, key):
        return "{" + key + "}"
