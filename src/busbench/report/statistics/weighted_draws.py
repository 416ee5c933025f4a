"""Statistics of cluster bootstrap draws given as weights, for figures that are not a mean.

``statistics.cluster_draw_weights`` gives, for each of the report's bootstrap draws, how often each
test image's cluster (patient or duplicate group) was drawn. A statistic of a draw is then the
statistic of the images repeated that many times; these functions compute it for all draws at
once (rows of ``weights``) without building the repeated samples:

* ``weighted_pearson``: Pearson's r of the repeated sample;
* ``weighted_spearman``: Spearman's rho, i.e. Pearson's r of the repeated sample's ranks, where the
  copies of one image share their average rank (what ``scipy.stats.rankdata`` gives them);
* ``weighted_kappa``: Cohen's kappa of two boolean ratings;
* ``paired_bootstrap_p``: two-sided p-value of a difference between two models from the same draws.
"""

from __future__ import annotations

import numpy as np


def _as_draws(weights: np.ndarray) -> np.ndarray:
    return np.atleast_2d(np.asarray(weights, dtype=float))


def _constant(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per draw: whether the drawn values (weight > 0) are all equal."""
    drawn = w > 0
    constant: np.ndarray = np.where(drawn, x[None, :], -np.inf).max(axis=1) <= np.where(drawn, x[None, :],
                                                                                      np.inf).min(axis=1)
    return constant


def _weighted_r(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pearson's r per draw of ``x`` and ``y`` (each draws x values, or values) weighted by ``w``."""
    total = w.sum(axis=1, keepdims=True)
    dx = x - (w * x).sum(axis=1, keepdims=True) / total
    dy = y - (w * y).sum(axis=1, keepdims=True) / total
    with np.errstate(invalid="ignore", divide="ignore"):
        r: np.ndarray = (w * dx * dy).sum(axis=1) / np.sqrt((w * dx * dx).sum(axis=1) * (w * dy * dy).sum(axis=1))
    return r


def weighted_pearson(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pearson's r per row of ``weights`` (draws x values); NaN where a draw holds one value of x or y."""
    w = _as_draws(weights)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    flat = _constant(x, w) | _constant(y, w)
    return np.where(flat, np.nan, _weighted_r(np.broadcast_to(x, w.shape), np.broadcast_to(y, w.shape), w))


def weighted_ranks(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(draws x values): each value's average rank in the sample holding it ``weight`` times; values
    equal to one another share the rank of their pooled copies."""
    w = _as_draws(weights)
    _, tie = np.unique(np.asarray(x, dtype=float), return_inverse=True)  # tie groups in ascending order
    pooled = np.zeros((w.shape[0], int(tie.max()) + 1))
    for column, group in enumerate(tie):  # copies per tie group and draw
        pooled[:, group] += w[:, column]
    before = np.cumsum(pooled, axis=1) - pooled  # copies of smaller values
    return (before + (pooled + 1) / 2)[:, tie]


def weighted_spearman(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Spearman's rho per draw: Pearson's r of the draw's ranks, weighted alike."""
    w = _as_draws(weights)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    flat = _constant(x, w) | _constant(y, w)
    return np.where(flat, np.nan, _weighted_r(weighted_ranks(x, w), weighted_ranks(y, w), w))


def weighted_kappa(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Cohen's kappa of two boolean ratings per draw; NaN where chance agreement is total."""
    w = _as_draws(weights)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = (w @ (a == b).astype(float)) / total
        pa, pb = (w @ a) / total, (w @ b) / total
        chance = pa * pb + (1 - pa) * (1 - pb)
        kappa = (observed - chance) / (1 - chance)
    return np.where(chance < 1, kappa, np.nan)


def paired_bootstrap_p(draws_a: np.ndarray, draws_b: np.ndarray) -> float:
    """Two-sided p-value that two models' statistic differs, from draws made with the same weights:
    twice the smaller share of draws on either side of zero (with the observed draw counted, so
    never 0), capped at 1; NaN without finite draws."""
    difference = np.asarray(draws_a, dtype=float) - np.asarray(draws_b, dtype=float)
    difference = difference[np.isfinite(difference)]
    if difference.size == 0:
        return np.nan
    below = (np.sum(difference <= 0) + 1) / (difference.size + 1)
    above = (np.sum(difference >= 0) + 1) / (difference.size + 1)
    return float(min(1.0, 2 * min(below, above)))
