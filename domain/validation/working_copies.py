"""Working copies of a photo: the 320 px thumbnail and the 1600 px preview, both EXIF-rotated
JPEGs that carry no metadata at all (no EXIF, GPS, Make/Model, XMP or ICC profile).

The thumbnail is made by facts.py from the very draft decode the verdict uses, so it costs an
encode and nothing more. The preview is its own job on a lower-priority queue (docs/validation.md,
"Working copies"): a 1/2-scale draft, long enough for a posted fee list to stay legible.
Run ``make_preview`` under guard.run_guarded like every decode of an uploaded file.
"""
from __future__ import annotations

import io
import math
import warnings

from PIL import Image, ImageOps

THUMBNAIL_LONG_SIDE = 320
PREVIEW_LONG_SIDE = 1600
THUMBNAIL_QUALITY = 80
PREVIEW_QUALITY = 85


def draft_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """The size to ask ``Image.draft`` for so the long side stays at least ``long_side``
    (JPEG then decodes at the largest of 1/2, 1/4, 1/8 that keeps that)."""
    scale = long_side / max(width, height, 1)
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF Orientation says, in RGB."""
    turned = ImageOps.exif_transpose(image)
    if turned.mode not in ("RGB", "L"):
        if turned.mode in ("RGBA", "LA", "P", "PA"):
            # A transparent PNG: composite on white instead of letting transparent pixels go black.
            rgba = turned.convert("RGBA")
            background = Image.new("RGB", rgba.size, (255, 255, 255))
            background.paste(rgba, mask=rgba.getchannel("A"))
            turned = background
        else:
            turned = turned.convert("RGB")
    return turned


def encode_jpeg(image: Image.Image, long_side: int, quality: int) -> bytes:
    """A JPEG of ``image`` shrunk to ``long_side``, saved with no metadata: Pillow writes EXIF,
    XMP and ICC only when they are passed to ``save``, and nothing is passed."""
    copy = image.copy()
    if max(copy.size) > long_side:
        # Bilinear: Pillow widens its support when shrinking, so it is antialiased; on a draft
        # that is already within 2x of the target it looks like Lanczos at half the time.
        copy.thumbnail((long_side, long_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    copy.info = {}
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=quality, optimize=False, progressive=False)
    return out.getvalue()


def thumbnail_from_upright(image: Image.Image) -> bytes:
    return encode_jpeg(image, THUMBNAIL_LONG_SIDE, THUMBNAIL_QUALITY)


def make_preview(path, *, long_side: int = PREVIEW_LONG_SIDE, quality: int = PREVIEW_QUALITY,
                 max_pixels: int | None = None) -> bytes:
    """The preview of the photo at ``path``: a 1/2-scale draft (JPEG) or a full decode (HEIC,
    PNG), turned upright, shrunk to ``long_side``, re-encoded without metadata."""
    from . import facts  # registers the HEIF opener and the bomb limits

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        facts.configure_pillow(max_pixels)
        with Image.open(path) as image:
            if image.format in ("JPEG", "MPO"):
                image.draft("RGB", draft_size(*image.size, long_side))
            image.load()
            return encode_jpeg(upright(image), long_side, quality)
