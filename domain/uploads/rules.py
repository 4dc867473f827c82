"""Pure checks on what a client declares about an upload: its label, hash and metadata."""
from __future__ import annotations

import re
import unicodedata

from ..errors import UploadMetadataInvalidError
from ..evidence import valid_sha256

LABEL_MAX = 200
_SPACES = re.compile(r"\s+")


def display_label(name: str | None) -> str | None:
    """A file name fit to show, and nothing more: the last path component, without control
    characters or leading dots. It never takes part in a filesystem path."""
    if not name:
        return None
    name = unicodedata.normalize("NFC", str(name))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _SPACES.sub(" ", name).strip().lstrip(".").strip()
    return name[:LABEL_MAX] or None


def declared_sha256(value) -> str:
    """The declared SHA-256 in lowercase hex, or ``UploadMetadataInvalidError``."""
    if not isinstance(value, str) or not valid_sha256(value.strip().lower()):
        raise UploadMetadataInvalidError(field="sha256", reason="hex-sha256")
    return value.strip().lower()


def target_id(value) -> str | None:
    if value in (None, ""):
        return None
    value = str(value)
    if len(value) > 64 or not re.fullmatch(r"[A-Za-z0-9_.:-]+", value):
        raise UploadMetadataInvalidError(field="target_id", reason="token")
    return value
