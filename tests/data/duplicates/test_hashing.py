"""Exact and perceptual hashes that decide which images are copies of each other."""

from __future__ import annotations

import numpy as np
import pytest

from busbench.data.duplicates.candidates import bits_apart, hash_values
from busbench.data.duplicates.hashing import perceptual_hash, pixel_sha256
from busbench.data.synthetic import generate_cases


def test_pixel_hash_depends_on_pixels_and_shape_only() -> None:
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert pixel_sha256(a) == pixel_sha256(a.copy())
    assert pixel_sha256(a) != pixel_sha256(a.reshape(4, 3))
    b = a.copy()
    b[0, 0] += 1
    assert pixel_sha256(a) != pixel_sha256(b)


def test_perceptual_hash_is_close_for_near_copies_and_far_for_other_images() -> None:
    first, second = (c.image for c in generate_cases(2, 96, seed=5, near_duplicate_rate=0.0)[:2])
    brighter = np.clip(first.astype(int) + 4, 0, 255).astype(np.uint8)
    shifted = np.roll(first, 1, axis=1)
    hashes = [perceptual_hash(x) for x in (first, brighter, shifted, second)]
    values = hash_values(hashes)
    dist = bits_apart(values[:, None], values[None, :])
    assert all(len(h) == 16 for h in hashes)
    assert dist[0, 1] <= 4 and dist[0, 2] <= 10
    assert dist[0, 3] > 10


def test_bits_apart_counts_differing_bits() -> None:
    values = hash_values(["0000000000000000", "000000000000000f", "ffffffffffffffff"])
    assert bits_apart(values[:, None], values[None, :]).tolist() == [[0, 4, 64], [4, 0, 60], [64, 60, 0]]


def test_bits_apart_counts_the_same_on_numpy_1_without_bitwise_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyproject allows NumPy 1.26, which has no ``np.bitwise_count`` (NumPy 2.0): every split's duplicate
    search called it and stopped with an AttributeError there. Counted by hand here, bit by bit."""
    values = np.random.default_rng(0).integers(0, 2**64, size=40, dtype=np.uint64)
    values[:2] = [0, np.iinfo(np.uint64).max]
    by_hand = [[bin(int(x) ^ int(y)).count("1") for y in values] for x in values]
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert bits_apart(values[:, None], values[None, :]).tolist() == by_hand
    assert int(bits_apart(values[0], values[1])) == 64  # two single hashes, as links.py compares a pair
    assert bits_apart(values[:3, None], values[None, :]).shape == (3, 40)
