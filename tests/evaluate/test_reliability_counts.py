"""Per-image probability-bin counts: sums that give the pixel-level ECE and Brier score exactly."""

from __future__ import annotations

import numpy as np
import pytest

from busbench.evaluate.reliability_counts import BINS, ReliabilityCounts, bin_index, image_counts
from busbench.report.analyses.calibration import brier_score, expected_calibration_error


def test_bins_are_equal_width_and_one_is_in_the_last() -> None:
    assert bin_index(np.array([0.0, 0.0999, 0.1, 0.55, 0.9999, 1.0])).tolist() == [0, 0, 1, 5, 9, BINS - 1]


def test_counts_give_ece_and_brier_of_a_direct_computation() -> None:
    rng = np.random.default_rng(3)
    collected = ReliabilityCounts()
    probabilities, truths = [], []
    for i in range(4):
        p = rng.beta(0.5, 2.0, size=(12, 15))
        y = rng.random((12, 15)) < p * 0.8
        collected.add(f"c{i}", i // 2, p, y)
        probabilities.append(p.ravel())
        truths.append(y.ravel())
    p, y = np.concatenate(probabilities), np.concatenate(truths).astype(float)
    edges = np.minimum((p * 10).astype(int), 9)  # the bins written out by hand
    ece = sum(abs(p[edges == b].mean() - y[edges == b].mean()) * (edges == b).mean() for b in range(10)
              if (edges == b).any())
    counts = collected.frame()
    assert set(counts.columns) >= {"case_id", "group", "bin", "pixels", "lesion_pixels", "prob_sum", "bins"}
    assert counts["pixels"].sum() == p.size and (counts["pixels"] > 0).all()
    assert expected_calibration_error(counts) == pytest.approx(ece)
    assert brier_score(counts) == pytest.approx(np.mean((p - y) ** 2))


def test_an_image_keeps_only_its_filled_bins() -> None:
    counts = image_counts(np.array([[0.05, 0.05], [0.95, 0.95]]), np.array([[0, 0], [1, 0]], dtype=bool))
    assert counts["bin"].tolist() == [0, 9]
    assert counts["lesion_pixels"].tolist() == [0, 1]
    assert counts["squared_error_sum"].to_numpy() == pytest.approx([2 * 0.05 ** 2, 0.05 ** 2 + 0.95 ** 2])
