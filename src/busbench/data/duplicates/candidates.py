"""Which image pairs the near-duplicate checks look at, found without any n x n matrix.

A split of 50,000 frames must not hold 50,000² distances, so every search here works on fixed-size
per-image values (pixel checksums, 64-bit pHashes, hashed ORB descriptors) in row blocks, and keeps
per image only its few best partners. Each pair comes with ``mirrored``: whether the second image
is compared as its horizontal mirror (the most common augmentation and re-export).
"""

from __future__ import annotations

import numpy as np

from busbench.data.duplicates.keypoints import BUCKET_CAP, Keypoints, bucket_neighbours

MIN_VOTES = 3  # shared descriptor buckets before a pair is worth matching
KEYPOINT_NEIGHBOURS = 4  # candidates per image by shared buckets
HASH_NEIGHBOURS = 3  # candidates per image by perceptual hash
_BLOCK_CELLS = 1 << 21  # distances computed at once: 16 MB of int64

Pair = tuple[int, int, bool]  # i < j, and whether j is taken mirrored


def hash_values(hashes: list[str]) -> np.ndarray:
    return np.array([int(h, 16) for h in hashes], dtype=np.uint64)


_BYTE_BITS = np.array([bin(value).count("1") for value in range(256)], dtype=np.int64)


def bits_apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The Hamming distances of 64-bit values (broadcast): NumPy 2's ``bitwise_count``, or on NumPy 1.26
    (pyproject's bound), which lacks it, the set bits of each byte from a table."""
    different = np.asarray(a ^ b, dtype=np.uint64)
    count = getattr(np, "bitwise_count", None)
    if count is not None:
        distances: np.ndarray = count(different)
        return distances.astype(np.int64)
    by_byte = _BYTE_BITS[np.ascontiguousarray(different).reshape(-1).view(np.uint8)]
    return by_byte.reshape(*different.shape, 8).sum(axis=-1)  # type: ignore[no-any-return]


def _across(i: np.ndarray, j: np.ndarray, split_at: int | None) -> np.ndarray:
    if split_at is None:
        return np.ones(np.broadcast(i, j).shape, dtype=bool)
    across: np.ndarray = (np.minimum(i, j) < split_at) & (np.maximum(i, j) >= split_at)
    return across


def identical_pairs(pixels: list[str], split_at: int | None) -> list[tuple[int, int]]:
    """Every pair i < j with one pixel checksum (within one set, or across ``split_at``)."""
    _, code = np.unique(np.asarray(pixels), return_inverse=True)
    order = np.argsort(code, kind="stable")
    start = np.r_[0, np.flatnonzero(np.diff(code[order])) + 1, order.size]
    pairs = []
    for lo, hi in zip(start[:-1], start[1:]):
        members = order[lo:hi].tolist()
        pairs += [(a, b) for k, a in enumerate(members) for b in members[k + 1:]
                  if split_at is None or a < split_at <= b]
    return sorted(pairs)


def hash_neighbours(hashes: np.ndarray, others: np.ndarray, limit: int, per_image: int,
                    split_at: int | None) -> set[tuple[int, int]]:
    """Pairs (i < j) where one is among the other's ``per_image`` nearest (ties: lower index) by the
    Hamming distance of ``hashes[i]`` to ``others[j]``, within ``limit`` bits, never i == j.

    ``others`` is ``hashes`` itself, or the hashes of the mirrored images."""
    n = hashes.size
    chosen: set[tuple[int, int]] = set()
    block = max(1, _BLOCK_CELLS // max(n, 1))
    columns = np.arange(n, dtype=np.int64)
    for lo in range(0, n, block):
        rows = np.arange(lo, min(lo + block, n), dtype=np.int64)
        distance = bits_apart(hashes[rows, None], others[None, :])
        valid = (distance <= limit) & (rows[:, None] != columns[None, :]) & _across(rows[:, None], columns, split_at)
        key = np.where(valid, distance * n + columns, np.iinfo(np.int64).max)
        k = min(per_image, n)
        best = np.sort(np.partition(key, k - 1, axis=1)[:, :k], axis=1)
        for row, keys in zip(rows.tolist(), best):
            for other in (keys[keys != np.iinfo(np.int64).max] % n).tolist():
                chosen.add((min(row, other), max(row, other)))
    return chosen


def candidate_pairs(features: list[Keypoints], mirrored_features: list[Keypoints], hashes: np.ndarray,
                    limit: int, split_at: int | None) -> list[Pair]:
    """Pairs worth checking, plain and mirrored; with ``split_at``, only pairs across it, so that
    neighbours within one set do not crowd out the pairs asked for. Mirrored pairs come from shared
    descriptors only: a pHash neighbour search of the mirrors doubled the checks and found nothing
    the descriptors missed on the injected mirrored copies."""
    n = len(features)
    chosen: set[Pair] = {(i, j, False) for i, j in
                         bucket_neighbours(features, n, KEYPOINT_NEIGHBOURS, MIN_VOTES, split_at)}
    # plain and mirrored descriptors share the buckets here, so buckets may hold twice as many
    chosen |= {(i, j, True) for i, j in bucket_neighbours(features + mirrored_features, n, KEYPOINT_NEIGHBOURS,
                                                          MIN_VOTES, split_at, cap=2 * BUCKET_CAP)}
    chosen |= {(i, j, False) for i, j in hash_neighbours(hashes, hashes, limit, HASH_NEIGHBOURS, split_at)}
    return sorted(chosen)
