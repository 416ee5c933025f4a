"""Boundary distances between two binary masks, and HD95 in its two published conventions.

Boundaries are mask pixels with a background 4-neighbour (the mask minus its erosion by a cross,
image edges counting as background), as medpy and MONAI define them. Distances come from scipy's
exact Euclidean distance transform, computed only on the bounding box of both masks plus one
pixel: every boundary pixel lies inside it, so the distances are the same as on the full image,
at a fraction of the cost for the small lesions of ultrasound images.

Conventions, both with numpy's linear-interpolation percentile:

* ``pooled`` (medpy ``hd95``): the 95th percentile of the distances of both directions pooled;
* ``max-directed`` (MONAI ``compute_hausdorff_distance(percentile=95)``): the larger of the two
  directed 95th percentiles.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.ndimage import binary_erosion, distance_transform_edt, generate_binary_structure

HD95Convention = Literal["pooled", "max-directed"]
HD95_CONVENTIONS: tuple[str, ...] = ("pooled", "max-directed")
_CROSS = generate_binary_structure(2, 1)


def _crop(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = np.flatnonzero((a | b).any(axis=1))
    cols = np.flatnonzero((a | b).any(axis=0))
    r0, r1 = max(rows[0] - 1, 0), min(rows[-1] + 2, a.shape[0])
    c0, c1 = max(cols[0] - 1, 0), min(cols[-1] + 2, a.shape[1])
    return a[r0:r1, c0:c1], b[r0:r1, c0:c1]


def _boundary(mask: np.ndarray) -> np.ndarray:
    return mask & ~binary_erosion(mask, structure=_CROSS, border_value=0)


def surface_distances(a: np.ndarray, b: np.ndarray, spacing: tuple[float, float] | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Distances from each boundary pixel of ``a`` to ``b``'s boundary, and from ``b`` to ``a``.

    Both masks must be non-empty booleans of one shape; ``spacing`` is (row, column) pixel size.
    """
    ca, cb = _crop(a, b)
    edge_a, edge_b = _boundary(ca), _boundary(cb)
    to_b = distance_transform_edt(~edge_b, sampling=spacing)
    to_a = distance_transform_edt(~edge_a, sampling=spacing)
    return to_b[edge_a], to_a[edge_b]


def hd95_nonempty(a: np.ndarray, b: np.ndarray, convention: HD95Convention = "pooled",
                  spacing: tuple[float, float] | None = None) -> float:
    """HD95 of two non-empty masks in the chosen convention."""
    a_to_b, b_to_a = surface_distances(a, b, spacing)
    if convention == "pooled":
        return float(np.percentile(np.concatenate([a_to_b, b_to_a]), 95))
    if convention == "max-directed":
        return float(max(np.percentile(a_to_b, 95), np.percentile(b_to_a, 95)))
    raise ValueError(f"HD95 convention must be one of {HD95_CONVENTIONS}, got {convention!r}")
