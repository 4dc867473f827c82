"""Reuse lookups: the same bytes, or nearly the same picture, in another report.

They search the evidence records themselves: a judged photo's record holds its SHA-256 (indexed
since upload: exact reuse), its facts' 64-bit pHash and dHash, and ``phash_keys``, the pHash's
band keys (near-duplicates), written with its verdict in the same save.

Finding every stored pHash within Hamming distance D of a new one must stay fast at a million
photos, so the pHash is indexed by multi-index hashing: it is cut into 3 bands (22, 21, 21 bits)
and each band's value is stored as a key in one multikey index. If two hashes differ in at most
D bits, then some band differs in at most D // 3 bits (else each band differs in D // 3 + 1 or
more, together more than D): probing every value within D // 3 bits of each band finds every
match, with no miss, and the candidates are then checked exactly. For the default D = 5 that is
66 index seeks; the bench measures the latency. SecantusDB has no hashed indexes and plans no
``$or`` on indexes, so this is one plain multikey index and ``$in`` queries; one query per band,
because SecantusDB re-checks every candidate against the whole ``$in`` list in Python: three
lists of 22 cost half of one list of 66 at a million photos (bench/bench_validation.py).
"""
from __future__ import annotations

from itertools import combinations

from ..filters import oid
from . import hashes
from .thresholds import DEFAULT_THRESHOLDS, Thresholds
from .verdict import ReuseMatch

BANDS = (22, 21, 21)
_BAND_SHIFT = 22  # key = band index << 22 | band value: the three bands never share a key


def _evidence():
    from ..reports.models import Evidence  # the index lives on the evidence records

    return Evidence._get_collection()


def _bands(value: int) -> list[int]:
    out, shift = [], 64
    for bits in BANDS:
        shift -= bits
        out.append((value >> shift) & ((1 << bits) - 1))
    return out


def band_keys(phash: int | str | None) -> list[int]:
    """The keys a photo is stored under (``Evidence.phash_keys``); none without a pHash."""
    if phash is None:
        return []
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


_PROJECTION = {"report": 1, "sha256": 1, "facts.phash": 1, "facts.dhash": 1}


def _candidates(key_groups: list[list[int]], report_id: str) -> list[dict]:
    """Judged photos of other reports stored under any of the keys: one query per group."""
    coll, report = _evidence(), oid(report_id)
    seen: dict = {}
    for keys in key_groups:
        for doc in coll.find({"phash_keys": {"$in": keys}}, _PROJECTION):
            if doc["report"] != report:
                seen.setdefault(doc["_id"], doc)
    return list(seen.values())


def _near(docs, phash: str, dhash: str | None, thresholds: Thresholds, skip=frozenset()) -> list[ReuseMatch]:
    limit = thresholds.near_duplicate_distance
    matches: dict[str, ReuseMatch] = {}
    for doc in docs:
        evidence_id, facts = str(doc["_id"]), doc.get("facts") or {}
        if evidence_id in skip or not facts.get("phash"):
            continue
        d = hashes.distance(phash, facts["phash"])
        if d > limit:
            continue
        if dhash and facts.get("dhash") and hashes.distance(dhash, facts["dhash"]) > thresholds.near_duplicate_dhash_distance:
            continue
        matches[evidence_id] = ReuseMatch(evidence_id=evidence_id, report_id=str(doc["report"]), distance=d)
    ordered = sorted(matches.values(), key=lambda m: (m.distance, m.report_id, m.evidence_id))
    return ordered[:thresholds.near_duplicate_max_matches]


def find_exact_reuse(sha256: str, *, report_id: str, limit: int = 5) -> list[ReuseMatch]:
    """Judged photos with the same bytes in other reports (the same report may hold a photo twice),
    through the SHA-256 index every evidence record has from its upload."""
    query = {"sha256": sha256, "report": {"$ne": oid(report_id)}, "validated_at": {"$ne": None}}
    found = sorted((str(d["report"]), str(d["_id"])) for d in _evidence().find(query, {"report": 1}))
    return [ReuseMatch(evidence_id=e, report_id=r) for r, e in found[:limit]]


def find_near_duplicates(phash: str, dhash: str | None, *, report_id: str,
                         thresholds: Thresholds = DEFAULT_THRESHOLDS, skip=frozenset()) -> list[ReuseMatch]:
    """Photos of other reports whose pHash is within ``near_duplicate_distance`` bits and whose
    dHash confirms it, nearest first; ``skip`` names photos already matched exactly."""
    return _near(_candidates(probe_keys_by_band(phash, thresholds.near_duplicate_distance), report_id), phash, dhash,
                 thresholds, skip)


def lookup_reuse(facts, *, report_id: str, thresholds: Thresholds = DEFAULT_THRESHOLDS):
    """(exact matches, near-duplicate matches) for a photo's facts, ready for the context. An exact
    copy is not reported again as a near-duplicate."""
    exact = find_exact_reuse(facts.sha256, report_id=report_id)
    near = find_near_duplicates(facts.phash, facts.dhash, report_id=report_id, thresholds=thresholds,
                                skip=frozenset(m.evidence_id for m in exact)) if facts.phash else []
    return tuple(exact), tuple(near)
