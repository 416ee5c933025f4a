"""Exact and near-duplicate images: the pairs that must stay on one side of every split.

A link is a pair of case ids with the measure that linked them and its value, so a group can be
explained (``busbench split`` warnings, ``busbench audit`` contact sheets). Links are found within
one manifest (for the split) or between two sets of images (a model's training images and a test
set: ``model.init_from`` and ``eval.cross_datasets``).

Near-duplicates are found in two steps, because comparing every pair properly is too slow:

1. candidates: pairs that share many hashed keypoint descriptors (``busbench.data.duplicates.keypoints``),
   and each image's nearest neighbours by perceptual hash of the image without its overlay;
2. checks: a candidate is linked when its keypoints agree on one similarity transform over a real
   part of the image (measure "matched keypoints": same frame re-cropped, shifted, zoomed, with or
   without calipers and text), or when the blurred images correlate after the best shift and zoom
   (measure "aligned correlation": consecutive frames under small probe motion).

Pixels that the device draws on every image of a size are ignored throughout
(``busbench.data.duplicates.overlay``), so a shared frame, body marker or text never links two patients.
The thresholds were chosen on a labelled set of BUSI and BUS-BRA pairs
(``busbench/data/duplicates/reviewed_pairs.csv``, ``benchmarks/duplicates_eval.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from busbench.data.duplicates.alignment import aligned_correlation, thumbnail
from busbench.data.duplicates.hashing import NEAR_DUPLICATE_DISTANCE, hamming_matrix, perceptual_hash
from busbench.data.duplicates.keypoints import Keypoints, keypoints, match, shared_buckets
from busbench.data.duplicates.overlay import constant_pixels, fill_constant
from busbench.data.manifest import Manifest
from busbench.errors import BusbenchError

LINK_COLUMNS = ["case_a", "case_b", "measure", "value"]
IDENTICAL = "identical pixels"
KEYPOINTS = "matched keypoints"
CORRELATION = "aligned correlation"
_MIN_VOTES = 3  # shared descriptor buckets before a pair is worth matching
_KEYPOINT_NEIGHBOURS = 4  # candidates per image by shared buckets
_HASH_NEIGHBOURS = 3  # candidates per image by perceptual hash


@dataclass(frozen=True)
class DuplicateSettings:
    """How near-duplicates are found; every field is also a ``split.<field>`` config key."""

    # pHash bits (of the image without its overlay) within which a neighbour's correlation is checked
    near_duplicate_distance: int = NEAR_DUPLICATE_DISTANCE
    near_duplicate_inliers: int = 10  # RANSAC inliers of one similarity transform
    near_duplicate_spread: float = 0.03  # fraction of the image the inliers' bounding box covers
    near_duplicate_correlation: float = 0.95  # aligned correlation of the blurred images
    near_duplicate_max_scale: float = 1.4  # largest zoom between two copies

    def check(self) -> None:
        if not 0 <= self.near_duplicate_distance <= 64:
            raise BusbenchError(
                f"split.near_duplicate_distance must be 0..64 bits, got {self.near_duplicate_distance}")
        if self.near_duplicate_inliers < 3:
            raise BusbenchError(
                f"split.near_duplicate_inliers must be at least 3 (a transform needs 3 points), got "
                f"{self.near_duplicate_inliers}")
        if not 0.0 <= self.near_duplicate_spread <= 1.0:
            raise BusbenchError(f"split.near_duplicate_spread must be 0..1, got {self.near_duplicate_spread}")
        if not -1.0 <= self.near_duplicate_correlation <= 1.0:
            raise BusbenchError(
                f"split.near_duplicate_correlation must be -1..1, got {self.near_duplicate_correlation}")
        if self.near_duplicate_max_scale < 1.0:
            raise BusbenchError(
                f"split.near_duplicate_max_scale must be at least 1, got {self.near_duplicate_max_scale}")


@dataclass(frozen=True)
class _Described:
    """What the checks need of each image, in the order of the ids."""

    ids: list[str]
    pixels: list[str]
    hashes: list[str]
    keypoints: list[Keypoints]
    thumbnails: list[np.ndarray]


def _describe(manifest: Manifest, ids: list[str]) -> _Described:
    rows = manifest.frame.set_index("case_id").loc[ids]
    images = [manifest.image(row) for _, row in rows.iterrows()]
    constant = constant_pixels(images)
    filled = [fill_constant(image, mask) for image, mask in zip(images, constant)]
    return _Described(list(ids), rows["pixel_sha256"].tolist(), [perceptual_hash(f) for f in filled],
                      [keypoints(image, mask) for image, mask in zip(images, constant)],
                      [thumbnail(f) for f in filled])


def _nearest(score: np.ndarray, rows: np.ndarray, cols: np.ndarray, per_image: int) -> set[tuple[int, int]]:
    """Pairs (rows, cols) that are among the ``per_image`` lowest-scored pairs of either image."""
    owner = np.concatenate([rows, cols])
    other = np.concatenate([cols, rows])
    order = np.lexsort((other, np.concatenate([score, score]), owner))
    owner, other = owner[order], other[order]
    start = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    rank = np.arange(owner.size) - np.repeat(start, np.diff(np.r_[start, owner.size]))
    keep = rank < per_image
    return set(zip(np.minimum(owner, other)[keep].tolist(), np.maximum(owner, other)[keep].tolist()))


def _candidates(described: _Described, distance: np.ndarray, settings: DuplicateSettings,
                split_at: int | None) -> list[tuple[int, int]]:
    """Pairs worth checking; with ``split_at``, only pairs across it, so that neighbours within one
    set do not crowd out the pairs asked for."""
    first, second, votes = shared_buckets(described.keypoints)
    near_i, near_j = np.nonzero(np.triu(distance <= settings.near_duplicate_distance, k=1))
    keep = votes >= _MIN_VOTES
    keep_near = np.ones(near_i.size, dtype=bool)
    if split_at is not None:
        keep &= (first < split_at) & (second >= split_at)
        keep_near = (near_i < split_at) & (near_j >= split_at)
    chosen = _nearest(-votes[keep], first[keep], second[keep], _KEYPOINT_NEIGHBOURS)
    chosen |= _nearest(distance[near_i, near_j][keep_near], near_i[keep_near], near_j[keep_near], _HASH_NEIGHBOURS)
    return sorted(chosen)


def _check(described: _Described, i: int, j: int, bits: int, settings: DuplicateSettings) -> tuple[str, float] | None:
    found = match(described.keypoints[i], described.keypoints[j], settings.near_duplicate_max_scale)
    if found.inliers >= settings.near_duplicate_inliers and found.spread >= settings.near_duplicate_spread:
        return KEYPOINTS, float(found.inliers)
    if bits > settings.near_duplicate_distance:
        return None
    correlation = aligned_correlation(described.thumbnails[i], described.thumbnails[j])
    if correlation >= settings.near_duplicate_correlation:
        return CORRELATION, round(correlation, 4)
    return None


def _links(described: _Described, settings: DuplicateSettings, split_at: int | None = None) -> pd.DataFrame:
    """Linked pairs i < j; with ``split_at``, only pairs with i < split_at <= j."""
    n = len(described.ids)
    if n < 2:
        return pd.DataFrame(columns=LINK_COLUMNS)
    _, pixel_code = np.unique(np.asarray(described.pixels), return_inverse=True)
    identical = np.triu(pixel_code[:, None] == pixel_code[None, :], k=1)
    if split_at is not None:
        identical[split_at:, :] = False
        identical[:, :split_at] = False
    rows = [(i, j, IDENTICAL, 0.0) for i, j in zip(*np.nonzero(identical))]
    distance = hamming_matrix(described.hashes).astype(np.int64)
    for i, j in _candidates(described, distance, settings, split_at):
        if not identical[i, j]:
            found = _check(described, i, j, int(distance[i, j]), settings)
            if found is not None:
                rows.append((i, j, *found))
    rows.sort(key=lambda row: (row[0], row[1]))
    ids = described.ids
    return pd.DataFrame([(ids[i], ids[j], measure, float(value)) for i, j, measure, value in rows],
                        columns=LINK_COLUMNS)


def duplicate_links(manifest: Manifest, settings: DuplicateSettings) -> pd.DataFrame:
    """Every linked pair of images of ``manifest`` (columns ``LINK_COLUMNS``, case_a < case_b)."""
    settings.check()
    return _links(_describe(manifest, manifest.frame["case_id"].tolist()), settings)


def cross_duplicate_links(first: Manifest, first_ids: list[str], second: Manifest, second_ids: list[str],
                          settings: DuplicateSettings) -> pd.DataFrame:
    """Links between images ``first_ids`` of ``first`` (column case_a) and ``second_ids`` of
    ``second`` (column case_b); the two manifests may be the same or different datasets.

    Each set's overlay is estimated from that set alone, since two datasets' devices differ.
    """
    settings.check()
    a, b = _describe(first, list(first_ids)), _describe(second, list(second_ids))
    both = _Described(a.ids + b.ids, a.pixels + b.pixels, a.hashes + b.hashes, a.keypoints + b.keypoints,
                      a.thumbnails + b.thumbnails)
    return _links(both, settings, split_at=len(a.ids))
