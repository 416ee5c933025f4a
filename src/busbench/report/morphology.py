"""Whether segmentations keep the lesion's morphology (BUS-Set, Thomas et al., Medical Physics 2023):
the true and predicted shape of every lesion image (``evaluate.shape``: depth-to-width ratio,
circularity, elongation, area, centroid error), and per model and row type how well they agree.

* ``morphology.csv``: per lesion image and prediction set (``fold`` 0 for an ensemble), the true and
  predicted descriptors; a missed lesion (empty prediction) has no predicted shape (empty cells).
* ``morphology_summary.csv``: per model, row type and descriptor, over the lesion images whose
  prediction is not empty: Pearson's and Spearman's correlation of predicted with true values, and
  the mean absolute error (centroid error: its mean), each the mean over the fold models; the MAE's
  95 % CI is the report's cluster bootstrap of the per-image error averaged over the fold models.
  Row ``taller than wide`` (depth-to-width > 1, a BI-RADS sign of malignancy): agreement of the
  prediction with the truth as accuracy (with CI) and Cohen's kappa.
Runs scored before the shapes were recorded (no ``true_depth_width`` column) are left out, and said so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from busbench.evaluate.shape import DESCRIPTORS, SHAPE_COLUMNS
from busbench.report.collect import RunTable
from busbench.report.scored_sets import NOT_RECORDED, ScoredSet, has_lesion, recorded, scored_sets
from busbench.report.statistics import bootstrap_ci

TALLER = "taller than wide"
CENTROID = "centroid_error"
MIN_PAIRS = 3  # a correlation of fewer pairs is not reported


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa of two boolean ratings of the same items (NaN when chance agreement is total)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    observed = float(np.mean(a == b))
    chance = float(a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean()))
    return np.nan if chance == 1 else (observed - chance) / (1 - chance)


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
    return shapes.assign(model=scored.model, variant=scored.variant)


def _with_ci(errors: pd.DataFrame, clusters: pd.Series) -> tuple[float, float]:
    per_image = errors.groupby("case_id")["error"].mean().dropna()
    if per_image.empty:
        return np.nan, np.nan
    return bootstrap_ci(per_image.to_numpy(), clusters.reindex(per_image.index).to_numpy())


def agreement(shapes: pd.DataFrame, clusters: pd.Series) -> list[dict[str, object]]:
    """The ``morphology_summary.csv`` rows of one prediction set (``lesion_shapes``)."""
    rows: list[dict[str, object]] = []
    found = shapes[shapes["pred_area"].notna()]
    base = {"lesion_images": shapes["case_id"].nunique(),
            "missed_mean": float(shapes.groupby("fold")["pred_area"].apply(lambda s: s.isna().sum()).mean())}
    for name in (*DESCRIPTORS, CENTROID):
        pairs = found.dropna(subset=[CENTROID] if name == CENTROID else [f"true_{name}", f"pred_{name}"])
        if name == CENTROID:
            errors = pairs.assign(error=pairs[CENTROID])
            pearson = spearman = np.nan
        else:
            errors = pairs.assign(error=(pairs[f"pred_{name}"] - pairs[f"true_{name}"]).abs())
            by_fold = list(pairs.groupby("fold"))
            pearson = _fold_mean([_correlation("pearson", f[f"true_{name}"].to_numpy(), f[f"pred_{name}"].to_numpy())
                                  for _, f in by_fold])
            spearman = _fold_mean([_correlation("spearman", f[f"true_{name}"].to_numpy(),
                                                f[f"pred_{name}"].to_numpy()) for _, f in by_fold])
        low, high = _with_ci(errors, clusters)
        rows.append({**base, "descriptor": name, "pairs_mean": float(errors.groupby("fold").size().mean())
                     if len(errors) else 0.0, "pearson": pearson, "spearman": spearman,
                     "mae": _fold_mean(errors.groupby("fold")["error"].mean().tolist()), "mae_ci_low": low,
                     "mae_ci_high": high, "accuracy": np.nan, "accuracy_ci_low": np.nan,
                     "accuracy_ci_high": np.nan, "kappa": np.nan})
    rated = found.dropna(subset=["true_depth_width", "pred_depth_width"])
    taller = rated.assign(true_taller=rated["true_depth_width"] > 1, pred_taller=rated["pred_depth_width"] > 1)
    agree = taller.assign(error=(taller["true_taller"] == taller["pred_taller"]).astype(float))
    low, high = _with_ci(agree, clusters)
    rows.append({**base, "descriptor": TALLER, "pairs_mean": float(agree.groupby("fold").size().mean())
                 if len(agree) else 0.0, "pearson": np.nan, "spearman": np.nan, "mae": np.nan, "mae_ci_low": np.nan,
                 "mae_ci_high": np.nan, "accuracy": _fold_mean(agree.groupby("fold")["error"].mean().tolist()),
                 "accuracy_ci_low": low, "accuracy_ci_high": high,
                 "kappa": _fold_mean([cohen_kappa(f["true_taller"].to_numpy(), f["pred_taller"].to_numpy())
                                      for _, f in taller.groupby("fold")])})
    return rows


def morphology_tables(table: RunTable, clusters: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """``morphology.csv`` and ``morphology_summary.csv`` rows of one test set, and the runs left out."""
    shapes, summary, left_out = [], [], []
    for run in table.runs:
        if not recorded(run.per_image, "true_area"):
            left_out.append(f"{run.model}: shapes {NOT_RECORDED} (scored before busbench recorded them)")
            continue
        for scored in scored_sets(run):
            if not recorded(scored.per_image, "true_area"):
                continue
            frame = lesion_shapes(scored)
            shapes.append(frame.assign(test_set=table.key, dataset=run.dataset))
            summary += [{"test_set": table.key, "dataset": run.dataset, "model": scored.model,
                         "variant": scored.variant, **row} for row in agreement(frame, clusters)]
    first = ["test_set", "dataset", "model", "variant", "fold", "case_id"]
    per_image = pd.concat(shapes, ignore_index=True) if shapes else pd.DataFrame(columns=[*first, *SHAPE_COLUMNS])
    return per_image[[*first, *SHAPE_COLUMNS]], pd.DataFrame(summary), left_out
