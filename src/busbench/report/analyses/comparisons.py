"""Paired model-against-model tests of the analyses beyond the main table (``analysis_comparisons.csv``):
is one model's detection, shape agreement or calibration better than another's on the same test images?

Per test set, row type and measure, for each pair of models:

* a per-image measure is compared as the main table compares Dice: Wilcoxon's signed-rank test on
  per-unit means (patients/duplicate groups; ``statistics.paired_comparisons``):
  detection ``sensitivity`` (per lesion image, the share of the row's predictions holding a lesion
  pixel) and ``specificity`` (per normal image, the share holding none); morphology, each
  descriptor's absolute error and the ``taller than wide`` agreement (per lesion image, averaged over
  the fold models; a missed lesion has no shape and is left out);
* a figure of the whole test set is compared on the report's cluster bootstrap draws, the same
  draws for both models: detection ``auroc``, and the ensemble's calibration ``ece`` and ``brier``;
  p = twice the smaller share of draws whose difference lies on either side of 0.

``difference`` is model_a - model_b (mean over units for Wilcoxon, of the figures for the bootstrap);
``difference_images`` the same over images, each image once (the difference of the per-image rates
detection.csv reports; the bootstrap's figures are already over images);
lower is better for errors, ECE and Brier. Holm's correction runs over every pair and measure of one
analysis, test set and row type.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from busbench.evaluate.aggregate import ENSEMBLE
from busbench.report.analyses.calibration import calibration_draws
from busbench.report.analyses.detection import auroc_draws, max_probabilities
from busbench.report.analyses.morphology import image_errors, lesion_shapes
from busbench.report.collect import RunTable
from busbench.report.scored_sets import ScoredSet, image_detection, recorded, scored_sets
from busbench.report.statistics.intervals_and_tests import cluster_means, holm, paired_comparisons
from busbench.report.statistics.weighted_draws import paired_bootstrap_p

WILCOXON, BOOTSTRAP = "Wilcoxon signed-rank on unit means", "paired cluster bootstrap"
COLUMNS = ["test_set", "analysis", "measure", "variant", "model_a", "model_b", "test", "units", "difference",
           "difference_images", "median_difference", "rank_biserial", "p_value", "p_holm"]


def wilcoxon_rows(values: dict[str, pd.Series], clusters: pd.Series) -> pd.DataFrame:
    """Paired tests of per-image values (one Series per model, index case_id) on per-unit means."""
    scores = pd.DataFrame(values)
    if scores.shape[1] < 2:
        return pd.DataFrame()
    means = cluster_means(scores, clusters)
    table = paired_comparisons(means)
    table["difference"] = [float((means[a] - means[b]).dropna().mean()) if n else np.nan
                           for a, b, n in zip(table["model_a"], table["model_b"], table["units"])]
    table["difference_images"] = [float((scores[a] - scores[b]).dropna().mean()) if n else np.nan
                                  for a, b, n in zip(table["model_a"], table["model_b"], table["units"])]
    return table.assign(test=WILCOXON)


def bootstrap_rows(draws: dict[str, tuple[float, np.ndarray]], units: int) -> pd.DataFrame:
    """Paired bootstrap tests of set-level figures (per model: the figure and its draws)."""
    rows = [{"model_a": a, "model_b": b, "units": units, "difference": draws[a][0] - draws[b][0],
             "difference_images": draws[a][0] - draws[b][0], "p_value": paired_bootstrap_p(draws[a][1], draws[b][1])}
            for a, b in combinations(draws, 2)]
    return pd.DataFrame(rows).assign(test=BOOTSTRAP) if rows else pd.DataFrame()


def _detection(sets: list[ScoredSet], clusters: pd.Series) -> dict[str, pd.DataFrame]:
    sensitivity, specificity, auroc = {}, {}, {}
    for scored in sets:
        lesion, detected = image_detection(scored.per_image)
        sensitivity[scored.model], specificity[scored.model] = detected[lesion], 1 - detected[~lesion]
        if recorded(scored.per_image, "max_prob") and lesion.any() and not lesion.all():
            auroc[scored.model] = auroc_draws(max_probabilities(scored, lesion.index), lesion,
                                              clusters.reindex(lesion.index))
    units = int(clusters.reindex(sets[0].per_image["case_id"].unique()).nunique())
    return {"sensitivity": wilcoxon_rows(sensitivity, clusters), "specificity": wilcoxon_rows(specificity, clusters),
            "auroc": bootstrap_rows(auroc, units) if len(auroc) == len(sets) else pd.DataFrame()}


def _morphology(sets: list[ScoredSet], clusters: pd.Series) -> dict[str, pd.DataFrame]:
    errors = {s.model: image_errors(lesion_shapes(s)) for s in sets if recorded(s.per_image, "true_area")}
    if len(errors) < 2:
        return {}
    measures = next(iter(errors.values())).keys()
    return {measure: wilcoxon_rows({model: e[measure] for model, e in errors.items()}, clusters)
            for measure in measures}


def _calibration(counts_of: dict[str, pd.DataFrame | None], clusters: pd.Series) -> dict[str, pd.DataFrame]:
    counts = {model: c for model, c in counts_of.items() if c is not None and not c.empty}
    if len(counts) < 2:
        return {}
    draws = {model: calibration_draws(c, clusters) for model, c in counts.items()}
    units = int(clusters.reindex(next(iter(counts.values()))["case_id"].unique()).nunique())
    return {measure: bootstrap_rows({model: d[measure] for model, d in draws.items()}, units)
            for measure in ("ece", "brier")}


def analysis_comparisons(table: RunTable, clusters: pd.Series,
                         counts_of: dict[str, pd.DataFrame | None]) -> pd.DataFrame:
    """``analysis_comparisons.csv`` rows of one test set (empty with fewer than two models);
    ``counts_of``: each run's calibration counts (``calibration.table_counts``)."""
    by_variant: dict[str, list[ScoredSet]] = {}
    for run in table.runs:
        for scored in scored_sets(run):
            by_variant.setdefault(scored.variant, []).append(scored)
    families: list[tuple[str, str, dict[str, pd.DataFrame]]] = []
    for variant, sets in by_variant.items():
        if len(sets) >= 2:
            families += [("detection", variant, _detection(sets, clusters)),
                         ("morphology", variant, _morphology(sets, clusters))]
    families.append(("calibration", ENSEMBLE, _calibration(counts_of, clusters)))
    frames = []
    for analysis, variant, measures in families:
        parts = [rows.assign(measure=measure) for measure, rows in measures.items() if not rows.empty]
        if parts:
            family = pd.concat(parts, ignore_index=True)
            family["p_holm"] = holm(family["p_value"].tolist())
            frames.append(family.assign(test_set=table.title, analysis=analysis, variant=variant))
    return pd.concat(frames, ignore_index=True).reindex(columns=COLUMNS) if frames else pd.DataFrame(columns=COLUMNS)
