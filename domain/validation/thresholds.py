"""The numbers validation judges by: defaults here, overridden per supervision office.

Every number is documented in docs/validation.md with the measurement behind it. An office's
overrides are a plain dict (stored with the office later); unknown keys are refused so a
misspelt override can never silently leave the default in force.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

# Software tags that name an editor: the pixels may have been changed (review).
EDITOR_SOFTWARE = (
    "photoshop", "lightroom", "gimp", "paint.net", "paintshop", "pixelmator", "affinity photo",
    "capture one", "luminar", "acdsee", "snapseed", "picsart", "facetune", "photodirector",
    "meitu", "美图", "醒图", "polarr", "vsco", "photoscape", "fotor", "canva",
)
# Desktop tools that copy photos off a camera and rewrite the file on the way (review, by design:
# the photo did not come straight from the capturing device).
TRANSFER_SOFTWARE = (
    "nikon transfer", "viewnx", "capture nx", "zoombrowser", "digital photo professional",
    "imagebrowser", "olympus master", "olympus viewer", "picasa", "windows photo",
    "microsoft windows photo", "iphoto", "apple photos", "shotwell", "digikam", "xnview", "irfanview",
)


@dataclass(frozen=True)
class Thresholds:
    """Validation settings of one supervision office (the defaults are everyone's start)."""

    allowed_formats: tuple[str, ...] = ("JPEG", "HEIF", "PNG")
    # 120 MP: the largest phone sensors that save a full-resolution JPEG (108 MP) pass; a file
    # declaring more is treated as a decompression bomb and never decoded.
    max_pixels: int = 120_000_000
    # Capture time may be this much before the task window opens or after it closes.
    window_tolerance_s: int = 30 * 60
    # A capture time later than the moment the server received the photo, by more than this.
    future_tolerance_s: int = 5 * 60
    # EXIF clock (with its offset) against GPS UTC: camera clocks drift, an offset error is hours.
    gps_time_tolerance_s: int = 10 * 60
    # Geofence: radius + max(positioning error, this floor) (docs/validation.md, "Where: distances").
    min_accuracy_m: float = 20.0
    # Device fixes: the fix nearest the capture time must be this close in time to count.
    fix_time_gap_s: int = 10 * 60
    # Near-duplicate: pHash Hamming distance (of 64 bits) found by the banded index, confirmed by
    # dHash within near_duplicate_dhash_distance. Distances <= 5 cost one seek per neighbour value.
    near_duplicate_distance: int = 5
    near_duplicate_dhash_distance: int = 10
    near_duplicate_max_matches: int = 5
    # Embedded EXIF thumbnail against the image: the smaller of the pHash and dHash distances.
    thumbnail_max_distance: int = 14
    editor_software: tuple[str, ...] = EDITOR_SOFTWARE
    transfer_software: tuple[str, ...] = TRANSFER_SOFTWARE

    def __post_init__(self):
        for name in ("max_pixels", "window_tolerance_s", "future_tolerance_s", "gps_time_tolerance_s",
                     "fix_time_gap_s", "near_duplicate_max_matches"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ValueError(f"threshold {name} must be a non-negative integer")
        if not 0 <= self.near_duplicate_distance <= 8:
            # The banded index probes every value within distance // 3 bits of each band: 66
            # index seeks up to 5, 718 up to 8 (~60 ms at a million photos), ~5,000 beyond.
            raise ValueError("near_duplicate_distance must be between 0 and 8 bits")
        for name in ("near_duplicate_dhash_distance", "thumbnail_max_distance"):
            if not 0 <= getattr(self, name) <= 64:
                raise ValueError(f"threshold {name} must be between 0 and 64 bits")
        if self.min_accuracy_m < 0:
            raise ValueError("min_accuracy_m must not be negative")

    def with_overrides(self, overrides: dict | None) -> "Thresholds":
        """These thresholds with an office's overrides applied (lists become tuples)."""
        if not overrides:
            return self
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown validation thresholds: {', '.join(unknown)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
        return replace(self, **values)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


DEFAULT_THRESHOLDS = Thresholds()


def thresholds_for(overrides: dict | None = None) -> Thresholds:
    """The defaults with one office's overrides (the office storage comes later)."""
    return DEFAULT_THRESHOLDS.with_overrides(overrides)
