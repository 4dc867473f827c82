"""What one photo file says about itself, read in one pass: the Facts the verdict is built on.

One pass over the bytes: SHA-256, EXIF (metadata.py), a draft decode at 1/8 (JPEG) or a full
decode (HEIC, PNG), the perceptual hashes of the EXIF-rotated draft, the 320 px thumbnail from
the same draft, the embedded thumbnail compared with the image, and the C2PA manifest. Nothing
here knows the task, the site or the database: judge() does the judging, and Facts can be
stored and judged again when the rules change.
"""
from __future__ import annotations

import hashlib
import io
import json
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from PIL import Image, ImageFile

from . import hashes
from .c2pa_check import C2paResult, check_c2pa
from .guard import GuardFailure, run_guarded
from .metadata import read_metadata
from .thresholds import DEFAULT_THRESHOLDS
from .working_copies import THUMBNAIL_LONG_SIDE, draft_size, thumbnail_from_upright, upright

FACTS_VERSION = 2  # 2: file_time_local (EXIF DateTime)
DECODABLE = frozenset({"JPEG", "PNG", "HEIF"})  # formats we decode; anything else is judged unseen
HASH_LONG_SIDE = 640  # full decodes (HEIC, PNG) are shrunk to about a JPEG draft's size to hash
_SNIFFED = {"image/jpeg": "JPEG", "image/png": "PNG", "image/heic": "HEIF", "image/heif": "HEIF",
            "image/tiff": "TIFF", "image/gif": "GIF", "image/webp": "WEBP", "image/avif": "AVIF"}

OK, UNREADABLE, TRUNCATED, TOO_MANY_PIXELS, NOT_ATTEMPTED = (
    "ok", "unreadable", "truncated", "too-many-pixels", "not-attempted")


@dataclass
class Facts:
    sha256: str
    size_bytes: int
    format: str | None = None  # JPEG, PNG, HEIF, or what the file is instead (TIFF...)
    width: int | None = None  # as stored, before the EXIF Orientation is applied
    height: int | None = None
    decode: str = NOT_ATTEMPTED  # ok | unreadable | truncated | too-many-pixels | not-attempted
    decode_detail: str | None = None
    exif_present: bool = False
    orientation: int | None = None
    capture_local: str | None = None
    capture_offset: str | None = None
    file_time_local: str | None = None  # EXIF DateTime: the file's own last write, camera wall clock
    gps_time_utc: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_alt: float | None = None
    gps_hpe: float | None = None
    make: str | None = None
    model: str | None = None
    software: str | None = None
    thumbnail_distance: int | None = None  # embedded EXIF thumbnail vs image (min of pHash, dHash)
    phash: str | None = None  # 16 hex digits, of the EXIF-rotated image
    dhash: str | None = None
    c2pa: dict = field(default_factory=lambda: C2paResult().to_dict())
    readers: list[str] = field(default_factory=list)
    doubts: list[str] = field(default_factory=list)
    guard: dict | None = None  # set when the guarded read failed: {"kind", "detail"}
    facts_version: int = FACTS_VERSION
    # Not part of the facts (left out of to_dict and the digest):
    thumbnail: bytes | None = field(default=None, repr=False, metadata={"wire": False})
    timings: dict = field(default_factory=dict, repr=False, metadata={"wire": False})

    def to_dict(self) -> dict:
        data = asdict(self)
        for f in fields(self):
            if f.metadata.get("wire") is False:
                data.pop(f.name)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Facts":
        known = {f.name for f in fields(cls) if f.metadata.get("wire") is not False}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON of the facts: equal facts, equal digest."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def pixels(self) -> int | None:
        return self.width * self.height if self.width and self.height else None


_configured = False


def configure_pillow(max_pixels: int | None) -> None:
    """HEIF support and the bomb limit; a declared size over the cap raises instead of decoding."""
    global _configured
    if not _configured:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _configured = True
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file must fail, never decode grey
    Image.MAX_IMAGE_PIXELS = max_pixels or DEFAULT_THRESHOLDS.max_pixels


def _sniffed_format(head: bytes) -> str | None:
    from ..evidence.sniff import detect

    return _SNIFFED.get(detect(head))


@dataclass(frozen=True)
class EarlyHashes:
    """What the reuse lookups need, sent by the reader as soon as it knows it (before the thumbnail,
    the embedded thumbnail and C2PA), so the caller's lookups run while the reader finishes."""

    sha256: str
    phash: str
    dhash: str


def extract_facts(path, *, max_pixels: int | None = None, trust_anchors_pem: str | None = None) -> Facts:
    """Read the photo at ``path`` (unguarded: call it through ``extract_facts_guarded``)."""
    reading = read_facts(path, max_pixels=max_pixels, trust_anchors_pem=trust_anchors_pem)
    while True:
        try:
            next(reading)
        except StopIteration as done:
            return done.value


def read_facts(path, *, max_pixels: int | None = None, trust_anchors_pem: str | None = None):
    """``extract_facts`` as a generator: yields one EarlyHashes once the hashes are known (not for a
    photo that does not decode), returns the Facts. The guard streams the yield to the caller, who
    looks up reuse while the rest (thumbnail, metadata, embedded thumbnail, C2PA) is read here.

    The SHA-256 is computed on a thread beside the decode: hashlib and Pillow's decoder both release
    the GIL, so it costs the hashes nothing. Nothing that runs Python for long goes on that thread:
    the decode needs the GIL back between its steps, and a waiting thread can wait 5 ms for it."""
    max_pixels = max_pixels or DEFAULT_THRESHOLDS.max_pixels
    clock = _Stopwatch()
    data = Path(path).read_bytes()
    sha256 = _Sha256(data)
    configure_pillow(max_pixels)
    facts = Facts(sha256="", size_bytes=len(data))
    clock.lap("read")
    try:
        with warnings.catch_warnings():
            # Pillow warns between 1x and 2x its pixel limit and raises beyond: make both a refusal.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                image = Image.open(io.BytesIO(data))
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                facts.format, facts.decode, facts.decode_detail = _sniffed_format(data[:8192]), TOO_MANY_PIXELS, str(exc)[:200]
                facts.width, facts.height = _declared_size(data) or (None, None)
                return facts
            except Exception as exc:
                facts.format, facts.decode, facts.decode_detail = _sniffed_format(data[:8192]), UNREADABLE, str(exc)[:200]
                return facts
            with image:
                facts.format = "JPEG" if image.format == "MPO" else image.format  # MPO: a JPEG with extra frames
                facts.width, facts.height = image.size
                decoded = None
                if facts.width * facts.height > max_pixels:
                    facts.decode, facts.decode_detail = TOO_MANY_PIXELS, f"{facts.width}x{facts.height}"
                elif facts.format in DECODABLE:
                    decoded = _decode(image, facts, clock, len(data))
                if decoded is not None:
                    facts.sha256 = sha256.hexdigest()
                    yield EarlyHashes(facts.sha256, facts.phash, facts.dhash)
                    facts.thumbnail = thumbnail_from_upright(decoded[1])
                    facts.decode = OK
                    clock.lap("thumbnail")
                meta = read_metadata(image, data)
                for name in _METADATA_FIELDS:
                    setattr(facts, name, getattr(meta, name))
                clock.lap("exif")
                if decoded is not None and meta.thumbnail:
                    facts.thumbnail_distance = _thumbnail_distance(meta.thumbnail, facts, *decoded)
                    clock.lap("embedded_thumbnail")
        if facts.format in DECODABLE:
            facts.c2pa = check_c2pa(data, facts.format, trust_anchors_pem=trust_anchors_pem).to_dict()
            clock.lap("c2pa")
    finally:
        facts.sha256 = facts.sha256 or sha256.hexdigest()
        facts.timings = clock.laps
    return facts


_METADATA_FIELDS = ("exif_present", "orientation", "capture_local", "capture_offset", "file_time_local", "gps_time_utc", "gps_lat",
                    "gps_lon", "gps_alt", "gps_hpe", "make", "model", "software", "readers", "doubts")


class _Sha256:
    """SHA-256 of a buffer on its own thread (hashlib releases the GIL for large buffers)."""

    def __init__(self, data: bytes):
        self._digest: str | None = None
        self._thread = threading.Thread(target=self._run, args=(data,), name="sha256", daemon=True)
        self._thread.start()

    def _run(self, data: bytes) -> None:
        self._digest = hashlib.sha256(data).hexdigest()

    def hexdigest(self) -> str:
        self._thread.join()
        if self._digest is None:
            raise MemoryError("SHA-256 of the photo failed")  # the thread could not allocate
        return self._digest


def _declared_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the header alone, for a file Pillow refused to open as a bomb."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                with Image.open(io.BytesIO(data)) as image:  # header only: nothing is decoded
                    return image.size
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except Exception:
        return None


def _decode(image: Image.Image, facts: Facts, clock: "_Stopwatch", size_bytes: int):
    """Decode (a 1/8 draft for JPEG) and hash: (the image as stored, upright, pHash, dHash), or None
    with ``facts.decode`` saying why."""
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB", draft_size(*image.size, THUMBNAIL_LONG_SIDE))
    # The whole file to the decoder in one call (the bytes are in memory anyway) instead of 64 KB blocks
    # with a return to Python between them: the GIL stays free for the SHA-256 thread throughout
    # (measured 0.3-1.5 ms sooner on a 12 MP JPEG in the guarded child).
    image.decodermaxblock = max(image.decodermaxblock, size_bytes)
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        facts.decode, facts.decode_detail = TOO_MANY_PIXELS, str(exc)[:200]
        return None
    except Exception as exc:  # OSError "image file is truncated", broken Huffman tables, libheif errors
        text = str(exc)
        facts.decode = TRUNCATED if "truncated" in text.lower() else UNREADABLE
        facts.decode_detail = text[:200]
        return None
    raw = image
    factor = max(raw.size) // HASH_LONG_SIDE
    if factor >= 2:  # a full decode (HEIC, PNG): a box reduction, ~6 ms for 12 MP against ~30 for a resize
        if raw.mode not in ("RGB", "RGBA", "L", "LA"):  # palette and 16-bit PNGs
            raw = raw.convert("RGBA" if raw.mode in ("P", "PA") else "RGB")
        raw = raw.reduce(factor)
        raw.info = dict(image.info)  # exif_transpose reads the Orientation from the image it is given
    clock.lap("decode")
    up = upright(raw)
    grey = hashes.grey(up)
    phash, dhash = hashes.phash(grey), hashes.dhash(grey)
    facts.phash, facts.dhash = hashes.to_hex(phash), hashes.to_hex(dhash)
    clock.lap("hashes")
    return raw, up, phash, dhash


def _thumbnail_distance(embedded: bytes, facts: Facts, raw: Image.Image, up: Image.Image, phash: int,
                        dhash: int) -> int | None:
    """How far the embedded thumbnail is from the image, both as stored (thumbnails are not rotated):
    the smaller of the pHash and dHash distances. Letterboxed thumbnails (Canon pads 16:9 to 160x120)
    are cropped to the image's aspect first. None when the thumbnail does not decode."""
    try:
        with Image.open(io.BytesIO(embedded)) as thumb:
            if thumb.format == "JPEG":
                thumb.draft("RGB", (64, 64))  # the hashes look at 32x32: no need for all 160x120
            thumb.load()
            thumb = thumb.convert("RGB")
    except Exception:
        return None
    tw, th = thumb.size
    iw, ih = raw.size
    if tw and th and iw and ih:
        target = iw / ih
        if abs(tw / th - target) / target > 0.05:
            if tw / th > target:
                keep = round(th * target)
                thumb = thumb.crop(((tw - keep) // 2, 0, (tw - keep) // 2 + keep, th))
            else:
                keep = round(tw / target)
                thumb = thumb.crop((0, (th - keep) // 2, tw, (th - keep) // 2 + keep))
    if up.size == raw.size and (facts.orientation or 1) == 1:
        as_stored = phash, dhash
    else:
        base = hashes.grey(raw)
        as_stored = hashes.phash(base), hashes.dhash(base)
    tgrey = hashes.grey(thumb)
    return min(hashes.distance(as_stored[0], hashes.phash(tgrey)), hashes.distance(as_stored[1], hashes.dhash(tgrey)))


class _Stopwatch:
    def __init__(self):
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round((now - self.last) * 1000, 3)
        self.last = now


# Guard limits: a 108 MP HEIC decodes in well under these on 2 cores (see docs/validation.md).
GUARD_TIMEOUT_S = 20.0
GUARD_MEMORY_MB = 2048


def extract_facts_guarded(path, *, max_pixels: int | None = None, trust_anchors_pem: str | None = None,
                          timeout_s: float = GUARD_TIMEOUT_S, memory_mb: int = GUARD_MEMORY_MB,
                          reader=extract_facts) -> Facts:
    """``extract_facts`` in the guarded child. When the child times out, runs out of memory or
    dies, the Facts still come back: the SHA-256 (streamed here, safely) and what the first
    bytes say, with ``guard`` set, so the photo gets a verdict instead of stopping the worker."""
    result = run_guarded(reader, str(path), max_pixels=max_pixels, trust_anchors_pem=trust_anchors_pem,
                         timeout_s=timeout_s, memory_mb=memory_mb)
    if isinstance(result, GuardFailure):
        return facts_after_failure(path, result)
    return result


def facts_after_failure(path, failure: GuardFailure) -> Facts:
    digest, size, head = hashlib.sha256(), 0, b""
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            if not head:
                head = chunk[:8192]
            digest.update(chunk)
            size += len(chunk)
    return Facts(sha256=digest.hexdigest(), size_bytes=size, format=_sniffed_format(head),
                 guard=failure.to_dict())
