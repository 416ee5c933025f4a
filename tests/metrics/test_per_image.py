"""Metric values: hand-computed cases, the empty-mask rules, and medpy / MONAI as oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from busbench.metrics.overlap import batch_overlap
from busbench.metrics.per_image import BOTH_EMPTY, FALSE_ALARM, MISSED_LESION, MetricRules, image_metrics
from busbench.metrics.surface import hd95_nonempty, surface_distances


def _points(shape: tuple[int, int], *points: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    for r, c in points:
        mask[r, c] = True
    return mask


def test_overlap_metrics_by_hand() -> None:
    truth = np.zeros((4, 5), dtype=bool)
    truth[0:2, 0:3] = True  # 6 pixels
    pred = np.zeros((4, 5), dtype=bool)
    pred[1:3, 0:3] = True  # 6 pixels, 3 shared
    m = image_metrics(pred, truth)
    assert m["dice"] == pytest.approx(2 * 3 / 12)
    assert m["iou"] == pytest.approx(3 / 9)
    assert m["precision"] == pytest.approx(3 / 6) and m["recall"] == pytest.approx(3 / 6)
    assert m["specificity"] == pytest.approx(11 / 14)
    assert m["accuracy"] == pytest.approx(14 / 20)
    assert m["empty_case"] == ""


def test_hd95_conventions_by_hand() -> None:
    a = _points((12, 20), (5, 5))
    b = _points((12, 20), (5, 5), (5, 15))
    # a->b: [0]; b->a: [0, 10]. Pooled [0, 0, 10]: 95th percentile 0 + 0.9 * 10 = 9.
    assert hd95_nonempty(a, b, "pooled") == pytest.approx(9.0)
    # Directed 95th percentiles 0 and 9.5; MONAI takes the larger.
    assert hd95_nonempty(a, b, "max-directed") == pytest.approx(9.5)
    shifted = _points((12, 20), (8, 9))
    assert hd95_nonempty(a, shifted) == pytest.approx(5.0)  # a 3-4-5 triangle
    assert hd95_nonempty(a, shifted, spacing=(0.5, 0.5)) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="convention"):
        hd95_nonempty(a, b, "mean")  # type: ignore[arg-type]


def test_empty_mask_rules() -> None:
    empty = np.zeros((30, 40), dtype=bool)
    lesion = empty.copy()
    lesion[10:15, 10:20] = True
    both = image_metrics(empty, empty)
    assert (both["dice"], both["iou"], both["precision"], both["recall"], both["hd95"]) == (1.0, 1.0, 1.0, 1.0, 0.0)
    assert both["specificity"] == 1.0 and both["accuracy"] == 1.0 and both["empty_case"] == BOTH_EMPTY
    missed = image_metrics(empty, lesion)
    assert (missed["dice"], missed["recall"], missed["precision"]) == (0.0, 0.0, 0.0)
    assert missed["hd95"] == pytest.approx(50.0) and missed["empty_case"] == MISSED_LESION  # 30-40-50
    alarm = image_metrics(lesion, empty)
    assert (alarm["dice"], alarm["iou"], alarm["hd95"]) == (0.0, 0.0, pytest.approx(50.0))
    assert alarm["empty_case"] == FALSE_ALARM and alarm["specificity"] == pytest.approx(1 - 50 / 1200)
    assert image_metrics(empty, lesion, MetricRules(spacing=(0.1, 0.1)))["hd95"] == pytest.approx(5.0)


def _random_pairs(n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Blob pairs (some touching the image border), noisy copies and sparse random masks."""
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(n):
        shape = (int(rng.integers(20, 90)), int(rng.integers(20, 90)))
        field = gaussian_filter(rng.standard_normal(shape), rng.uniform(2, 8))
        a = field > np.quantile(field, rng.uniform(0.6, 0.97))
        if i % 3 == 0:
            b = a ^ (rng.random(shape) < 0.05)
        elif i % 3 == 1:
            other = gaussian_filter(rng.standard_normal(shape), rng.uniform(2, 8))
            b = other > np.quantile(other, rng.uniform(0.6, 0.97))
        else:
            a, b = rng.random(shape) < 0.05, rng.random(shape) < 0.05
        if a.any() and b.any():
            pairs.append((a, b))
    return pairs


def test_agrees_exactly_with_medpy() -> None:
    medpy_binary = pytest.importorskip("medpy.metric.binary")
    for a, b in _random_pairs(60, seed=1):
        ours = image_metrics(a, b, MetricRules("pooled"))
        assert ours["hd95"] == pytest.approx(medpy_binary.hd95(a, b), abs=1e-12)
        assert ours["dice"] == pytest.approx(medpy_binary.dc(a, b), abs=1e-12)
        assert ours["iou"] == pytest.approx(medpy_binary.jc(a, b), abs=1e-12)
        assert ours["precision"] == pytest.approx(medpy_binary.precision(a, b), abs=1e-12)
        assert ours["recall"] == pytest.approx(medpy_binary.recall(a, b), abs=1e-12)
        assert ours["specificity"] == pytest.approx(medpy_binary.specificity(a, b), abs=1e-12)


def test_agrees_exactly_with_monai_in_its_float32_arithmetic() -> None:
    monai_metrics = pytest.importorskip("monai.metrics")
    for a, b in _random_pairs(45, seed=2):
        reference = float(monai_metrics.compute_hausdorff_distance(
            torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None], include_background=True, percentile=95
        ))
        # MONAI takes its percentiles in float32: on our distances that arithmetic gives its value exactly.
        a_to_b, b_to_a = surface_distances(a, b)
        in_float32 = max(float(torch.quantile(torch.from_numpy(d.astype(np.float32)), 0.95)) for d in (a_to_b, b_to_a))
        assert in_float32 == reference
        assert hd95_nonempty(a, b, "max-directed") == pytest.approx(reference, rel=1e-4)


def test_batch_overlap_matches_image_metrics() -> None:
    pairs = _random_pairs(12, seed=3)
    shape = (32, 32)
    preds = [a[: shape[0], : shape[1]] for a, _ in pairs if a.shape[0] >= 32 and a.shape[1] >= 32]
    truths = [b[: shape[0], : shape[1]] for a, b in pairs if a.shape[0] >= 32 and a.shape[1] >= 32]
    preds += [np.zeros(shape, bool), np.zeros(shape, bool)]
    truths += [np.zeros(shape, bool), np.ones(shape, bool)]
    dice, iou = batch_overlap(torch.from_numpy(np.stack(preds)), torch.from_numpy(np.stack(truths)))
    for i, (p, t) in enumerate(zip(preds, truths)):
        expected = image_metrics(p, t)
        assert float(dice[i]) == pytest.approx(expected["dice"]) and float(iou[i]) == pytest.approx(expected["iou"])


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        image_metrics(np.zeros((3, 3), bool), np.zeros((3, 4), bool))
    assert math.isfinite(image_metrics(np.ones((3, 3), bool), np.ones((3, 3), bool))["hd95"])


def test_dice_score_follows_image_metrics_rules() -> None:
    from busbench.metrics.per_image import dice_score

    empty = np.zeros((6, 6), dtype=bool)
    pairs = [(a, b) for a, b in _random_pairs(20, seed=4) if a.shape == b.shape]
    pairs += [(empty, empty), (empty, ~empty), (~empty, empty)]
    for a, b in pairs:
        assert dice_score(a, b) == pytest.approx(image_metrics(a, b)["dice"])
