"""Per-fold summaries flag fold models that miss (almost) every lesion of the test set."""

from __future__ import annotations

import pandas as pd
import pytest

from busbench.errors import BusbenchError
from busbench.evaluate.aggregate import DEGENERATE_TITLE, fold_summaries, formatted, mean_std


def _fold(fold: int, missed: int, found: int, normal: int) -> pd.DataFrame:
    """``missed`` + ``found`` lesion images and ``normal`` normal images predicted empty."""
    cases = ["missed_lesion"] * missed + [""] * found + ["both_empty"] * normal
    dice = [0.0] * missed + [0.8] * found + [1.0] * normal
    return pd.DataFrame({"fold": fold, "case_id": [f"c{i}" for i in range(len(cases))], "dice": dice, "iou": dice,
                         "precision": dice, "recall": dice, "specificity": 1.0, "accuracy": 1.0, "hd95": 0.0,
                         "nsd": dice, "nsd_tolerance": 2.0,
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


def test_nsd_is_averaged_and_titled_with_the_tolerance_it_was_scored_at() -> None:
    scores = pd.concat([_fold(1, 1, 3, 0), _fold(2, 0, 4, 0)])
    row = mean_std(fold_summaries(scores))
    assert row["nsd_mean"] == pytest.approx((0.6 + 0.8) / 2) and row["nsd_tolerance"] == 2.0
    assert "nsd_tolerance_mean" not in row  # a setting, not averaged
    shown = formatted(row)
    assert shown["NSD@2px"] == "0.700 ± 0.141" and "NSD" not in shown
    wide = mean_std(fold_summaries(scores.assign(nsd_tolerance=5.0)))
    assert "NSD@5px" in formatted(wide) and "NSD@2px" not in formatted(wide)
    old = {k: v for k, v in row.items() if not k.startswith("nsd")}  # a summary written before NSD: no column
    assert not any(title.startswith("NSD") for title in formatted({**old, "nsd_tolerance": float("nan")}))


def test_scores_at_two_nsd_tolerances_in_one_table_are_refused() -> None:
    mixed = pd.concat([_fold(1, 0, 4, 0), _fold(2, 0, 4, 0).assign(nsd_tolerance=1.0)])
    with pytest.raises(BusbenchError, match=r"NSD tolerances \[1.0, 2.0\].*one eval.nsd_tolerance"):
        fold_summaries(mixed)
