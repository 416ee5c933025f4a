"""Per-fold summaries flag fold models that miss (almost) every lesion of the test set."""

from __future__ import annotations

import pandas as pd
import pytest

from busbench.evaluate.aggregate import DEGENERATE_TITLE, fold_summaries, formatted, mean_std


def _fold(fold: int, missed: int, found: int, normal: int) -> pd.DataFrame:
    """``missed`` + ``found`` lesion images and ``normal`` normal images predicted empty."""
    cases = ["missed_lesion"] * missed + [""] * found + ["both_empty"] * normal
    dice = [0.0] * missed + [0.8] * found + [1.0] * normal
    return pd.DataFrame({"fold": fold, "case_id": [f"c{i}" for i in range(len(cases))], "dice": dice, "iou": dice,
                         "precision": dice, "recall": dice, "specificity": 1.0, "accuracy": 1.0, "hd95": 0.0,
                         "empty_case": cases})


def test_a_fold_model_missing_90_percent_of_lesions_is_flagged() -> None:
    # fold 1 misses 9 of 10 lesions (exactly 90 %), fold 2 misses 8 of 10, fold 3 all of them;
    # 30 normal images each, so fold 1 scores (0.8 + 30) / 40 = 0.77 mean Dice: it looks fine
    per_image = pd.concat([_fold(1, 9, 1, 30), _fold(2, 8, 2, 30), _fold(3, 10, 0, 30)])
    folds = fold_summaries(per_image)
    assert folds["lesion_images"].tolist() == [10, 10, 10]
    assert folds["missed_lesion_share"].tolist() == pytest.approx([0.9, 0.8, 1.0])
    assert folds["degenerate"].tolist() == [True, False, True]
    assert folds.loc[1, "dice"] == pytest.approx(0.77)
    row = mean_std(folds)
    assert row["degenerate_folds"] == 2 and "degenerate_mean" not in row
    assert formatted(row)[DEGENERATE_TITLE] == "⚠ 2 of 3"


def test_healthy_fold_models_and_a_test_set_without_lesions_are_not_flagged() -> None:
    folds = fold_summaries(pd.concat([_fold(1, 0, 5, 3), _fold(2, 0, 0, 8)]))
    assert folds["degenerate"].tolist() == [False, False]
    assert pd.isna(folds.loc[2, "missed_lesion_share"])  # no lesion image: nothing to miss
    assert formatted(mean_std(folds))[DEGENERATE_TITLE] == ""
