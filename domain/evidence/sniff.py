"""What a file is, decided from its first bytes, never from a header or a file name.

The formats we accept are checked by an explicit table (JPEG, PNG, PDF, and the HEIF
family by its ISO-BMFF ``ftyp`` brands), because acceptance must be exact: the
``filetype`` package recognises the whole corpus, but misses the ``heix``/``hevc``/``msf1``
HEIF brands, and ``puremagic`` calls a 2-byte ``FF D8`` a JPEG. ``filetype`` only *names*
what we refuse (TIFF, GIF, WebP, AVIF, ZIP...) so the 415 says what the file was.
"""
from __future__ import annotations

from enum import StrEnum

import filetype

from ..errors import UnsupportedMediaError

HEAD_BYTES = 8192  # enough for every signature below and for filetype's own table
UNKNOWN = "application/octet-stream"
EMPTY = "empty"


class Purpose(StrEnum):
    INSPECTION_EVIDENCE = "inspection-evidence"  # 照片佐证: photos only
    DEPARTMENT_PROOF = "department-proof"  # 整改证明: photos, or a scanned document as PDF


PHOTO_TYPES = frozenset({"image/jpeg", "image/heic", "image/heif", "image/png"})
ALLOWED: dict[Purpose, frozenset[str]] = {
    Purpose.INSPECTION_EVIDENCE: PHOTO_TYPES,
    Purpose.DEPARTMENT_PROOF: PHOTO_TYPES | {"application/pdf"},
}

# ISO/IEC 23008-12 (HEIF) brands: still images and image sequences coded in HEVC, and the
# generic HEIF structural brands (which need a compatible brand to say the codec).
HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
HEIF_STRUCTURAL = frozenset({b"mif1", b"msf1", b"mif2"})
OTHER_CODEC_BRANDS = {b"avif": "image/avif", b"avis": "image/avif", b"jpeg": "image/jpeg"}


def _jpeg(head: bytes) -> bool:
    # SOI, then the first marker segment (APPn, DQT, SOF, DHT, COM): a bare FF D8 is not a photo.
    return len(head) >= 4 and head[:3] == b"\xff\xd8\xff" and head[3] in (
        *range(0xE0, 0xF0), 0xDB, 0xC0, 0xC2, 0xC4, 0xFE)


def _png(head: bytes) -> bool:
    return len(head) >= 33 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"


def _pdf(head: bytes) -> bool:
    # PDF readers accept the header within the first 1024 bytes; we insist on the start.
    return len(head) >= 8 and head[:5] == b"%PDF-" and head[5:6].isdigit()


def _heif(head: bytes) -> str | None:
    """``image/heic``, ``image/heif``, another ISO-BMFF type, or None when there is no whole ftyp box."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[:4], "big")
    if size < 16 or size > len(head) or size % 4:
        return None
    major = head[8:12]
    compatible = {head[i:i + 4] for i in range(16, size, 4)}
    if major in HEIC_BRANDS:
        return "image/heic"
    if major in HEIF_STRUCTURAL:
        if compatible & HEIC_BRANDS:
            return "image/heic"
        for brand, mime in OTHER_CODEC_BRANDS.items():
            if brand in compatible:
                return mime  # AVIF shares the mif1 structure but is not a format we take
        return "image/heif"
    if major in OTHER_CODEC_BRANDS:
        return OTHER_CODEC_BRANDS[major]
    return None


def detect(head: bytes) -> str:
    """The media type of a file from its first bytes (at least ``HEAD_BYTES`` when the file has them)."""
    if not head:
        return EMPTY
    if _jpeg(head):
        return "image/jpeg"
    if _png(head):
        return "image/png"
    if _pdf(head):
        return "application/pdf"
    heif = _heif(head)
    if heif:
        return heif
    named = filetype.guess_mime(head)
    if named in PHOTO_TYPES or named == "application/pdf" or named is None:
        return UNKNOWN  # it looked like one of ours to filetype, but failed our stricter check: truncated
    return named


def check(head: bytes, purpose: Purpose | str = Purpose.INSPECTION_EVIDENCE) -> str:
    """The media type, if ``purpose`` takes it; else ``UnsupportedMediaError`` naming what was found."""
    allowed = ALLOWED[Purpose(purpose)]
    media_type = detect(head)
    if media_type not in allowed:
        raise UnsupportedMediaError(detected=media_type, allowed=", ".join(sorted(allowed)))
    return media_type


def check_file(path, purpose: Purpose | str = Purpose.INSPECTION_EVIDENCE) -> str:
    with open(path, "rb") as fh:
        return check(fh.read(HEAD_BYTES), purpose)
