"""NSD (surface Dice): by hand, the empty-mask rules, and DeepMind's ``surface-distance`` and MONAI's
``compute_surface_dice(use_subvoxels=True)`` (DeepMind's contour elements) as oracles, on real BUSI
masks against perturbed copies of themselves and on edge cases."""

from __future__ import annotations

import math
import warnings
from types import ModuleType

import numpy as np
import pytest
import torch
from absent import oracle
from real_data import real_dataset
from scipy import ndimage

from busbench.data.io import read_mask
from busbench.metrics.conventions import DEFAULT_NSD_TOLERANCE
from busbench.metrics.per_image import (
    METRICS,
    NSD_TOLERANCE,
    MetricRules,
    image_metrics,
    nsd_score,
)
from busbench.metrics.surface_dice import contour_corners, nsd_nonempty

TOLERANCES = (0.0, 1.0, 2.0, 5.0)
SPACINGS = ((1.0, 1.0), (0.5, 1.3))


def _deepmind() -> ModuleType:
    return oracle("surface_distance", "pip install surface-distance: DeepMind's package, in the `test` extra")


def _monai_metrics() -> ModuleType:
    return oracle("monai.metrics", "pip install monai, in the `test` extra")


def deepmind_nsd(pred: np.ndarray, truth: np.ndarray, tolerance: float, spacing: tuple[float, float]) -> float:
    package = _deepmind()
    with warnings.catch_warnings():  # it calls scipy.ndimage.filters, deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        distances = package.compute_surface_distances(truth, pred, spacing)
    return float(package.compute_surface_dice_at_tolerance(distances, tolerance))


def monai_nsd(pred: np.ndarray, truth: np.ndarray, tolerance: float, spacing: tuple[float, float],
              subvoxels: bool = True) -> float:
    def one_hot(mask: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.stack([~mask, mask])[None].astype(np.float32))
    with warnings.catch_warnings():  # an empty mask: it warns, then scores 0 (one empty) or NaN (both)
        warnings.simplefilter("ignore", UserWarning)
        value = _monai_metrics().compute_surface_dice(one_hot(pred), one_hot(truth), [tolerance],
                                                      spacing=list(spacing), use_subvoxels=subvoxels)
    return float(value[0, 0])


def busi_pairs(n: int = 20) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``n`` real BUSI lesion masks (256 px, not square) with a perturbed copy: dilated, eroded, shifted, or
    with pixels flipped at random, in turn."""
    folder = real_dataset("Dataset_BUSI_with_GT") / "benign"
    paths = sorted(folder.glob("*_mask.png"))[:n]
    rng = np.random.default_rng(27)
    pairs = []
    for i, path in enumerate(paths):
        truth = read_mask(path).lesion
        kind = i % 4
        if kind == 0:
            pred = ndimage.binary_dilation(truth, iterations=int(rng.integers(1, 4)))
        elif kind == 1:
            pred = ndimage.binary_erosion(truth, iterations=int(rng.integers(1, 3)))
        elif kind == 2:
            pred = np.roll(truth, (int(rng.integers(-4, 5)), int(rng.integers(-4, 5))), axis=(0, 1))
        else:
            pred = truth ^ (ndimage.binary_dilation(truth ^ ndimage.binary_erosion(truth), iterations=2)
                            & (rng.random(truth.shape) < 0.3))
        assert truth.any() and pred.any() and truth.shape[0] != truth.shape[1]
        pairs.append((path.name, pred, truth))
    return pairs


@pytest.mark.parametrize("spacing", SPACINGS)
def test_real_busi_masks_agree_with_deepmind_and_monai(spacing: tuple[float, float]) -> None:
    _deepmind(), _monai_metrics()
    values = []
    for name, pred, truth in busi_pairs():
        for tolerance in TOLERANCES:
            ours = nsd_score(pred, truth, tolerance, spacing)
            reference = deepmind_nsd(pred, truth, tolerance, spacing)
            assert ours == pytest.approx(reference, abs=1e-12), (name, tolerance)
            assert ours == pytest.approx(monai_nsd(pred, truth, tolerance, spacing), abs=1e-6), (name, tolerance)
            values.append(ours)
    # the perturbations span the range, so that the comparison cannot pass on trivial values alone
    assert min(values) == 0.0 and max(values) == 1.0 and sum(0.3 < v < 0.95 for v in values) > 10


def test_tolerance_is_used() -> None:
    """A 3 px shift: no boundary within 1 px, all of it within 5 px (except the corners' elements)."""
    truth = np.zeros((40, 50), dtype=bool)
    truth[10:20, 10:30] = True
    pred = np.roll(truth, 3, axis=1)
    values = [nsd_score(pred, truth, t) for t in (1.0, 2.0, 3.0, 5.0)]
    assert values == sorted(values) and values[0] < values[-1]
    assert values[-1] == 1.0
    assert values[2] == pytest.approx(deepmind_nsd(pred, truth, 3.0, (1.0, 1.0)), abs=1e-12)
    # tolerance in the spacing's unit: 3 px of 0.5 mm are 1.5 mm
    assert nsd_score(pred, truth, 1.5, (0.5, 0.5)) == pytest.approx(values[2], abs=1e-12)


def test_contour_lengths_by_hand() -> None:
    square = np.zeros((5, 6), dtype=bool)
    square[1:3, 1:4] = True  # 2 x 3 pixels: a contour through pixel centres, cut at the corners
    corners = contour_corners(square, (1.0, 1.0))
    # sides between pixel centres: 2 + 1 + 2 + 1, and four corner cuts of half a diagonal each
    assert corners.sum() == pytest.approx(2 + 1 + 2 + 1 + 4 * math.sqrt(2) / 2)
    one = np.zeros((3, 3), dtype=bool)
    one[1, 1] = True  # a diamond of four half diagonals
    assert contour_corners(one, (2.0, 1.0)).sum() == pytest.approx(4 * 0.5 * math.hypot(2.0, 1.0))
    checker = np.array([[1, 0], [0, 1]], dtype=bool)  # a saddle: its middle corner carries two cuts
    assert contour_corners(checker, (1.0, 1.0))[1, 1] == pytest.approx(math.sqrt(2))


def test_empty_mask_rules() -> None:
    empty = np.zeros((30, 40), dtype=bool)
    lesion = empty.copy()
    lesion[10:15, 10:20] = True
    assert image_metrics(empty, empty)["nsd"] == 1.0
    assert image_metrics(empty, lesion)["nsd"] == 0.0  # a missed lesion
    assert image_metrics(lesion, empty)["nsd"] == 0.0  # a false alarm
    assert image_metrics(lesion, lesion)["nsd"] == 1.0
    # MONAI: one mask empty -> 0 too; both empty -> NaN (busbench: 1, as Dice)
    assert monai_nsd(empty, lesion, 2.0, (1.0, 1.0)) == 0.0
    assert math.isnan(monai_nsd(empty, empty, 2.0, (1.0, 1.0)))


@pytest.mark.parametrize("spacing", SPACINGS)
def test_edge_cases_agree_with_deepmind(spacing: tuple[float, float]) -> None:
    shape = (23, 41)  # not square
    pixel, corner_pixel = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    pixel[7, 9] = True
    corner_pixel[0, 0] = True
    border = np.zeros(shape, dtype=bool)
    border[:, 30:] = True  # touches three image edges: the contour is closed along them
    full = np.ones(shape, dtype=bool)
    cases = [(pixel, pixel), (pixel, corner_pixel), (corner_pixel, border), (border, np.roll(border, -2, axis=1)),
             (full, border), (full, full), (pixel, ndimage.binary_dilation(pixel, iterations=2))]
    for pred, truth in cases:
        for tolerance in TOLERANCES:
            ours = nsd_nonempty(pred, truth, tolerance, spacing)
            assert ours == pytest.approx(deepmind_nsd(pred, truth, tolerance, spacing), abs=1e-12)
            assert ours == pytest.approx(monai_nsd(pred, truth, tolerance, spacing), abs=1e-6)


def test_monai_default_counts_boundary_pixels_instead() -> None:
    """MONAI's default (``use_subvoxels=False``) weighs each boundary pixel 1 and measures between pixel
    centres of the masks' edge pixels: another definition, documented as such, that busbench does not follow."""
    for _, pred, truth in busi_pairs(4):
        ours = nsd_score(pred, truth, 1.0)
        assert abs(ours - monai_nsd(pred, truth, 1.0, (1.0, 1.0), subvoxels=False)) > 1e-3


def test_image_metrics_records_the_tolerance() -> None:
    truth = np.zeros((40, 50), dtype=bool)
    truth[10:20, 10:30] = True
    pred = np.roll(truth, 3, axis=1)
    default = image_metrics(pred, truth)
    assert "nsd" in METRICS and default[NSD_TOLERANCE] == DEFAULT_NSD_TOLERANCE == 2.0
    assert default["nsd"] == pytest.approx(nsd_score(pred, truth, 2.0))
    wide = image_metrics(pred, truth, MetricRules(nsd_tolerance=5.0))
    assert wide["nsd"] == 1.0 > default["nsd"] and wide[NSD_TOLERANCE] == 5.0
