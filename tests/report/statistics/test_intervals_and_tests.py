"""Statistics on clustered test sets: cluster bootstrap, per-cluster pairing, Holm with NaN, Friedman."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from busbench.report.statistics.intervals_and_tests import (
    bootstrap_ci,
    cluster_means,
    friedman_test,
    holm,
    paired_comparisons,
    percentile_ci,
)

# BUS-BRA's test-set structure: 375 images of 214 patients (53 with one image, 161 with two)
SIZES = np.array([1] * 53 + [2] * 161)
CLUSTERS = np.repeat(np.arange(len(SIZES)), SIZES)


def test_cluster_bootstrap_covers_near_nominal_where_the_image_bootstrap_does_not() -> None:
    rng = np.random.default_rng(123)
    hits = {"images": 0, "clusters": 0}
    replicates, true_mean = 300, 0.7
    for replicate in range(replicates):
        # a patient effect shared by her images (intra-class correlation 0.8), plus image noise
        values = true_mean + rng.normal(0, np.sqrt(0.8), len(SIZES))[CLUSTERS] + rng.normal(0, np.sqrt(0.2), 375)
        for unit, clusters in (("images", None), ("clusters", CLUSTERS)):
            low, high = bootstrap_ci(values, clusters, resamples=400, seed=replicate)
            hits[unit] += low <= true_mean <= high
    coverage = {unit: hit / replicates for unit, hit in hits.items()}
    assert 0.92 <= coverage["clusters"] <= 0.98, coverage
    assert coverage["images"] <= 0.89, coverage


def test_copied_images_do_not_narrow_a_cluster_interval() -> None:
    values = np.random.default_rng(4).uniform(0, 1, 50)
    doubled, twins = np.repeat(values, 2), np.repeat(np.arange(50), 2)
    # each cluster holds two copies of one value: the same draws as the 50 values alone
    assert bootstrap_ci(doubled, twins) == pytest.approx(bootstrap_ci(values))
    naive_low, naive_high = bootstrap_ci(doubled)
    low, high = bootstrap_ci(values)
    assert (naive_high - naive_low) < 0.8 * (high - low)  # the image bootstrap believes it has 100 images


def test_cluster_bootstrap_resamples_whole_clusters_and_weights_images() -> None:
    # cluster a: one image of 0, cluster b: three images of 1. A draw of two clusters is {a,a} (mean 0),
    # {b,b} (1) or {a,b} (3/4 by images; 1/2 if clusters were weighted equally), the last half the time,
    # so the middle 40 % of the draws is 3/4 exactly
    interval = bootstrap_ci(np.array([0.0, 1.0, 1.0, 1.0]), np.array(["a", "b", "b", "b"]), level=0.4)
    assert interval == (0.75, 0.75)
    assert bootstrap_ci(np.array([0.0, 1.0, 1.0, 1.0]), np.array(["a", "b", "b", "b"])) == (0.0, 1.0)


def test_cluster_means_are_taken_per_cluster_and_model() -> None:
    scores = pd.DataFrame({"a": [0.2, 0.4, 0.9], "b": [0.1, 0.1, 0.5]}, index=["x", "y", "z"])
    means = cluster_means(scores, pd.Series({"z": 7, "x": 3, "y": 3}))
    assert means.loc[3].tolist() == pytest.approx([0.3, 0.1]) and means.loc[7].tolist() == pytest.approx([0.9, 0.5])


def test_holm_adjusts_finite_p_values_only() -> None:
    adjusted = holm([0.01, np.nan, 0.04, 0.03])
    assert np.isnan(adjusted[1])
    assert [adjusted[0], adjusted[2], adjusted[3]] == pytest.approx([0.03, 0.06, 0.06])  # m = 3, not 4
    assert np.isnan(holm([np.nan])).all()
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])  # 2 x 0.6 = 1.2, capped at 1; 0.7 then kept monotone: 1


def test_a_pair_without_matched_units_gets_no_p_value() -> None:
    scores = pd.DataFrame({"a": [0.5, 0.6, np.nan, np.nan], "b": [np.nan, np.nan, 0.4, 0.7],
                           "c": [0.1, 0.2, 0.3, 0.25]})
    table = paired_comparisons(scores).set_index(["model_a", "model_b"])
    assert np.isnan(table.loc[("a", "b"), "p_value"]) and np.isnan(table.loc[("a", "b"), "p_holm"])
    assert table.loc[("a", "c"), "units"] == 2
    assert table.loc[("a", "c"), "p_value"] == pytest.approx(stats.wilcoxon([0.4, 0.4]).pvalue)
    assert table.loc[("b", "c"), "p_value"] == pytest.approx(stats.wilcoxon([0.1, 0.45]).pvalue)
    finite = sorted(table["p_value"].dropna())
    assert table["p_holm"].dropna().max() == pytest.approx(min(1.0, max(2 * finite[0], finite[1])))


@pytest.mark.parametrize("seed", [0, 1])
def test_friedman_matches_scipy_and_iman_davenport_is_the_anova_on_ranks(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = pd.DataFrame(rng.uniform(0, 1, (6, 4)) + [0.3, 0.2, 0.0, 0.0], columns=list("abcd"))
    scores.iloc[0, 2] = scores.iloc[0, 3]  # one tie
    result = friedman_test(scores)
    expected = stats.friedmanchisquare(*(scores[c] for c in scores))
    assert result["chi2"] == pytest.approx(expected.statistic) and result["p_value"] == pytest.approx(expected.pvalue)
    # Iman-Davenport's F is the repeated-measures ANOVA F on the ranks (without ties)
    untied = pd.DataFrame(rng.uniform(0, 1, (6, 4)))
    ranks = (-untied).rank(axis=1).to_numpy()
    n, k = ranks.shape
    treatment = n * ((ranks.mean(axis=0) - ranks.mean()) ** 2).sum()
    error = ((ranks - ranks.mean(axis=0)) ** 2).sum() - ((ranks.mean(axis=1) - ranks.mean()) ** 2).sum() * k
    anova_f = (treatment / (k - 1)) / (error / ((k - 1) * (n - 1)))
    untied_result = friedman_test(untied)
    assert untied_result["iman_davenport_f"] == pytest.approx(anova_f)
    assert untied_result["f_p_value"] == pytest.approx(stats.f.sf(anova_f, k - 1, (k - 1) * (n - 1)))


def test_friedman_of_identical_or_unanimous_rankings() -> None:
    tied = friedman_test(pd.DataFrame({"a": [0.5, 0.7], "b": [0.5, 0.7]}))
    assert tied["chi2"] == 0.0 and tied["p_value"] == 1.0
    unanimous = friedman_test(pd.DataFrame({"a": [0.9, 0.8, 0.7], "b": [0.5, 0.4, 0.3], "c": [0.1, 0.2, 0.0]}))
    assert unanimous["chi2"] == pytest.approx(6.0) and unanimous["iman_davenport_f"] == np.inf


def test_percentile_ci_leaves_out_nan_draws() -> None:
    assert percentile_ci(np.array([np.nan, *range(101)])) == pytest.approx((2.5, 97.5))
    assert np.isnan(percentile_ci(np.array([np.nan]))[0])
