"""Lesion shape descriptors of a mask, true and predicted, stored per test image.

BUS-Set (Thomas et al., Medical Physics 2023) asks whether a segmentation keeps the lesion's
morphology, because radiologists read malignancy from it (BI-RADS: "taller than wide", irregular
and elongated shapes). The descriptors are computed where the per-image metrics are, and saved as
columns of every metrics CSV, so the report needs no masks. All lesion pixels of a mask form one
region (as Dice counts them); an empty mask has no shape (NaN).

* ``depth_width``: height / width of the lesion's bounding extent, in image rows and columns
  (depth is along the beam, the rows). > 1 is "taller than wide".
* ``circularity``: 4πA/P², A the pixel count and P the perimeter estimated from the boundary
  pixels' neighbourhood configurations (Benkrid & Crookes 2000, the estimator of scikit-image's
  ``regionprops(...).perimeter``, so values compare with papers that use it). 1 for a disc.
* ``elongation``: major / minor axis length of the ellipse with the region's second moments
  (4·sqrt of the eigenvalues of the pixel-coordinate covariance, as regionprops' axis lengths);
  NaN for a one-pixel-wide line (minor axis 0).
* ``area``: pixel count at the original image size; ``centroid_error``: distance in pixels between
  the true and predicted centroids.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

DESCRIPTORS = ("depth_width", "circularity", "elongation", "area")
SHAPE_COLUMNS = (*(f"{side}_{name}" for name in DESCRIPTORS for side in ("true", "pred")), "centroid_error")
_CROSS = ndimage.generate_binary_structure(2, 1)
# Each boundary pixel's code = 1 + 2 x (4-neighbours on the boundary) + 10 x (diagonal ones on it); its
# contribution to the perimeter by code (Benkrid & Crookes 2000): straight runs 1, corners sqrt 2, mixed ones between.
_CODE_KERNEL = np.array([[10, 2, 10], [2, 1, 2], [10, 2, 10]])
_CODE_LENGTH = np.zeros(50)
_CODE_LENGTH[[5, 7, 15, 17, 25, 27]] = 1.0
_CODE_LENGTH[[21, 33]] = math.sqrt(2)
_CODE_LENGTH[[13, 23]] = (1 + math.sqrt(2)) / 2


def perimeter(mask: np.ndarray) -> float:
    """Perimeter of the boolean ``mask``'s lesion pixels (outside the image counts as background)."""
    mask = mask.astype(bool)
    boundary = (mask & ~ndimage.binary_erosion(mask, _CROSS, border_value=0)).astype(np.int64)
    codes = ndimage.convolve(boundary, _CODE_KERNEL, mode="constant", cval=0)
    return float(np.bincount(codes.ravel(), minlength=50) @ _CODE_LENGTH)


def descriptors(mask: np.ndarray) -> dict[str, float]:
    """The shape of one mask (all NaN when it is empty), and its centroid (row, column)."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return {**dict.fromkeys(DESCRIPTORS, math.nan), "centroid_row": math.nan, "centroid_col": math.nan}
    area = float(rows.size)
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    covariance = np.cov(np.stack([rows, cols]).astype(float), bias=True) if rows.size > 1 else np.zeros((2, 2))
    minor, major = (4 * math.sqrt(max(value, 0.0)) for value in np.linalg.eigvalsh(covariance))
    length = perimeter(mask)
    return {"depth_width": float(height / width), "circularity": 4 * math.pi * area / length**2 if length else math.nan,
            "elongation": major / minor if minor > 0 else math.nan, "area": area,
            "centroid_row": float(rows.mean()), "centroid_col": float(cols.mean())}


def shape_columns(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """The ``SHAPE_COLUMNS`` of one test image: each descriptor of the truth and the prediction,
    and the centroid distance (NaN when either mask is empty)."""
    true_shape, pred_shape = descriptors(truth.astype(bool)), descriptors(pred.astype(bool))
    columns = {f"{side}_{name}": shape[name] for name in DESCRIPTORS
               for side, shape in (("true", true_shape), ("pred", pred_shape))}
    columns["centroid_error"] = math.hypot(true_shape["centroid_row"] - pred_shape["centroid_row"],
                                           true_shape["centroid_col"] - pred_shape["centroid_col"])
    return columns
