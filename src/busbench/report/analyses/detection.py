"""Image-level lesion detection: how often a model finds a lesion where there is one, and how often
it calls a normal image abnormal (what a clinic needs to know before trusting a segmentation).

Per model and row type (fold models, ensemble, ensemble + post-processing; an outside method's
prediction set), over the test images, positive = the ground truth holds a lesion:

* the prediction is "any lesion pixel" (the row's scored mask, after its post-processing, is not
  empty): ``sensitivity`` = share of lesion images with a prediction, ``specificity`` = share of
  normal images without one (1 - the false-alarm rate);
* the score is the image's highest lesion probability (``max_prob`` of the per-image scores, before
  post-processing, so the post-processed row's AUROC is the ensemble's): ``auroc``. Runs scored
  before ``max_prob`` was recorded, and outside methods (masks only), say "not recorded".

Fold models: each figure is the mean over the k fold models (for sensitivity and specificity, the
mean over images of the share of fold models that detect). The 95 % CIs are the report's cluster
bootstrap (``statistics.bootstrap_ci``: whole patients/duplicate groups drawn, percentile, 10 000
draws); the AUROC's uses the same draws, each weighting an image by how often its group was drawn,
and takes the mean AUROC of the fold models on each draw (no DeLong: it assumes independent images).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from busbench.report.collect import RunTable
from busbench.report.scored_sets import NOT_RECORDED, ScoredSet, image_detection, recorded, scored_sets
from busbench.report.statistics.intervals_and_tests import LEVEL, bootstrap_ci, cluster_draw_weights, percentile_ci


def pair_wins(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """(positives x negatives): 1 where the positive scores higher, 0.5 on a tie (Mann-Whitney)."""
    wins: np.ndarray = (positive[:, None] > negative[None, :]) + 0.5 * (positive[:, None] == negative[None, :])
    return wins


def auroc_draws(scores: pd.DataFrame, lesion: pd.Series, clusters: pd.Series) -> tuple[float, np.ndarray]:
    """Mean AUROC of the columns of ``scores`` (rows: images, one column per fold model) and its value
    on each of the report's cluster bootstrap draws; ``lesion`` and ``clusters`` are indexed like ``scores``."""
    positive, negative = lesion.to_numpy(bool), ~lesion.to_numpy(bool)
    wins = [pair_wins(scores[c].to_numpy()[positive], scores[c].to_numpy()[negative]) for c in scores.columns]
    point = float(np.mean([w.mean() for w in wins]))
    weights = cluster_draw_weights(clusters.to_numpy())
    w_pos, w_neg = weights[:, positive], weights[:, negative]
    pairs = w_pos.sum(axis=1) * w_neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = np.mean([((w_pos @ w) * w_neg).sum(axis=1) / pairs for w in wins], axis=0)
    return point, draws


def auroc_with_ci(scores: pd.DataFrame, lesion: pd.Series, clusters: pd.Series,
                  level: float = LEVEL) -> tuple[float, float, float]:
    """``auroc_draws``' point and the percentile CI of its draws (a draw without lesion or normal images left out)."""
    point, draws = auroc_draws(scores, lesion, clusters)
    return (point, *percentile_ci(draws, level))


def max_probabilities(scored: ScoredSet, index: pd.Index) -> pd.DataFrame:
    """(images x fold models): each image's highest lesion probability, the detection score."""
    return scored.per_image.pivot_table(index="case_id", columns="fold", values="max_prob").reindex(index)


def _share_with_ci(values: pd.Series, clusters: pd.Series) -> tuple[float, float, float]:
    if values.empty:
        return np.nan, np.nan, np.nan
    low, high = bootstrap_ci(values.to_numpy(), clusters.reindex(values.index).to_numpy())
    return float(values.mean()), low, high


def detection_row(scored: ScoredSet, clusters: pd.Series) -> dict[str, object]:
    """One ``detection.csv`` row (without its test set and dataset)."""
    frame = scored.per_image
    lesion, detected = image_detection(frame)
    row: dict[str, object] = {"model": scored.model, "variant": scored.variant,
                              "lesion_images": int(lesion.sum()), "normal_images": int((~lesion).sum())}
    for name, values in (("sensitivity", detected[lesion]), ("specificity", 1 - detected[~lesion])):
        row[name], row[f"{name}_ci_low"], row[f"{name}_ci_high"] = _share_with_ci(values, clusters)
    row["auroc"] = row["auroc_ci_low"] = row["auroc_ci_high"] = np.nan
    if not recorded(frame, "max_prob"):
        row["auroc_note"] = (f"{NOT_RECORDED}: the per-image scores hold no image-level lesion probability "
                             "(scored before busbench recorded it, or masks only)")
    elif lesion.all() or not lesion.any():
        row["auroc_note"] = "needs lesion and normal test images"
    else:
        row["auroc"], row["auroc_ci_low"], row["auroc_ci_high"] = auroc_with_ci(
            max_probabilities(scored, lesion.index), lesion, clusters.reindex(lesion.index))
        row["auroc_note"] = ""
    return row


def detection_table(table: RunTable, clusters: pd.Series) -> pd.DataFrame:
    """``detection.csv`` rows of one test set: every model and row type."""
    rows = [{"test_set": table.title, "dataset": run.dataset_title, **detection_row(scored, clusters)}
            for run in table.runs for scored in scored_sets(run)]
    return pd.DataFrame(rows)
