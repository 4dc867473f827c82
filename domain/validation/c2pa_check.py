"""Content credentials (C2PA): verify a photo's embedded manifest offline.

Never fetches anything: no remote manifest, no OCSP, no timestamp-authority trust lookups
(stack-notes "C2PA"). ``trusted`` needs the deployment's trust anchors (PEM); without them a
good signature is ``valid``. Runs inside the guarded child with the other parsers.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

ABSENT, VALID, TRUSTED, INVALID = "absent", "valid", "trusted", "invalid"
_MEDIA_TYPES = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "HEIF": "image/heic"}


@dataclass(frozen=True)
class C2paResult:
    state: str = ABSENT
    failures: tuple[str, ...] = ()  # C2PA status codes of failed checks (assertion.dataHash.mismatch...)
    signer: str | None = None

    def to_dict(self) -> dict:
        return {"state": self.state, "failures": list(self.failures), "signer": self.signer}


@lru_cache(maxsize=8)
def _context(trust_anchors_pem: str | None):
    import c2pa

    verify = {"ocsp_fetch": False, "remote_manifest_fetch": False,
              "verify_trust": bool(trust_anchors_pem), "verify_timestamp_trust": False}
    settings: dict = {"verify": verify}
    if trust_anchors_pem:
        settings["trust"] = {"user_anchors": trust_anchors_pem}
    return c2pa.Context(c2pa.Settings.from_dict(settings))


def check_c2pa(data: bytes, image_format: str | None, *, trust_anchors_pem: str | None = None) -> C2paResult:
    """The C2PA state of a file's bytes: absent, valid, trusted or invalid (with the failures)."""
    import c2pa

    media_type = _MEDIA_TYPES.get(image_format or "")
    if media_type is None:
        return C2paResult()
    if media_type == "image/jpeg" and not _jpeg_has_app11(data):
        return C2paResult()
    try:
        reader = c2pa.Reader.try_create(media_type, io.BytesIO(data), None, _context(trust_anchors_pem))
    except c2pa.C2paError as exc:
        # A manifest that is there but cannot be parsed (a corrupted CBOR box raises) is not valid.
        return C2paResult(INVALID, (f"c2pa.error.{type(exc).__name__.lstrip('_').lower()}",))
    if reader is None:
        return C2paResult()
    with reader:
        state = (reader.get_validation_state() or "").lower()
        results = reader.get_validation_results() or {}
        manifest = _active(reader)
    failures = tuple(sorted({f.get("code", "?") for f in _failures(results)}))
    signer = ((manifest or {}).get("signature_info") or {}).get("common_name") or \
        ((manifest or {}).get("signature_info") or {}).get("issuer")
    if state == "trusted" and not failures:
        return C2paResult(TRUSTED, (), signer)
    if state == "valid":
        # Valid with an untrusted certificate lists signingCredential.untrusted as a failure:
        # the signature holds, the signer is just not one we were told to trust.
        hard = tuple(f for f in failures if not f.startswith("signingCredential.untrusted"))
        if not hard:
            return C2paResult(VALID, (), signer)
        return C2paResult(INVALID, hard, signer)
    return C2paResult(INVALID, failures or (f"c2pa.state.{state or 'unknown'}",), signer)


def _jpeg_has_app11(data: bytes) -> bool:
    """Whether the JPEG has an APP11 segment before its image data: C2PA keeps its JUMBF
    manifest store there (C2PA 2.1, A.3.1). Walking the few header segments costs microseconds
    against ~1 ms for the SDK to say "no manifest" on a 3 MB photo. A malformed header says
    yes, and the SDK decides."""
    i, end = 2, len(data)
    while i + 4 <= end:
        if data[i] != 0xFF:
            return True
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA or marker == 0xD9:  # start of scan / end of image
            return False
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:
            i += 2
            continue
        if marker == 0xEB:
            return True
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return True


def _failures(results: dict) -> list[dict]:
    found = list(((results.get("activeManifest") or {}).get("failure")) or [])
    for ingredient in results.get("ingredientDeltas") or []:
        found += ((ingredient.get("validationDeltas") or {}).get("failure")) or []
    return [f for f in found if isinstance(f, dict)]


def _active(reader) -> dict | None:
    try:
        return reader.get_active_manifest()
    except Exception:
        return None
