"""Media types come from the bytes: every allowed corpus file is recognised, everything else refused by name."""
import os
import struct
from pathlib import Path

import pytest

from domain.errors import UnsupportedMediaError
from domain.evidence import sniff
from domain.evidence.sniff import Purpose

CORPUS = Path(os.environ.get("EVIDENCE_CORPUS") or Path(__file__).resolve().parents[3] / "shared" / "evidence-corpus")
PHOTOS = sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in (".jpg", ".heic"))


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\0\0\0\0" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\0" * 64


def head(path: Path) -> bytes:
    return path.read_bytes()[:sniff.HEAD_BYTES]


def test_the_corpus_has_its_photos_and_its_tiff():
    assert len(PHOTOS) == 16 and (CORPUS / "tiff" / "BSG1.tiff").is_file()


@pytest.mark.parametrize("path", PHOTOS, ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_every_corpus_photo_is_accepted_as_evidence_with_its_real_type(path):
    expected = "image/heic" if path.suffix.lower() == ".heic" else "image/jpeg"
    assert sniff.check(head(path), Purpose.INSPECTION_EVIDENCE) == expected


def test_the_corpus_tiff_is_refused_naming_tiff():
    with pytest.raises(UnsupportedMediaError) as err:
        sniff.check(head(CORPUS / "tiff" / "BSG1.tiff"))
    assert err.value.params["detected"] == "image/tiff"
    assert "image/jpeg" in err.value.params["allowed"] and "application/pdf" not in err.value.params["allowed"]


def test_a_file_name_or_extension_plays_no_part(tmp_path):
    disguised = tmp_path / "photo.jpg"
    disguised.write_bytes((CORPUS / "tiff" / "BSG1.tiff").read_bytes())
    with pytest.raises(UnsupportedMediaError):
        sniff.check_file(disguised)
    renamed = tmp_path / "scan.tiff"
    renamed.write_bytes((CORPUS / "jpg" / "Canon_40D.jpg").read_bytes())
    assert sniff.check_file(renamed) == "image/jpeg"


@pytest.mark.parametrize("data, expected", [
    (ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
    (ftyp(b"heix", b"mif1", b"heix"), "image/heic"),
    (ftyp(b"hevc", b"msf1", b"hevc"), "image/heic"),
    (ftyp(b"mif1", b"mif1", b"heic"), "image/heic"),
    (ftyp(b"msf1", b"msf1", b"hevc"), "image/heic"),
    (ftyp(b"mif1", b"mif1"), "image/heif"),
    (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\0" * 40, "image/png"),
], ids=["heic", "heix", "hevc", "mif1+heic", "msf1+hevc", "mif1", "png"])
def test_heif_brands_and_png_are_photos(data, expected):
    assert sniff.check(data) == expected


@pytest.mark.parametrize("data, detected", [
    (b"", sniff.EMPTY),
    (b"\xff\xd8", sniff.UNKNOWN),
    (b"\xff\xd8\xff", sniff.UNKNOWN),
    (b"\x89PNG\r\n\x1a\n", sniff.UNKNOWN),
    (ftyp(b"heic")[:12], sniff.UNKNOWN),
    (b"hello, this is not a photo at all", sniff.UNKNOWN),
    (ftyp(b"avif", b"mif1", b"miaf"), "image/avif"),
    (ftyp(b"mif1", b"mif1", b"avif"), "image/avif"),
    (ftyp(b"isom", b"isom", b"mp41"), "video/mp4"),
    (b"GIF89a" + b"\0" * 40, "image/gif"),
    (b"RIFF\0\0\0\0WEBPVP8 " + b"\0" * 40, "image/webp"),
    (b"PK\x03\x04" + b"\0" * 40, "application/zip"),
    (b"%PDF-1.7\n" + b"\0" * 40, "application/pdf"),
], ids=["empty", "soi-only", "soi-marker-only", "png-signature-only", "ftyp-cut", "text", "avif", "mif1+avif",
        "mp4", "gif", "webp", "zip", "pdf-as-evidence"])
def test_empty_truncated_and_other_files_are_refused_as_evidence_naming_what_they_are(data, detected):
    with pytest.raises(UnsupportedMediaError) as err:
        sniff.check(data, Purpose.INSPECTION_EVIDENCE)
    assert err.value.params["detected"] == detected


def test_a_pdf_is_taken_only_as_a_department_s_proof():
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"\0" * 40
    assert sniff.check(pdf, Purpose.DEPARTMENT_PROOF) == "application/pdf"
    assert sniff.check(head(CORPUS / "jpg" / "Canon_40D.jpg"), Purpose.DEPARTMENT_PROOF) == "image/jpeg"
    with pytest.raises(UnsupportedMediaError):
        sniff.check(head(CORPUS / "tiff" / "BSG1.tiff"), Purpose.DEPARTMENT_PROOF)
