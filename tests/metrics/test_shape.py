"""Lesion shape descriptors against scikit-image's regionprops, and their empty-mask rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage
from skimage.measure import regionprops

from busbench.metrics.shape import SHAPE_COLUMNS, descriptors, perimeter, shape_columns


def _masks() -> list[np.ndarray]:
    """Ellipses of several shapes and orientations, irregular blobs, two-part masks, masks on the border."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:48, :64]
    masks = []
    for angle, (a, b) in zip(np.linspace(0, np.pi, 6), [(6, 14), (12, 5), (9, 9), (3, 20), (15, 8), (7, 7)]):
        r, c = rows - 24, cols - 30
        u, v = r * np.cos(angle) + c * np.sin(angle), -r * np.sin(angle) + c * np.cos(angle)
        masks.append((u / a) ** 2 + (v / b) ** 2 <= 1)
    masks += [ndimage.binary_opening(rng.random((48, 64)) > 0.45, iterations=2) for _ in range(4)]
    masks.append((((rows - 10) ** 2 + (cols - 10) ** 2) < 25) | (((rows - 35) ** 2 + (cols - 50) ** 2) < 49))
    masks.append(rows < 9)  # a band touching the image's edge
    return [m for m in masks if m.any()]


@pytest.mark.parametrize("mask", _masks())
def test_descriptors_equal_regionprops(mask: np.ndarray) -> None:
    region = regionprops(mask.astype(np.uint8))[0]  # every lesion pixel one region, as busbench counts them
    min_row, min_col, max_row, max_col = region.bbox
    ours = descriptors(mask)
    assert ours["area"] == region.area
    assert ours["depth_width"] == pytest.approx((max_row - min_row) / (max_col - min_col))
    assert perimeter(mask) == pytest.approx(region.perimeter)
    assert ours["circularity"] == pytest.approx(4 * math.pi * region.area / region.perimeter ** 2)
    assert ours["elongation"] == pytest.approx(region.axis_major_length / region.axis_minor_length)
    assert (ours["centroid_row"], ours["centroid_col"]) == pytest.approx(region.centroid)


def test_a_disc_is_round_and_a_tall_ellipse_is_taller_than_wide() -> None:
    rows, cols = np.mgrid[:101, :101]
    disc = (rows - 50) ** 2 + (cols - 50) ** 2 <= 40 ** 2
    tall = ((rows - 50) / 40) ** 2 + ((cols - 50) / 20) ** 2 <= 1
    assert descriptors(disc)["circularity"] == pytest.approx(1.0, abs=0.1)
    assert descriptors(disc)["elongation"] == pytest.approx(1.0, abs=0.01)
    assert descriptors(tall)["depth_width"] == pytest.approx(81 / 41)
    assert descriptors(tall)["elongation"] == pytest.approx(2.0, abs=0.05)


def test_empty_masks_and_lines_have_no_shape() -> None:
    truth = np.zeros((20, 20), dtype=bool)
    truth[5:10, 5:12] = True
    columns = shape_columns(np.zeros_like(truth), truth)
    assert list(columns) == list(SHAPE_COLUMNS)
    assert columns["true_area"] == 35 and columns["true_depth_width"] == pytest.approx(5 / 7)
    assert math.isnan(columns["pred_area"]) and math.isnan(columns["centroid_error"])
    moved = np.roll(truth, (3, 4), axis=(0, 1))
    assert shape_columns(moved, truth)["centroid_error"] == pytest.approx(5.0)
    line = np.zeros((20, 20), dtype=bool)
    line[4, 2:15] = True
    assert math.isnan(descriptors(line)["elongation"])  # minor axis 0
