"""Photos made in the tests: synthetic images with the EXIF a phone would write, and the corpus."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

ROOT = Path(__file__).resolve().parents[3]
CORPUS = Path(os.environ.get("EVIDENCE_CORPUS") or ROOT.parent / "shared" / "evidence-corpus")

# 江门市政务服务中心 (a site in the persona world's city), WGS-84
JIANGMEN = (22.5790, 113.0815)
URUMQI = (43.8256, 87.6168)


def picture(seed: int, size=(640, 480)) -> Image.Image:
    """A smooth random scene: each seed a different picture, as far apart as two real shots."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), "RGB")
    scene = np.asarray(small.resize(size, Image.Resampling.BICUBIC), dtype=np.int16)
    noise = rng.integers(-6, 7, scene.shape, dtype=np.int16)
    return Image.fromarray(np.clip(scene + noise, 0, 255).astype(np.uint8), "RGB")


def _dms(value: float):
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    s = round((value - d - m / 60) * 3600, 4)
    return (IFDRational(d, 1), IFDRational(m, 1), IFDRational(int(s * 10000), 10000))


def exif(*, capture: str | None = "2026:05:01 10:00:00", offset: str | None = "+08:00", subsec: str | None = None,
         position: tuple[float, float] | None = JIANGMEN, gps_time: tuple[str, tuple] | None = None,
         hpe: float | None = None, make: str | None = "Xiaomi", model: str | None = "Mi 11",
         software: str | None = None, orientation: int | None = None, raw_gps: dict | None = None) -> Image.Exif:
    """The EXIF a phone writes, with every field optional; ``raw_gps`` sets GPS tags as given
    (for values no camera should write)."""
    ex = Image.Exif()
    if make:
        ex[0x010F] = make
    if model:
        ex[0x0110] = model
    if software:
        ex[0x0131] = software
    if orientation:
        ex[0x0112] = orientation
    sub = ex.get_ifd(ExifTags.IFD.Exif)
    if capture:
        sub[0x9003] = capture
    if offset:
        sub[0x9011] = offset
    if subsec:
        sub[0x9291] = subsec
    gps = ex.get_ifd(ExifTags.IFD.GPSInfo)
    if position:
        lat, lon = position
        gps.update({1: "N" if lat >= 0 else "S", 2: _dms(lat), 3: "E" if lon >= 0 else "W", 4: _dms(lon)})
    if gps_time:
        date, (h, m, s) = gps_time
        gps.update({29: date, 7: (IFDRational(h, 1), IFDRational(m, 1), IFDRational(s, 1))})
    if hpe is not None:
        gps[31] = IFDRational(int(hpe * 100), 100)
    if raw_gps:
        gps.update(raw_gps)
    return ex


def jpeg(path: Path, image: Image.Image | None = None, *, ex: Image.Exif | None = None, quality: int = 90,
         seed: int = 1) -> Path:
    image = image if image is not None else picture(seed)
    kwargs = {"exif": ex} if ex is not None else {}
    image.save(path, "JPEG", quality=quality, **kwargs)
    return path


def encoded(image: Image.Image, fmt: str = "JPEG", **kwargs) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def sign_with_c2pa(source: str, out: str, chain: bytes, key: bytes) -> None:
    """Sign ``source`` with a C2PA manifest into ``out``. Run it in a spawned process: c2pa's native
    library is not fork-safe once used, and the guarded readers are forks of the test process."""
    import c2pa

    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None))
    manifest = {"claim_generator_info": [{"name": "inspection-tests", "version": "1"}], "title": "signed.jpg",
                "format": "image/jpeg", "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                    {"action": "c2pa.created",
                     "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}}]}
    context = c2pa.Context(c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
    signed = io.BytesIO()
    with open(source, "rb") as src:
        c2pa.Builder(manifest, context=context).sign(signer, "image/jpeg", src, signed)
    Path(out).write_bytes(signed.getvalue())
