"""Statistics beyond mean ± std: bootstrap confidence intervals, paired tests, ranks.

Test images are not independent: one patient's images, and duplicates, form a group (the split's
``group``). Treating them as independent makes intervals too narrow (on BUS-BRA's structure a
nominal 95 % image bootstrap covers about 86 %), so resampling and pairing use whole groups.

* ``bootstrap_ci``: percentile bootstrap of the mean over test images (10 000 resamples, seeded),
  the uncertainty that comes from the finite test set. With ``clusters`` it draws whole clusters
  and takes the image mean of the draw (cluster bootstrap). Given one row of scores per training
  seed it also draws seeds (with replacement) and takes the mean over the drawn seeds of each seed's
  image mean on the drawn clusters: the interval then covers run-to-run variance too.
* ``percentile_ci``: the percentile interval of bootstrap draws (NaN draws, e.g. a draw without
  any lesion image for an AUROC, left out).
* ``cluster_means``: each model's mean score per cluster, the unit of the paired tests.
* ``paired_comparisons``: for each pair of models scored on the same test units, the two-sided
  Wilcoxon signed-rank test (scipy, zero differences dropped as Wilcoxon's original method), Holm's
  step-down correction across the pairs with a finite p-value (NaN stays NaN, never a p-value), the
  matched-pairs rank-biserial correlation as effect size, and the median difference.
* ``friedman_test``: Friedman's chi-square over datasets (with the correction for ties) and the
  Iman-Davenport F, which is less conservative (Demšar, JMLR 2006).
* ``average_ranks`` / ``critical_difference``: Friedman ranks over datasets (rank 1 = best) and
  the Nemenyi critical difference (Demšar 2006) for a CD diagram, for any number of models: the
  studentized range quantile for k models and infinite degrees of freedom, divided by sqrt(2)
  (Demšar's Table 5 tabulates it for 2..10 models).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

BOOTSTRAP_RESAMPLES = 10_000
LEVEL = 0.95


def bootstrap_ci(values: np.ndarray, clusters: np.ndarray | None = None, level: float = LEVEL,
                 resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``values``; with ``clusters`` (a
    label per value) whole clusters are drawn, and a draw's statistic is the mean of its images.
    ``values`` of two dimensions are (training seeds x images): seeds are drawn too (a NaN, a score
    a seed lacks, is left out of that seed's mean); one row gives the one-dimensional interval."""
    table = np.atleast_2d(np.asarray(values, dtype=float))
    codes = np.arange(table.shape[1]) if clusters is None else pd.factorize(np.asarray(clusters))[0]
    present = np.isfinite(table)
    sums = np.stack([np.bincount(codes, weights=np.where(row, scores, 0.0)) for scores, row in zip(table, present)])
    sizes = np.stack([np.bincount(codes, weights=row.astype(float)) for row in present])
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, sums.shape[1], size=(resamples, sums.shape[1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        per_seed = sums[:, drawn].sum(axis=2) / sizes[:, drawn].sum(axis=2)  # (seeds x resamples)
    if len(table) == 1:
        return percentile_ci(per_seed[0], level)
    seeds = rng.integers(0, len(table), size=(resamples, len(table)))
    return percentile_ci(per_seed[seeds, np.arange(resamples)[:, None]].mean(axis=1), level)


def percentile_ci(draws: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of the finite draws (NaN, NaN without any)."""
    finite = np.asarray(draws, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return np.nan, np.nan
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def cluster_draw_weights(clusters: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> np.ndarray:
    """(resamples x values): how often each value's cluster is drawn in each of ``bootstrap_ci``'s draws
    (same seed, same draws), for statistics that are not a mean (AUROC, ECE): a draw's statistic is
    computed with each image weighted by its count."""
    codes = pd.factorize(np.asarray(clusters))[0]
    n = int(codes.max()) + 1
    drawn = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    counts = np.zeros((resamples, n))
    np.add.at(counts, (np.arange(resamples)[:, None], drawn), 1.0)
    return counts[:, codes]


def cluster_means(scores: pd.DataFrame, clusters: pd.Series) -> pd.DataFrame:
    """Mean of each column of ``scores`` (rows: images) per cluster (``clusters``: image -> label)."""
    return scores.groupby(clusters.reindex(scores.index).to_numpy()).mean()


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (monotone, capped at 1), in the input order. Only finite
    p-values count and are adjusted; a NaN (a test that could not be made) stays NaN."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(len(p), np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    running = 0.0
    for rank, i in enumerate(finite[np.argsort(p[finite])]):
        running = max(running, min(1.0, (len(finite) - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def rank_biserial(differences: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation: (R+ - R-) / (R+ + R-), zero differences dropped."""
    nonzero = differences[differences != 0]
    if nonzero.size == 0:
        return 0.0
    ranks = stats.rankdata(np.abs(nonzero))
    positive, negative = ranks[nonzero > 0].sum(), ranks[nonzero < 0].sum()
    return float((positive - negative) / (positive + negative))


def paired_comparisons(scores: pd.DataFrame, pairs: Sequence[tuple[Hashable, Hashable]] | None = None) -> pd.DataFrame:
    """Pairwise tests between the columns (models) of ``scores`` (rows: the same test units), Holm over
    the pairs tested: every pair, or ``pairs`` (e.g. each row against the best); a pair without any
    matched unit gets p = NaN."""
    rows = []
    for a, b in combinations(scores.columns, 2) if pairs is None else pairs:
        differences = (scores[a] - scores[b]).dropna().to_numpy(dtype=float)
        if differences.size == 0:
            p = np.nan
        elif np.all(differences == 0):
            p = 1.0
        else:
            p = float(stats.wilcoxon(differences, zero_method="wilcox", alternative="two-sided").pvalue)
        matched = differences.size > 0
        rows.append({"model_a": a, "model_b": b, "units": differences.size,
                     "median_difference": float(np.median(differences)) if matched else np.nan,
                     "rank_biserial": rank_biserial(differences) if matched else np.nan, "p_value": p})
    table = pd.DataFrame(rows, columns=["model_a", "model_b", "units", "median_difference", "rank_biserial",
                                        "p_value"])
    table["p_holm"] = holm(table["p_value"].tolist()) if len(table) else []
    return table


def p_value_matrix(comparisons: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """Square matrix of Holm-adjusted p-values (diagonal empty)."""
    matrix = pd.DataFrame(np.nan, index=pd.Index(models, name="model"), columns=models)
    for a, b, p in zip(comparisons["model_a"], comparisons["model_b"], comparisons["p_holm"]):
        matrix.loc[a, b] = matrix.loc[b, a] = p
    return matrix


def average_ranks(scores: pd.DataFrame, higher_is_better: bool = True) -> pd.Series:
    """Mean rank of each model (columns) over datasets (rows); ties share the average rank."""
    ranks = (-scores if higher_is_better else scores).rank(axis=1, method="average")
    return ranks.mean(axis=0).sort_values().rename_axis("model")


def friedman_test(scores: pd.DataFrame, higher_is_better: bool = True) -> dict[str, float]:
    """Friedman's test that all models (columns) rank alike over datasets (rows), and the
    Iman-Davenport F derived from it."""
    n, k = scores.shape
    ranks = (-scores if higher_is_better else scores).rank(axis=1, method="average").to_numpy()
    rank_sums = ranks.sum(axis=0)
    tied = sum(float((counts**3 - counts).sum()) for counts in (np.unique(row, return_counts=True)[1] for row in ranks))
    correction = 1 - tied / (n * k * (k * k - 1))  # 0 when every dataset ties every model
    spread = 12.0 / (n * k * (k + 1)) * float((rank_sums**2).sum()) - 3.0 * n * (k + 1)
    chi2 = spread / correction if correction > 0 else 0.0
    df1, df2 = k - 1, (k - 1) * (n - 1)
    f = np.inf if chi2 >= n * (k - 1) else (n - 1) * chi2 / (n * (k - 1) - chi2)
    return {"datasets": float(n), "models": float(k), "chi2": chi2, "df": float(df1),
            "p_value": float(stats.chi2.sf(chi2, df1)), "iman_davenport_f": float(f), "f_df1": float(df1),
            "f_df2": float(df2), "f_p_value": float(stats.f.sf(f, df1, df2)) if np.isfinite(f) else 0.0}


def nemenyi_q(n_models: int, alpha: float = 0.05) -> float:
    """q_alpha of the Nemenyi test: the studentized range's 1 - alpha quantile for ``n_models``
    means and infinite degrees of freedom, / sqrt(2)."""
    return float(stats.studentized_range.ppf(1 - alpha, n_models, np.inf)) / float(np.sqrt(2))


def critical_difference(n_models: int, n_datasets: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks at ``alpha`` (Demšar 2006)."""
    return nemenyi_q(n_models, alpha) * float(np.sqrt(n_models * (n_models + 1) / (6.0 * n_datasets)))
