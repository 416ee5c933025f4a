"""Normalised surface distance (NSD, "surface Dice") of two non-empty binary masks.

Definition: Nikolov et al., "Clinically applicable segmentation of head and neck anatomy for
radiotherapy", J Med Internet Res 2021 (arXiv:1809.04430), as DeepMind's ``surface-distance``
package computes it and Metrics Reloaded recommends beside Dice. A mask's boundary is its contour
traced between pixel centres (marching squares): it passes through the corners of the pixel grid
whose four neighbouring pixels are neither all inside nor all outside the mask (the image is
surrounded by background, so a mask touching the image edge is closed there). Each such corner
carries the length of the contour inside its 2x2 neighbourhood: half a pixel diagonal where one
pixel differs from the other three, a pixel width or height where the neighbourhood is split in
two halves, two half diagonals where it is split diagonally. NSD at tolerance τ is the length of
both contours lying within τ of the other contour (distance from each corner to the nearest
boundary corner of the other mask, ``d <= τ``), divided by the length of both contours.

Lengths and distances use the pixel spacing (row, column), like HD95's (``surface``); the
tolerance is in the same unit. The empty-mask rules are ``per_image``'s.
"""

from __future__ import annotations

import math

import numpy as np

from busbench.metrics.surface import nearest_distances


def contour_corners(mask: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    """Contour length at every corner of the pixel grid, shape (rows + 1, columns + 1); 0 off the contour."""
    padded = np.pad(mask, 1)
    # the four pixels around each grid corner
    top_left, top_right = padded[:-1, :-1], padded[:-1, 1:]
    bottom_left, bottom_right = padded[1:, :-1], padded[1:, 1:]
    inside = (top_left.astype(np.int8) + top_right + bottom_left + bottom_right)
    sy, sx = spacing
    half_diagonal = 0.5 * math.hypot(sy, sx)
    split = inside == 2  # which pixel shares top_left's side says which way the contour crosses
    length = np.where(inside % 2 == 1, half_diagonal, 0.0)
    length += np.where(split & (top_left == top_right), sx, 0.0)  # top row against bottom row: crosses horizontally
    length += np.where(split & (top_left == bottom_left), sy, 0.0)  # left against right: crosses vertically
    length += np.where(split & (top_left == bottom_right), 2 * half_diagonal, 0.0)  # a checkerboard: two cuts
    return length


def nsd_nonempty(a: np.ndarray, b: np.ndarray, tolerance: float,
                 spacing: tuple[float, float] | None = None) -> float:
    """NSD of two non-empty boolean masks of one shape at ``tolerance`` (in units of ``spacing``, default pixels)."""
    scale = spacing if spacing is not None else (1.0, 1.0)
    # outside the masks' bounding box all is background, as beyond the image edge: cropping changes no contour
    rows, columns = np.nonzero(a | b)
    box = (slice(rows.min(), rows.max() + 1), slice(columns.min(), columns.max() + 1))
    length_a, length_b = contour_corners(a[box], scale), contour_corners(b[box], scale)
    on_a, on_b = length_a > 0, length_b > 0
    a_to_b, b_to_a = nearest_distances(on_a, on_b, scale)
    elements = np.concatenate([length_a[on_a], length_b[on_b]])
    within = np.concatenate([a_to_b, b_to_a]) <= tolerance
    near, far = elements[within].sum(), elements[~within].sum()
    return float(near / (near + far))  # exactly 1 (0) when all (none) of both contours is within the tolerance
