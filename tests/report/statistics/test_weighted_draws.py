"""Statistics of weighted bootstrap draws against the same statistics of the repeated samples
themselves, computed by scipy and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from busbench.report.statistics.intervals_and_tests import cluster_draw_weights
from busbench.report.statistics.weighted_draws import (
    paired_bootstrap_p,
    weighted_kappa,
    weighted_pearson,
    weighted_spearman,
)

RNG = np.random.default_rng(7)
X = RNG.normal(size=30)
Y = 0.6 * X + RNG.normal(size=30)
Y[:3] = Y[3]  # ties in y
CLUSTERS = np.repeat(np.arange(15), 2)  # two images per patient
WEIGHTS = cluster_draw_weights(CLUSTERS, resamples=40, seed=3)


def _repeated(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return np.repeat(values, weights.astype(int))


def test_pearson_and_spearman_equal_scipy_on_each_repeated_sample() -> None:
    pearson, spearman = weighted_pearson(X, Y, WEIGHTS), weighted_spearman(X, Y, WEIGHTS)
    for draw, w in enumerate(WEIGHTS):
        x, y = _repeated(X, w), _repeated(Y, w)
        assert pearson[draw] == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-10)
        assert spearman[draw] == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-10)


def test_kappa_equals_scikit_learn_on_each_repeated_sample() -> None:
    a, b = X > 0, Y > 0.2
    kappa = weighted_kappa(a, b, WEIGHTS)
    for draw, w in enumerate(WEIGHTS):
        assert kappa[draw] == pytest.approx(cohen_kappa_score(_repeated(a, w), _repeated(b, w)), abs=1e-10)


def test_unit_weights_give_the_plain_statistics() -> None:
    ones = np.ones((1, len(X)))
    assert weighted_pearson(X, Y, ones)[0] == pytest.approx(stats.pearsonr(X, Y)[0])
    assert weighted_spearman(X, Y, ones)[0] == pytest.approx(stats.spearmanr(X, Y)[0])


def test_a_draw_of_one_value_has_no_correlation() -> None:
    only_first_image = (np.arange(len(X)) == 0)[None, :] * 3.0
    constant = np.full(len(X), 0.1)
    assert np.isnan(weighted_pearson(X, Y, only_first_image)[0])
    assert np.isnan(weighted_spearman(X, Y, only_first_image)[0])
    assert np.isnan(weighted_pearson(constant, Y, np.ones((1, len(X))))[0])
    assert np.isnan(weighted_spearman(constant, Y, np.ones((1, len(X))))[0])
    assert np.isnan(weighted_kappa(np.ones(len(X), bool), np.ones(len(X), bool), np.ones((1, len(X)))))[0]


def test_paired_bootstrap_p() -> None:
    assert paired_bootstrap_p(np.full(999, 1.0), np.zeros(999)) == pytest.approx(2 / 1000)  # never 0
    mixed = np.linspace(-1, 1, 1001)
    assert paired_bootstrap_p(mixed, np.zeros(1001)) == pytest.approx(1.0)
    assert paired_bootstrap_p(mixed + 0.801, np.zeros(1001)) == pytest.approx(2 * 101 / 1002)  # 100 below 0
    assert np.isnan(paired_bootstrap_p(np.array([np.nan]), np.array([1.0])))
