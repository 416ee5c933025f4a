"""Exact and near-duplicate images: the pairs that must stay on one side of every split.

A link is a pair of case ids with the measure that linked them and its value, so a group can be
explained (``busbench split`` warnings, ``busbench audit`` contact sheets). Links are found within
one manifest (for the split) or between two sets of images (a model's training images and a test
set: ``model.init_from`` and ``eval.cross_datasets``).

Near-duplicates are found in two steps, because comparing every pair properly is too slow:

1. candidates: pairs that share many hashed keypoint descriptors (``busbench.data.keypoints``),
   and each image's nearest neighbours by perceptual hash of the image without its overlay;
2. checks: a candidate is linked when its keypoints agree on one similarity transform over a real
   part of the image (measure "matched keypoints": same frame re-cropped, shifted, zoomed, with or
   without calipers and text), or when the blurred images correlate after the best shift and zoom
   (measure "aligned correlation": consecutive frames under small probe motion).

Pixels that the device draws on every image of a size are ignored throughout
(``busbench.data.overlay``), so a shared frame, body marker or text never links two patients.
The thresholds were chosen on a labelled set of BUSI and BUS-BRA pairs
(``tests/data/duplicate_pairs.csv``, ``benchmarks/duplicates_eval.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from busbench.data.alignment import aligned_correlation, thumbnail
from busbench.data.hashing import hamming_matrix, perceptual_hash
from busbench.data.io import read_image
from busbench.data.keypoints import Keypoints, keypoints, match, shared_buckets
from busbench.data.manifest import Manifest
from busbench.data.overlay import constant_pixels, fill_constant
from busbench.errors import BusbenchError

LINK_COLUMNS = ["case_a", "case_b", "measure", "value"]
IDENTICAL = "identical pixels"
KEYPOINTS = "matched keypoints"
CORRELATION = "aligned correlation"
_MIN_VOTES = 3  # shared descriptor buckets before a pair is worth matching
_KEYPOINT_NEIGHBOURS = 6  # candidates per image by shared buckets
_HASH_NEIGHBOURS = 3  # candidates per image by perceptual hash


@dataclass(frozen=True)
class DuplicateSettings:
    """How near-duplicates are found; every field is also a ``split.<field>`` config key."""

    # pHash bits (of the image without its overlay) within which a neighbour is checked
    near_duplicate_distance: int = 22
    near_duplicate_inliers: int = 12  # RANSAC inliers of one similarity transform
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
    images = [read_image(manifest.root / path) for path in rows["image_path"]]
    constant = constant_pixels(images)
    filled = [fill_constant(image, mask) for image, mask in zip(images, constant)]
    return _Described(list(ids), rows["pixel_sha256"].tolist(), [perceptual_hash(f) for f in filled],
                      [keypoints(image, mask) for image, mask in zip(images, constant)],
                      [thumbnail(f) for f in filled])


def _nearest(score: np.ndarray, rows: np.ndarray, cols: np.ndarray, per_image: int, n: int,
             larger_is_closer: bool) -> set[tuple[int, int]]:
    """The ``per_image`` best-scored pairs of each image among the pairs (rows, cols)."""
    order = np.argsort(-score if larger_is_closer else score, kind="stable")
    taken = np.zeros(n, dtype=np.int64)
    chosen = set()
    for k in order:
        i, j = int(rows[k]), int(cols[k])
        if taken[i] < per_image or taken[j] < per_image:
            chosen.add((min(i, j), max(i, j)))
            taken[i] += 1
            taken[j] += 1
    return chosen


def _candidates(described: _Described, settings: DuplicateSettings, split_at: int | None) -> list[tuple[int, int]]:
    n = len(described.ids)
    first, second, votes = shared_buckets(described.keypoints)
    enough = votes >= _MIN_VOTES
    chosen = _nearest(votes[enough], first[enough], second[enough], _KEYPOINT_NEIGHBOURS, n, True)
    distance = hamming_matrix(described.hashes).astype(np.int64)
    near_i, near_j = np.nonzero(np.triu(distance <= settings.near_duplicate_distance, k=1))
    chosen |= _nearest(distance[near_i, near_j], near_i, near_j, _HASH_NEIGHBOURS, n, False)
    if split_at is not None:
        chosen = {(i, j) for i, j in chosen if i < split_at <= j}
    return sorted(chosen)


def _check(described: _Described, i: int, j: int, settings: DuplicateSettings) -> tuple[str, float] | None:
    found = match(described.keypoints[i], described.keypoints[j], settings.near_duplicate_max_scale)
    if found.inliers >= settings.near_duplicate_inliers and found.spread >= settings.near_duplicate_spread:
        return KEYPOINTS, float(found.inliers)
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
    for i, j in _candidates(described, settings, split_at):
        if not identical[i, j]:
            found = _check(described, i, j, settings)
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
