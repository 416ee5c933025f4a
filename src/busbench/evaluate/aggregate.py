"""From per-image test metrics to per-fold summaries and mean ± std over the k fold models.

Each fold model is scored on the same held-out test set; a fold's score is the mean over test
images, and the table reports the mean and sample standard deviation (ddof=1) of the k fold
scores. Empty-mask cases are counted per fold model and reported beside every table.

A fold model that misses at least 90 % of the test set's lesion images is flagged as degenerate:
it has learnt to predict (almost) nothing, and its mean can still look good on a test set rich in
normal images, where an empty prediction scores Dice 1. The summary counts such fold models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from busbench.errors import BusbenchError
from busbench.metrics.per_image import BOTH_EMPTY, FALSE_ALARM, METRICS, MISSED_LESION, NSD_TOLERANCE

EMPTY_CASES = (BOTH_EMPTY, MISSED_LESION, FALSE_ALARM)
DEGENERATE = "degenerate"  # a fold model that misses >= DEGENERATE_MISSED_SHARE of the lesion images
DEGENERATE_MISSED_SHARE = 0.9
FOLD_MODELS = "fold models"  # mean ± std over the k fold models
ENSEMBLE = "ensemble"  # the k fold models' probabilities averaged: one model, no std
ENSEMBLE_POSTPROCESSED = "ensemble + post-processing"


def nsd_tolerance(per_image: pd.DataFrame) -> float:
    """The one NSD tolerance of a table of per-image scores (busbench writes one per table)."""
    values = per_image[NSD_TOLERANCE].unique()
    if len(values) != 1:
        raise BusbenchError(f"per-image scores with NSD tolerances {sorted(float(v) for v in values)}: one table "
                            "holds the scores of one eval.nsd_tolerance; score the images again with one tolerance")
    return float(values[0])


def fold_summaries(per_image: pd.DataFrame) -> pd.DataFrame:
    """One row per fold: the mean of every metric, the NSD tolerance, the test images and the empty-mask counts."""
    grouped = per_image.groupby("fold")
    summary = grouped[list(METRICS)].mean()
    summary["test_images"] = grouped.size()
    summary[NSD_TOLERANCE] = nsd_tolerance(per_image)
    for case in EMPTY_CASES:
        summary[case] = (per_image["empty_case"] == case).groupby(per_image["fold"]).sum().astype(int)
    # a lesion image has a non-empty ground truth: found ("") or missed
    summary["lesion_images"] = grouped["empty_case"].apply(lambda s: int(s.isin(["", MISSED_LESION]).sum()))
    lesion_images = summary["lesion_images"].where(summary["lesion_images"] > 0)  # none: NaN, never flagged
    summary["missed_lesion_share"] = summary[MISSED_LESION] / lesion_images
    summary[DEGENERATE] = summary["missed_lesion_share"] >= DEGENERATE_MISSED_SHARE
    return summary


# a row of a summary table: a dict (``mean_std`` and its labels) or a table's row; its values are of mixed types
SummaryRow = Mapping[str, Any] | pd.Series


def mean_std(folds: pd.DataFrame) -> dict[str, float]:
    """Mean and sample std over fold models of every column of ``fold_summaries``, and the number
    of degenerate fold models (``degenerate_folds``), and the NSD tolerance they were scored at."""
    result: dict[str, float] = {"folds": float(len(folds)), "degenerate_folds": float(folds[DEGENERATE].sum()),
                                NSD_TOLERANCE: nsd_tolerance(folds)}
    for column in folds.columns.drop([DEGENERATE, NSD_TOLERANCE]):
        result[f"{column}_mean"] = float(folds[column].mean())
        result[f"{column}_std"] = float(folds[column].std(ddof=1)) if len(folds) > 1 else 0.0
    return result


METRIC_TITLES = {"dice": "Dice", "iou": "IoU", "precision": "Precision", "recall": "Recall",
                 "specificity": "Specificity", "accuracy": "Accuracy", "hd95": "HD95", "nsd": "NSD"}


def metric_title(name: str, unit: bool = True, tolerance: float | None = None) -> str:
    """A metric's column title: ``HD95 (px)`` in run summaries; without the unit (``unit=False``)
    in publication tables, whose columns are as the published tables name them. NSD names its
    ``tolerance`` (``NSD@2px``), for a figure is only comparable with one at the same tolerance."""
    if name == "nsd" and tolerance is not None:
        return f"{METRIC_TITLES[name]}@{tolerance:g}px"
    return METRIC_TITLES[name] + (" (px)" if unit and name == "hd95" else "")


def metric_places(name: str) -> int:
    """Decimals shown for a metric: a score three, HD95 (in pixels) two (the report's ``number_format`` rule)."""
    return 2 if name == "hd95" else 3


def mean_std_text(mean: float, std: float | None, places: int) -> str:
    """``mean ± std``, or the mean alone where there is no std (an ensemble, one prediction set)."""
    if std is None or pd.isna(std):
        return f"{mean:.{places}f}"
    return f"{mean:.{places}f} ± {std:.{places}f}"


COLUMN_TITLES = {
    **{name: metric_title(name) for name in METRIC_TITLES}, "test_images": "test images",
    BOTH_EMPTY: "normal, predicted empty", MISSED_LESION: "missed lesions", FALSE_ALARM: "false alarms",
}


def formatted(row: SummaryRow) -> dict[str, str]:
    """Display strings of a ``mean_std`` row: ``mean ± std`` for fold models, the value for an ensemble."""
    out = {"variant": str(row.get("variant", FOLD_MODELS))}
    spread = out["variant"] == FOLD_MODELS
    for name, title in COLUMN_TITLES.items():
        if name == "nsd":
            tolerance = row.get(NSD_TOLERANCE)
            if tolerance is None or pd.isna(tolerance):  # a summary written before busbench scored NSD
                continue
            title = metric_title(name, tolerance=float(tolerance))
        mean, std = float(row[f"{name}_mean"]), float(row[f"{name}_std"])
        if name == "test_images":
            out[title] = f"{mean:.0f}"
            continue
        places = (1 if spread else 0) if name in EMPTY_CASES else metric_places(name)
        out[title] = mean_std_text(mean, std if spread else None, places)
    out[DEGENERATE_TITLE] = degenerate_mark(row)
    return out


DEGENERATE_TITLE = f"degenerate (miss ≥ {DEGENERATE_MISSED_SHARE:.0%} of lesions)"


def degenerate_mark(row: SummaryRow) -> str:
    """"" when no model of the row is degenerate, else a visible mark with how many are."""
    count, folds = int(float(row["degenerate_folds"])), int(float(row["folds"]))
    return "" if count == 0 else f"⚠ {count} of {folds}"
