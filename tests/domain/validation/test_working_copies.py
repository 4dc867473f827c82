"""Working copies: the 320 px thumbnail (from the verdict's own draft decode) and the 1600 px
preview, both upright JPEGs with no metadata at all."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from domain.validation import make_preview, run_guarded

from .photos import CORPUS


def assert_bare_jpeg(data: bytes):
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert len(image.getexif()) == 0 and b"Exif\x00\x00" not in data
    assert not {"exif", "xmp", "icc_profile", "photoshop"} & set(image.info)
    return image


@pytest.mark.parametrize("relative,size", [
    ("jpg/gps/DSCN0010.jpg", (320, 240)),  # GPS, Make NIKON, Model COOLPIX P6000
    ("jpg/orientation/landscape_6.jpg", (320, 240)),  # stored 450x600 with Orientation 6
    ("heic/IMG_5195.HEIC", (248, 320)),  # iPhone: GPS, Make Apple
    ("jpg/hdr/iphone_hdr_NO.jpg", (320, 240)),
])
def test_the_thumbnail_is_upright_320px_and_carries_no_metadata(corpus_facts, relative, size):
    data = corpus_facts(relative).thumbnail
    assert assert_bare_jpeg(data).size == size
    for leak in (b"NIKON", b"COOLPIX", b"Apple", b"iPhone", b"GPS"):
        assert leak not in data


@pytest.mark.parametrize("relative,size", [
    ("jpg/mobile/jolla.jpg", (1600, 1200)),
    ("jpg/orientation/landscape_6.jpg", (600, 450)),  # smaller than 1600: only turned upright
    ("heic/IMG_5195.HEIC", (1239, 1600)),
    ("jpg/hdr/iphone_hdr_NO.jpg", (1600, 1200)),
])
def test_the_preview_is_upright_1600px_on_the_long_side_and_carries_no_metadata(relative, size):
    data = run_guarded(make_preview, str(CORPUS / relative), timeout_s=20, memory_mb=1024)
    assert assert_bare_jpeg(data).size == size
    assert b"Apple" not in data and b"Jolla" not in data


def test_the_rotated_thumbnail_shows_the_picture_as_the_camera_meant_it(corpus_facts):
    thumb = Image.open(io.BytesIO(corpus_facts("jpg/orientation/landscape_6.jpg").thumbnail)).convert("L")
    stored = Image.open(CORPUS / "jpg/orientation/landscape_6.jpg").convert("L")
    turned = stored.transpose(Image.Transpose.ROTATE_270).resize(thumb.size)
    wrong = stored.transpose(Image.Transpose.ROTATE_90).resize(thumb.size)
    assert _mean_difference(thumb, turned) < 8 < _mean_difference(thumb, wrong)


def _mean_difference(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).mean())
