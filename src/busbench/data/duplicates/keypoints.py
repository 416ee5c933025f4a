"""Local-feature matching: do two images show one scene under crop, shift, zoom or overlays?

ORB keypoints (corners with 256-bit binary descriptors, found on a scale pyramid) are matched with
the ratio test, and a similarity transform (shift, rotation, uniform scale) is fitted with RANSAC.
A pair is one scene when many matches agree on one transform *and* they cover a real part of the
image: burnt-in text of two different scans ("MAMA DIREITA") also agrees on a shift, but only
over a small area. Calipers and text added to one copy only cost a few matches.

Matching every pair is quadratic, so candidates come from locality-sensitive hashing: fixed
random 16-bit subsets of the descriptor bits are bucket keys, and image pairs that share many
buckets are matched. The subsets come from a fixed seed, so the links are reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from busbench.progress import progress

_FEATURES = 250
_RATIO = 0.8  # Lowe's ratio test
_REPROJECTION_PX = 5.0
_TABLES = 8
_KEY_BITS = 16
BUCKET_CAP = 24  # larger buckets are textureless patterns shared by everything
_FILL = 16  # descriptors per bucket key value at which keys get longer
_QUERY_DESCRIPTORS = 1 << 14  # descriptors whose bucket partners are counted at once (~50 MB of pairs)
_SEED = 20231125
_OVERLAY_MARGIN_PX = 8  # ORB reads a 31 px patch: keep it off the device's overlay
_PYRAMID_LEVELS = 8  # ORB's defaults, named because they set the smallest image it can read
_PYRAMID_SCALE = 1.2
# ORB shrinks each level by _PYRAMID_SCALE, and OpenCV refuses a level rounded to 0 pixels: the
# smallest side that keeps a pixel on the last level (2). A side of 64 px or less (ORB keeps a 31 px
# border) gets no keypoint, but the image is still compared by hash and correlation.
MIN_SIDE = math.floor(0.5 * _PYRAMID_SCALE ** (_PYRAMID_LEVELS - 1)) + 1


@dataclass(frozen=True)
class Keypoints:
    """ORB keypoints of one image: positions (k, 2), descriptors (k, 32) and the image shape."""

    points: np.ndarray
    descriptors: np.ndarray
    shape: tuple[int, int]


@dataclass(frozen=True)
class Match:
    """RANSAC inliers of the best similarity transform and the fraction of the first image their
    bounding box covers."""

    inliers: int
    spread: float


NO_MATCH = Match(0, 0.0)


def keypoints(grey: np.ndarray, constant: np.ndarray) -> Keypoints:
    """ORB keypoints of a grey uint8 image, none on or next to the ``constant`` overlay pixels."""
    allowed = np.full(grey.shape, 255, dtype=np.uint8)
    if constant.any():
        near_overlay = cv2.dilate(constant.astype(np.uint8), np.ones((2 * _OVERLAY_MARGIN_PX + 1,) * 2, np.uint8))
        allowed[near_overlay > 0] = 0
    found, descriptors = cv2.ORB.create(nfeatures=_FEATURES, scaleFactor=_PYRAMID_SCALE,
                                           nlevels=_PYRAMID_LEVELS).detectAndCompute(grey, allowed)
    if descriptors is None or not found:
        return Keypoints(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), grey.shape)
    return Keypoints(np.array([k.pt for k in found], dtype=np.float32), descriptors, grey.shape)


def _bucket_keys(descriptors: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """The descriptor bits ``bits`` (indices 0..255, most significant first) of each row as one int."""
    key = np.zeros(len(descriptors), dtype=np.int64)
    for bit in bits.tolist():
        key = key << 1 | ((descriptors[:, bit // 8] >> (7 - bit % 8)) & 1).astype(np.int64)
    return key


def key_bits(total_descriptors: int) -> int:
    """Bits per bucket key: 16, or more once the descriptors would fill 16-bit buckets past the cap
    on average (about 1 M descriptors), so that large datasets keep small buckets."""
    return min(31, max(_KEY_BITS, int(np.ceil(np.log2(max(total_descriptors, 1) / _FILL)))))


class BucketTable:
    """The descriptors of every set sorted into the buckets of one random key (compressed sparse rows):
    bucket k holds the owners ``owners[offsets[k]:offsets[k + 1]]``, in the sets' order. Nothing but
    one int32 per descriptor and one int32 offset per possible key (2^16 to 2^21 of them) is kept."""

    def __init__(self, features: list[Keypoints], bits: np.ndarray, key_length: int) -> None:
        self.bits = bits
        counts = [len(f.descriptors) for f in features]
        keys = np.concatenate([_bucket_keys(f.descriptors, bits).astype(np.uint32) for f in features])
        order = np.argsort(keys, kind="stable")
        first = np.cumsum(counts) - counts
        self.owners = (np.searchsorted(first, order, side="right") - 1).astype(np.int32)
        offsets = np.cumsum(np.bincount(keys, minlength=1 << key_length))
        self.offsets = np.r_[0, offsets].astype(np.int32 if keys.size < 2**31 else np.int64)

    def members(self, descriptors: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
        """For each bucket of at most ``cap`` that a query descriptor falls into: the query's row, once
        per member, and the member's owner."""
        mine = _bucket_keys(descriptors, self.bits)
        start, stop = self.offsets[mine], self.offsets[mine + 1]
        size = np.where(stop - start <= cap, stop - start, 0)
        rows = np.repeat(np.arange(mine.size), size)
        within = np.arange(rows.size) - np.repeat(np.cumsum(size) - size, size)
        return rows, self.owners[np.repeat(start, size) + within]


def bucket_neighbours(features: list[Keypoints], images: int, per_image: int, min_votes: int,
                      split_at: int | None = None, cap: int = BUCKET_CAP) -> set[tuple[int, int]]:
    """Pairs (i < j) of the first ``images`` sets where one is among the other's ``per_image`` best
    partners by shared buckets (votes: descriptor pairs sharing a bucket of at most ``cap``, over all
    tables; at least ``min_votes``; ties: lower index). Sets from ``images`` on are the mirrors of
    the first ones, in order: then only image i against the mirror of image j counts. With
    ``split_at``, only pairs across it.

    Votes are counted for a block of query images at a time against the bucket tables, so memory
    grows with the descriptors, not with the pairs that share a bucket by chance (quadratic)."""
    counts = [len(f.descriptors) for f in features]
    if images < 2 or sum(counts) == 0:
        return set()
    mirrored = len(features) > images
    rng = np.random.default_rng(_SEED)
    key_length = key_bits(sum(counts[:images]))
    which = "descriptors of the images and mirrors" if mirrored else "descriptors of the images"
    tables = [BucketTable(features, rng.choice(256, key_length, replace=False), key_length)
              for _ in progress(range(_TABLES), f"duplicate search: hashing {which}", total=_TABLES)]
    found: set[tuple[int, int]] = set()
    block = max(1, _QUERY_DESCRIPTORS // max(1, sum(counts[:images]) // images))
    starts = range(0, images, block)
    for lo in progress(starts, f"duplicate search: counting shared {which}", total=len(starts)):
        hi = min(lo + block, images)
        query = np.concatenate([features[k].descriptors for k in range(lo, hi)])
        asker = np.repeat(np.arange(lo, hi, dtype=np.int64), counts[lo:hi])
        codes = []
        for table in tables:
            rows, members = table.members(query, cap)
            codes.append((asker[rows] - lo) * len(features) + members)
        pair, votes = np.unique(np.concatenate(codes), return_counts=True)
        i, j = pair // len(features) + lo, pair % len(features)
        if mirrored:
            keep = j >= images
            i, j, votes = i[keep], j[keep] - images, votes[keep]
        else:
            keep = j < images
            i, j, votes = i[keep], j[keep], votes[keep]
        keep = (i != j) & (votes >= min_votes)
        if split_at is not None:
            keep &= (np.minimum(i, j) < split_at) & (np.maximum(i, j) >= split_at)
        i, j, votes = i[keep], j[keep], votes[keep]
        order = np.lexsort((j, -votes, i))
        i, j = i[order], j[order]
        start = np.r_[0, np.flatnonzero(np.diff(i)) + 1]
        rank = np.arange(i.size) - np.repeat(start, np.diff(np.r_[start, i.size]))
        top = rank < per_image
        found |= set(zip(np.minimum(i, j)[top].tolist(), np.maximum(i, j)[top].tolist()))
    return found


def match(a: Keypoints, b: Keypoints, max_scale: float) -> Match:
    """The similarity transform most matches of ``a`` to ``b`` agree on, if its scale is within
    ``1/max_scale .. max_scale``."""
    if len(a.descriptors) < 3 or len(b.descriptors) < 3:
        return NO_MATCH
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(a.descriptors, b.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < _RATIO * p[1].distance]
    if len(good) < 3:
        return NO_MATCH
    source = a.points[[m.queryIdx for m in good]]
    target = b.points[[m.trainIdx for m in good]]
    transform, inlier = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC,
                                                    ransacReprojThreshold=_REPROJECTION_PX)
    if transform is None:
        return NO_MATCH
    scale = float(np.hypot(transform[0, 0], transform[1, 0]))
    if not 1.0 / max_scale <= scale <= max_scale:
        return NO_MATCH
    kept = source[inlier.ravel() == 1]
    extent = kept.max(axis=0) - kept.min(axis=0)
    return Match(len(kept), float(extent[0] * extent[1] / (a.shape[0] * a.shape[1])))
