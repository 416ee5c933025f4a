"""Statistics beyond mean ± std: bootstrap confidence intervals, paired tests, ranks.

* ``bootstrap_ci``: percentile bootstrap of the mean over test images (10 000 resamples, seeded),
  the uncertainty that comes from the finite test set.
* ``paired_comparisons``: for each pair of models scored on the same test images, the two-sided
  Wilcoxon signed-rank test (scipy, zero differences dropped as Wilcoxon's original method), Holm's
  step-down correction across all pairs, the matched-pairs rank-biserial correlation as effect
  size, and the median difference.
* ``average_ranks`` / ``critical_difference``: Friedman ranks over datasets (rank 1 = best) and
  the Nemenyi critical difference (Demšar, JMLR 2006) for a CD diagram.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

BOOTSTRAP_RESAMPLES = 10_000
# Studentized range statistic / sqrt(2) at alpha 0.05, for k = 2..10 models (Demšar 2006, Table 5)
NEMENYI_Q05 = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102, 10: 3.164}


def bootstrap_ci(values: np.ndarray, level: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``values``."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (monotone, capped at 1), in the input order."""
    order = np.argsort(p_values)
    m = len(p_values)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
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


def paired_comparisons(scores: pd.DataFrame) -> pd.DataFrame:
    """Pairwise tests between the columns (models) of ``scores`` (rows: the same test images)."""
    rows = []
    for a, b in combinations(scores.columns, 2):
        differences = (scores[a] - scores[b]).to_numpy(dtype=float)
        if np.all(differences == 0):
            p = 1.0
        else:
            p = float(stats.wilcoxon(scores[a], scores[b], zero_method="wilcox", alternative="two-sided").pvalue)
        rows.append({"model_a": a, "model_b": b, "median_difference": float(np.median(differences)),
                     "rank_biserial": rank_biserial(differences), "p_value": p})
    table = pd.DataFrame(rows, columns=["model_a", "model_b", "median_difference", "rank_biserial", "p_value"])
    table["p_holm"] = holm(table["p_value"].tolist()) if len(table) else []
    return table


def p_value_matrix(comparisons: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """Square matrix of Holm-adjusted p-values (diagonal empty)."""
    matrix = pd.DataFrame(np.nan, index=pd.Index(models, name="model"), columns=models)
    for row in comparisons.itertuples():
        matrix.loc[row.model_a, row.model_b] = matrix.loc[row.model_b, row.model_a] = row.p_holm
    return matrix


def average_ranks(scores: pd.DataFrame, higher_is_better: bool = True) -> pd.Series:
    """Mean rank of each model (columns) over datasets (rows); ties share the average rank."""
    ranks = (-scores if higher_is_better else scores).rank(axis=1, method="average")
    return ranks.mean(axis=0).sort_values().rename_axis("model")


def critical_difference(n_models: int, n_datasets: int) -> float | None:
    """Nemenyi critical difference at alpha 0.05 (None outside the tabulated 2..10 models)."""
    q = NEMENYI_Q05.get(n_models)
    return None if q is None else q * float(np.sqrt(n_models * (n_models + 1) / (6.0 * n_datasets)))
