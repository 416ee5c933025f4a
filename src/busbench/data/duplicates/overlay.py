"""Pixels a device draws on every image (frame, body marker, depth scale, fixed text).

Two scans of different patients from one device share these pixels exactly, so any similarity
measure that looks at them links different patients (BUS-UCLM: 6-10 pHash bits between unrelated
scans). A pixel is such an overlay when it barely varies across the images of one size; images of
a size seen fewer than ``MIN_IMAGES`` times get no overlay mask, since a few images of similar
anatomy would make real tissue look constant.

The statistics are accumulated one image at a time (``ConstantPixels``), so finding the overlay
never holds a dataset's images in memory: only a sum and a sum of squares per frequent size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

MIN_IMAGES = 8
CONSTANT_STD = 6.0  # grey levels: speckle alone varies far more between two scans


class ConstantPixels:
    """Running per-size pixel statistics; ``expected`` sizes (from the manifest) that occur fewer
    than ``MIN_IMAGES`` times are not accumulated at all."""

    def __init__(self, expected: Iterable[tuple[int, int]] | None = None) -> None:
        counts = Counter(expected) if expected is not None else None
        self._wanted = None if counts is None else {s for s, n in counts.items() if n >= MIN_IMAGES}
        self._sums: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray, list[int]]] = {}
        self._masks: dict[tuple[int, ...], np.ndarray] = {}

    def add(self, grey: np.ndarray) -> None:
        if self._wanted is not None and grey.shape not in self._wanted:
            return
        total, squares, count = self._sums.setdefault(
            grey.shape, (np.zeros(grey.shape, np.float64), np.zeros(grey.shape, np.float64), [0]))
        pixels = grey.astype(np.float64)
        total += pixels
        squares += pixels * pixels
        count[0] += 1

    def mask(self, shape: tuple[int, ...]) -> np.ndarray:
        """Boolean mask of the pixels constant across the images of ``shape`` (none if too few)."""
        if shape not in self._masks:
            total, squares, count = self._sums.get(shape, (None, None, [0]))
            if total is None or squares is None or count[0] < MIN_IMAGES:
                self._masks[shape] = np.zeros(shape, dtype=bool)
            else:
                mean = total / count[0]
                self._masks[shape] = np.sqrt(np.maximum(squares / count[0] - mean * mean, 0.0)) < CONSTANT_STD
        return self._masks[shape]


def fill_constant(grey: np.ndarray, constant: np.ndarray) -> np.ndarray:
    """The image as float32 with its overlay pixels set to the median of the others."""
    pixels = grey.astype(np.float32)
    if constant.any() and not constant.all():
        pixels[constant] = np.median(pixels[~constant])
    return pixels
