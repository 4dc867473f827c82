"""Reuse lookups: the same bytes, or nearly the same picture, in another report.

Each judged photo leaves a PhotoFingerprint: its SHA-256 (exact reuse) and its 64-bit pHash
and dHash (near-duplicates). Finding every stored pHash within Hamming distance D of a new one
must stay fast at a million photos, so the pHash is indexed by multi-index hashing: it is cut
into 3 bands (22, 21, 21 bits) and each band's value is stored as a key in one multikey index.
If two hashes differ in at most D bits, then some band differs in at most D // 3 bits (else
each band differs in D // 3 + 1 or more, together more than D): probing every value within
D // 3 bits of each band finds every match, with no miss, and the candidates are then checked
exactly. For the default D = 5 that is 66 index seeks; the bench measures the latency.
The SHA-256 goes into the same multikey index as a 67th key (its first 60 bits, tagged).
SecantusDB has no hashed indexes and plans no ``$or`` on indexes, so this is one plain multikey
index and ``$in`` queries; one query per band, because SecantusDB re-checks every candidate
against the whole ``$in`` list in Python: three lists of 22 cost half of one list of 67 at a
million photos (bench/bench_validation.py).
"""
from __future__ import annotations

from itertools import combinations

import mongoengine as me

from ..storage import utcnow
from . import hashes
from .thresholds import DEFAULT_THRESHOLDS, Thresholds
from .verdict import ReuseMatch

BANDS = (22, 21, 21)
_BAND_SHIFT = 22  # key = band index << 22 | band value: the three bands never share a key
_SHA_TAG = 3 << 60  # key = 3 << 60 | first 60 bits of the SHA-256: never equal to a band key


class PhotoFingerprint(me.Document):
    """What reuse lookups need of a judged photo; one per evidence item, never changed."""

    evidence_id = me.StringField(required=True, max_length=64)
    report_id = me.StringField(required=True, max_length=64)
    task_id = me.StringField(max_length=64)
    sha256 = me.StringField(required=True, regex=r"^[0-9a-f]{64}$")
    phash = me.StringField(regex=r"^[0-9a-f]{16}$")  # absent when the photo did not decode
    dhash = me.StringField(regex=r"^[0-9a-f]{16}$")
    lookup_keys = me.ListField(me.IntField())  # the SHA-256 key and the three pHash band keys
    created_at = me.DateTimeField(default=utcnow)

    meta = {"collection": "photo_fingerprints", "indexes": [
        {"fields": ["evidence_id"], "unique": True},
        "lookup_keys",
    ]}


def _bands(value: int) -> list[int]:
    out, shift = [], 64
    for bits in BANDS:
        shift -= bits
        out.append((value >> shift) & ((1 << bits) - 1))
    return out


def sha_key(sha256: str) -> int:
    return _SHA_TAG | int(sha256[:15], 16)


def lookup_keys(sha256: str, phash: str | None) -> list[int]:
    return [sha_key(sha256)] + (band_keys(phash) if phash else [])


def band_keys(phash: int | str) -> list[int]:
    value = hashes.from_hex(phash) if isinstance(phash, str) else phash
    return [(i << _BAND_SHIFT) | band for i, band in enumerate(_bands(value))]


def probe_keys_by_band(phash: int | str, distance: int) -> list[list[int]]:
    """For each band, every key within ``distance // len(BANDS)`` bits of the hash's own value."""
    value = hashes.from_hex(phash) if isinstance(phash, str) else phash
    radius = distance // len(BANDS)
    out = []
    for i, (bits, band) in enumerate(zip(BANDS, _bands(value))):
        keys = []
        for flips in range(radius + 1):
            for positions in combinations(range(bits), flips):
                probe = band
                for p in positions:
                    probe ^= 1 << p
                keys.append((i << _BAND_SHIFT) | probe)
        out.append(keys)
    return out


def probe_keys(phash: int | str, distance: int) -> list[int]:
    return [key for band in probe_keys_by_band(phash, distance) for key in band]


def fingerprint_of(facts, *, evidence_id: str, report_id: str, task_id: str | None = None) -> PhotoFingerprint:
    return PhotoFingerprint(evidence_id=str(evidence_id), report_id=str(report_id),
                            task_id=str(task_id) if task_id is not None else None, sha256=facts.sha256,
                            phash=facts.phash, dhash=facts.dhash, lookup_keys=lookup_keys(facts.sha256, facts.phash))


def record_fingerprint(tx, fingerprint: PhotoFingerprint, *, first: bool = False) -> None:
    """Store the fingerprint inside the caller's transaction (the one that saves the verdict).
    Judging the same evidence again replaces its fingerprint, so re-validation is idempotent.
    ``first``: the photo was never judged, so it has none yet (a plain insert; the unique index
    on evidence_id refuses a second)."""
    fingerprint.validate()
    son = fingerprint.to_mongo().to_dict()
    son.pop("_id", None)
    if first:
        tx.collection(PhotoFingerprint).insert_one(son, session=tx.session)
    else:
        tx.collection(PhotoFingerprint).replace_one({"evidence_id": fingerprint.evidence_id}, son, upsert=True,
                                                    session=tx.session)


_PROJECTION = {"evidence_id": 1, "report_id": 1, "sha256": 1, "phash": 1, "dhash": 1, "_id": 0}


def _candidates(key_groups: list[list[int]], report_id: str) -> list[dict]:
    """Fingerprints of other reports holding any of the keys: one query per group."""
    coll = PhotoFingerprint._get_collection()
    seen: dict[str, dict] = {}
    for keys in key_groups:
        for doc in coll.find({"lookup_keys": {"$in": keys}}, _PROJECTION):
            if doc["report_id"] != str(report_id):
                seen.setdefault(doc["evidence_id"], doc)
    return list(seen.values())


def _exact(docs, sha256: str, limit: int) -> list[ReuseMatch]:
    found = sorted({(d["report_id"], d["evidence_id"]) for d in docs if d.get("sha256") == sha256})
    return [ReuseMatch(evidence_id=e, report_id=r) for r, e in found[:limit]]


def _near(docs, phash: str, dhash: str | None, thresholds: Thresholds, skip=frozenset()) -> list[ReuseMatch]:
    limit = thresholds.near_duplicate_distance
    matches: dict[str, ReuseMatch] = {}
    for doc in docs:
        if doc["evidence_id"] in skip or not doc.get("phash"):
            continue
        d = hashes.distance(phash, doc["phash"])
        if d > limit:
            continue
        if dhash and doc.get("dhash") and hashes.distance(dhash, doc["dhash"]) > thresholds.near_duplicate_dhash_distance:
            continue
        matches[doc["evidence_id"]] = ReuseMatch(evidence_id=doc["evidence_id"], report_id=doc["report_id"], distance=d)
    ordered = sorted(matches.values(), key=lambda m: (m.distance, m.report_id, m.evidence_id))
    return ordered[:thresholds.near_duplicate_max_matches]


def find_exact_reuse(sha256: str, *, report_id: str, limit: int = 5) -> list[ReuseMatch]:
    """Photos with the same bytes in other reports (the same report may hold a photo twice)."""
    return _exact(_candidates([[sha_key(sha256)]], report_id), sha256, limit)


def find_near_duplicates(phash: str, dhash: str | None, *, report_id: str,
                         thresholds: Thresholds = DEFAULT_THRESHOLDS, skip=frozenset()) -> list[ReuseMatch]:
    """Photos of other reports whose pHash is within ``near_duplicate_distance`` bits and whose
    dHash confirms it, nearest first; ``skip`` names photos already matched exactly."""
    return _near(_candidates(probe_keys_by_band(phash, thresholds.near_duplicate_distance), report_id), phash, dhash,
                 thresholds, skip)


def lookup_reuse(facts, *, report_id: str, thresholds: Thresholds = DEFAULT_THRESHOLDS):
    """(exact matches, near-duplicate matches) for a photo's facts, ready for the context. The
    SHA-256 key rides along with the first band's query: three queries in all. An exact copy is
    not reported again as a near-duplicate."""
    groups = probe_keys_by_band(facts.phash, thresholds.near_duplicate_distance) if facts.phash else [[]]
    groups[0] = [sha_key(facts.sha256)] + groups[0]
    docs = _candidates(groups, report_id)
    exact = _exact(docs, facts.sha256, 5)
    near = _near(docs, facts.phash, facts.dhash, thresholds, {m.evidence_id for m in exact}) if facts.phash else []
    return tuple(exact), tuple(near)
