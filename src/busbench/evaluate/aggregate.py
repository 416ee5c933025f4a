"""From per-image test metrics to per-fold summaries and mean ± std over the k fold models.

Each fold model is scored on the same held-out test set; a fold's score is the mean over test
images, and the table reports the mean and sample standard deviation (ddof=1) of the k fold
scores. Empty-mask cases are counted per fold model and reported beside every table.
"""

from __future__ import annotations

import pandas as pd

from busbench.evaluate.metrics import BOTH_EMPTY, FALSE_ALARM, METRICS, MISSED_LESION

EMPTY_CASES = (BOTH_EMPTY, MISSED_LESION, FALSE_ALARM)
FOLD_MODELS = "fold models"  # mean ± std over the k fold models
ENSEMBLE = "ensemble"  # the k fold models' probabilities averaged: one model, no std
ENSEMBLE_POSTPROCESSED = "ensemble + post-processing"


def fold_summaries(per_image: pd.DataFrame) -> pd.DataFrame:
    """One row per fold: the mean of every metric, the test images and the empty-mask counts."""
    grouped = per_image.groupby("fold")
    summary = grouped[list(METRICS)].mean()
    summary["test_images"] = grouped.size()
    for case in EMPTY_CASES:
        summary[case] = grouped["empty_case"].apply(lambda s, c=case: int((s == c).sum()))
    return summary


def mean_std(folds: pd.DataFrame) -> dict[str, float]:
    """Mean and sample std over fold models of every column of ``fold_summaries``."""
    result: dict[str, float] = {"folds": float(len(folds))}
    for column in folds.columns:
        result[f"{column}_mean"] = float(folds[column].mean())
        result[f"{column}_std"] = float(folds[column].std(ddof=1)) if len(folds) > 1 else 0.0
    return result


COLUMN_TITLES = {
    "dice": "Dice", "iou": "IoU", "precision": "Precision", "recall": "Recall", "specificity": "Specificity",
    "accuracy": "Accuracy", "hd95": "HD95 (px)", "test_images": "test images", BOTH_EMPTY: "normal, predicted empty",
    MISSED_LESION: "missed lesions", FALSE_ALARM: "false alarms",
}


def formatted(row: dict[str, object], digits: int = 3) -> dict[str, str]:
    """Display strings of a ``mean_std`` row: ``mean ± std`` for fold models, the value for an ensemble."""
    out = {"variant": str(row.get("variant", FOLD_MODELS))}
    spread = out["variant"] == FOLD_MODELS
    for name, title in COLUMN_TITLES.items():
        mean, std = float(row[f"{name}_mean"]), float(row[f"{name}_std"])  # type: ignore[arg-type]
        if name == "test_images":
            out[title] = f"{mean:.0f}"
            continue
        places = 2 if name == "hd95" else (1 if name in EMPTY_CASES else digits)
        if name in EMPTY_CASES and not spread:
            places = 0
        out[title] = f"{mean:.{places}f} ± {std:.{places}f}" if spread else f"{mean:.{places}f}"
    return out
