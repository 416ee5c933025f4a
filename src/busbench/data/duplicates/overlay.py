"""Pixels a device draws on every image (frame, body marker, depth scale, fixed text).

Two scans of different patients from one device share these pixels exactly, so any similarity
measure that looks at them links different patients (BUS-UCLM: 6-10 pHash bits between unrelated
scans). A pixel is such an overlay when it barely varies across the images of one size; images of
a size seen fewer than ``MIN_IMAGES`` times get no overlay mask, since a few images of similar
anatomy would make real tissue look constant.
"""

from __future__ import annotations

import numpy as np

MIN_IMAGES = 8
CONSTANT_STD = 6.0  # grey levels: speckle alone varies far more between two scans


def constant_pixels(images: list[np.ndarray]) -> list[np.ndarray]:
    """For each grey image, a boolean mask of the pixels that are constant across its size group."""
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for index, image in enumerate(images):
        by_shape.setdefault(image.shape, []).append(index)
    masks: list[np.ndarray] = [np.zeros(0, dtype=bool)] * len(images)
    for shape, members in by_shape.items():
        constant = np.zeros(shape, dtype=bool)
        if len(members) >= MIN_IMAGES:
            total = np.zeros(shape, dtype=np.float64)
            squares = np.zeros(shape, dtype=np.float64)
            for index in members:
                pixels = images[index].astype(np.float64)
                total += pixels
                squares += pixels * pixels
            mean = total / len(members)
            constant = np.sqrt(np.maximum(squares / len(members) - mean * mean, 0.0)) < CONSTANT_STD
        for index in members:
            masks[index] = constant
    return masks


def fill_constant(grey: np.ndarray, constant: np.ndarray) -> np.ndarray:
    """The image as float32 with its overlay pixels set to the median of the others."""
    pixels = grey.astype(np.float32)
    if constant.any() and not constant.all():
        pixels[constant] = np.median(pixels[~constant])
    return pixels
