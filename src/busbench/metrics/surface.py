"""Boundary distances between two binary masks, and HD95 in its two published conventions.

Boundaries are mask pixels with a background 4-neighbour (the mask minus its erosion by a cross,
image edges counting as background), as medpy and MONAI define them; computed with array shifts,
ten times faster than ``scipy.ndimage.binary_erosion``. The distance from each boundary pixel of
one mask to the other's boundary is the exact Euclidean nearest-neighbour distance between the two
boundary point sets (scipy's ``cKDTree``): the same values the Euclidean distance transform that
medpy and MONAI compute over every pixel gives at those pixels, without computing the rest. On
500 lesion masks of 256x256 this is several times faster than medpy with identical values
(``benchmarks/metrics_speed.py``).

Conventions, both with numpy's linear-interpolation percentile:

* ``pooled`` (medpy ``hd95``): the 95th percentile of the distances of both directions pooled;
* ``max-directed`` (MONAI ``compute_hausdorff_distance(percentile=95)``): the larger of the two
  directed 95th percentiles.
"""

from __future__ import annotations

from typing import get_args

import numpy as np
from scipy.spatial import cKDTree

from busbench.metrics.conventions import HD95Convention


def boundary(mask: np.ndarray) -> np.ndarray:
    """Mask pixels with a 4-neighbour outside the mask (or on the image edge)."""
    interior = mask.copy()
    interior[1:] &= mask[:-1]
    interior[:-1] &= mask[1:]
    interior[:, 1:] &= mask[:, :-1]
    interior[:, :-1] &= mask[:, 1:]
    interior[[0, -1], :] = False
    interior[:, [0, -1]] = False
    edge: np.ndarray = mask & ~interior
    return edge


def surface_distances(a: np.ndarray, b: np.ndarray, spacing: tuple[float, float] | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Distances from each boundary pixel of ``a`` to ``b``'s boundary, and from ``b`` to ``a``.

    Both masks must be non-empty booleans of one shape; ``spacing`` is (row, column) pixel size.
    """
    return nearest_distances(boundary(a), boundary(b), spacing)


def nearest_distances(on_a: np.ndarray, on_b: np.ndarray, spacing: tuple[float, float] | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Distances from each true cell of ``on_a`` to the nearest of ``on_b`` and back, in ``np.argwhere`` order
    (both non-empty boolean grids of one shape; ``spacing`` (row, column) scales the grid's axes)."""
    scale = np.asarray(spacing if spacing is not None else (1.0, 1.0), dtype=np.float64)
    points_a, points_b = np.argwhere(on_a) * scale, np.argwhere(on_b) * scale
    a_to_b = cKDTree(points_b).query(points_a, k=1)[0]
    b_to_a = cKDTree(points_a).query(points_b, k=1)[0]
    return a_to_b, b_to_a


def hd95_nonempty(a: np.ndarray, b: np.ndarray, convention: HD95Convention = "pooled",
                  spacing: tuple[float, float] | None = None) -> float:
    """HD95 of two non-empty masks in the chosen convention."""
    a_to_b, b_to_a = surface_distances(a, b, spacing)
    if convention == "pooled":
        return float(np.percentile(np.concatenate([a_to_b, b_to_a]), 95))
    if convention == "max-directed":
        return float(max(np.percentile(a_to_b, 95), np.percentile(b_to_a, 95)))
    # a Python caller's typo (an API user's "max_directed"); settings are checked against HD95Convention when read
    raise ValueError(f"HD95 convention must be one of {get_args(HD95Convention)}, got {convention!r}")
