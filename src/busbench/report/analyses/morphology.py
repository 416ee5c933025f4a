"""Whether segmentations keep the lesion's morphology (BUS-Set, Thomas et al., Medical Physics 2023):
the true and predicted shape of every lesion image (``metrics.shape``: depth-to-width ratio,
circularity, elongation, area, centroid error), and per model and row type how well they agree.

* ``morphology.csv``: per lesion image and prediction set (``fold`` 0 for an ensemble), the true and
  predicted descriptors; a missed lesion (empty prediction) has no predicted shape (empty cells).
* ``morphology_summary.csv``: per model, row type and descriptor, over the lesion images whose
  prediction is not empty: Pearson's and Spearman's correlation of predicted with true values, and
  the mean absolute error (centroid error: its mean), each the mean over the fold models; the MAE's
  95 % CI is the report's cluster bootstrap of the per-image error averaged over the fold models.
  Row ``taller than wide`` (depth-to-width > 1, a BI-RADS sign of malignancy): agreement of the
  prediction with the truth as accuracy and Cohen's kappa. The correlations' and kappa's 95 % CIs
  use the same cluster draws, each draw's statistic computed per fold model on the drawn images
  (``weighted_statistics``) and averaged over the folds.
Runs scored before the shapes were recorded (no ``true_depth_width`` column) are left out, and said so.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import cast

import numpy as np
import pandas as pd
from scipy import stats

from busbench.metrics.shape import DESCRIPTORS, SHAPE_COLUMNS
from busbench.report.collect import RunTable
from busbench.report.scored_sets import NOT_RECORDED, ScoredSet, has_lesion, recorded, scored_sets
from busbench.report.statistics.intervals_and_tests import bootstrap_ci, cluster_draw_weights, percentile_ci
from busbench.report.statistics.weighted_draws import weighted_kappa, weighted_pearson, weighted_spearman

TALLER = "taller than wide"
CENTROID = "centroid_error"
MIN_PAIRS = 3  # a correlation of fewer pairs is not reported
SUMMARY_COLUMNS = ["test_set", "dataset", "model", "variant", "descriptor", "lesion_images", "missed_mean",
                   "pairs_mean",
                   *(f"{name}{part}" for name in ("pearson", "spearman", "mae", "accuracy", "kappa")
                     for part in ("", "_ci_low", "_ci_high"))]


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa of two boolean ratings of the same items (NaN when chance agreement is total):
    the bootstrap's weighted kappa with every item once."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    return float(weighted_kappa(a, b, np.ones((1, len(a))))[0])


def _correlation(test: str, x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < MIN_PAIRS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan
    return float((stats.pearsonr if test == "pearson" else stats.spearmanr)(x, y)[0])


def _fold_mean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else np.nan


def lesion_shapes(scored: ScoredSet) -> pd.DataFrame:
    """The ``morphology.csv`` columns of one prediction set's lesion images."""
    frame = scored.per_image[has_lesion(scored.per_image)]
    shapes = frame[["fold", "case_id", *SHAPE_COLUMNS]].apply(
        lambda c: pd.to_numeric(c, errors="coerce") if c.name in SHAPE_COLUMNS else c)
    return cast(pd.DataFrame, shapes.assign(model=scored.model, variant=scored.variant))  # apply's stub: a Series


def _with_ci(errors: pd.DataFrame, clusters: pd.Series) -> tuple[float, float]:
    per_image = errors.groupby("case_id")["error"].mean().dropna()
    if per_image.empty:
        return np.nan, np.nan
    return bootstrap_ci(per_image.to_numpy(), clusters.reindex(per_image.index).to_numpy())


class FoldDraws:
    """The cluster bootstrap draws over one prediction set's lesion images: a statistic of the fold
    models (each over its own images) is computed on every draw, then averaged over the folds."""

    def __init__(self, shapes: pd.DataFrame, clusters: pd.Series) -> None:
        self.ids = pd.Index(sorted(shapes["case_id"].unique()))
        self.weights = (cluster_draw_weights(clusters.reindex(self.ids).to_numpy()) if len(self.ids)
                        else np.zeros((0, 0)))

    def interval(self, frame: pd.DataFrame, statistic: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                 x: str, y: str) -> tuple[float, float]:
        """CI of the fold mean of ``statistic(frame[x], frame[y], weights)``."""
        per_fold = []
        for _, rows in frame.groupby("fold"):
            if len(rows) >= MIN_PAIRS:
                columns = self.ids.get_indexer(rows["case_id"])
                per_fold.append(statistic(rows[x].to_numpy(), rows[y].to_numpy(), self.weights[:, columns]))
        if not per_fold:
            return np.nan, np.nan
        with warnings.catch_warnings():  # a draw where every fold is NaN stays NaN, and is left out
            warnings.simplefilter("ignore", RuntimeWarning)
            return percentile_ci(np.nanmean(np.vstack(per_fold), axis=0))


def image_errors(shapes: pd.DataFrame) -> dict[str, pd.Series]:
    """Per descriptor (and ``taller than wide``: 1 where the prediction agrees): each lesion image's
    absolute error, averaged over the set's fold models; a missed lesion has none."""
    found = shapes[shapes["pred_area"].notna()]
    errors = {CENTROID: found.groupby("case_id")[CENTROID].mean()}
    for name in DESCRIPTORS:
        errors[name] = (found[f"pred_{name}"] - found[f"true_{name}"]).abs().groupby(found["case_id"]).mean()
    rated = found.dropna(subset=["true_depth_width", "pred_depth_width"])
    errors[TALLER] = ((rated["true_depth_width"] > 1) == (rated["pred_depth_width"] > 1)).astype(float).groupby(
        rated["case_id"]).mean()
    return {name: values.dropna() for name, values in errors.items()}


def agreement(shapes: pd.DataFrame, clusters: pd.Series) -> list[dict[str, object]]:
    """The ``morphology_summary.csv`` rows of one prediction set (``lesion_shapes``)."""
    rows: list[dict[str, object]] = []
    found = shapes[shapes["pred_area"].notna()]
    draws = FoldDraws(shapes, clusters)
    base = {"lesion_images": shapes["case_id"].nunique(),
            "missed_mean": float(shapes.groupby("fold")["pred_area"].apply(lambda s: s.isna().sum()).mean())}
    empty = {f"{name}{part}": np.nan for name in ("pearson", "spearman", "mae", "accuracy", "kappa")
             for part in ("", "_ci_low", "_ci_high")}
    for name in (*DESCRIPTORS, CENTROID):
        pairs = found.dropna(subset=[CENTROID] if name == CENTROID else [f"true_{name}", f"pred_{name}"])
        row: dict[str, object] = {**base, "descriptor": name, **empty}
        if name == CENTROID:
            errors = pairs.assign(error=pairs[CENTROID])
        else:
            errors = pairs.assign(error=(pairs[f"pred_{name}"] - pairs[f"true_{name}"]).abs())
            true, pred = f"true_{name}", f"pred_{name}"
            for test, statistic in (("pearson", weighted_pearson), ("spearman", weighted_spearman)):
                value = _fold_mean([_correlation(test, f[true].to_numpy(), f[pred].to_numpy())
                                    for _, f in pairs.groupby("fold")])
                row[test] = value
                if np.isfinite(value):
                    row[f"{test}_ci_low"], row[f"{test}_ci_high"] = draws.interval(pairs, statistic, true, pred)
        row["mae_ci_low"], row["mae_ci_high"] = _with_ci(errors, clusters)
        row["pairs_mean"] = float(errors.groupby("fold").size().mean()) if len(errors) else 0.0
        row["mae"] = _fold_mean(errors.groupby("fold")["error"].mean().tolist())
        rows.append(row)
    rated = found.dropna(subset=["true_depth_width", "pred_depth_width"])
    taller = rated.assign(true_taller=rated["true_depth_width"] > 1, pred_taller=rated["pred_depth_width"] > 1)
    agree = taller.assign(error=(taller["true_taller"] == taller["pred_taller"]).astype(float))
    kappa = _fold_mean([cohen_kappa(f["true_taller"].to_numpy(), f["pred_taller"].to_numpy())
                        for _, f in taller.groupby("fold")])
    row = {**base, "descriptor": TALLER, **empty, "kappa": kappa,
           "pairs_mean": float(agree.groupby("fold").size().mean()) if len(agree) else 0.0,
           "accuracy": _fold_mean(agree.groupby("fold")["error"].mean().tolist())}
    row["accuracy_ci_low"], row["accuracy_ci_high"] = _with_ci(agree, clusters)
    if np.isfinite(kappa):
        row["kappa_ci_low"], row["kappa_ci_high"] = draws.interval(taller, weighted_kappa, "true_taller", "pred_taller")
    rows.append(row)
    return rows


def morphology_tables(table: RunTable, clusters: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """``morphology.csv`` and ``morphology_summary.csv`` rows of one test set, and the runs left out."""
    shapes, summary, left_out = [], [], []
    for run in table.runs:
        if not recorded(run.per_image, "true_area"):
            left_out.append(f"{run.title}: shapes {NOT_RECORDED} (scored before busbench recorded them)")
            continue
        for scored in scored_sets(run):
            if not recorded(scored.per_image, "true_area"):
                continue
            frame = lesion_shapes(scored)
            shapes.append(frame.assign(test_set=table.title, dataset=run.dataset_title))
            summary += [{"test_set": table.title, "dataset": run.dataset_title, "model": scored.model,
                         "variant": scored.variant, **row} for row in agreement(frame, clusters)]
    first = ["test_set", "dataset", "model", "variant", "fold", "case_id"]
    per_image = pd.concat(shapes, ignore_index=True) if shapes else pd.DataFrame(columns=[*first, *SHAPE_COLUMNS])
    return per_image[[*first, *SHAPE_COLUMNS]], pd.DataFrame(summary, columns=SUMMARY_COLUMNS), left_out
