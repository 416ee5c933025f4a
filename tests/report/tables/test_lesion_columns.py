"""The main table's lesion and normal columns and its † marks, against values computed here by hand
from small per-image frames (never by the code under test)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from busbench.evaluate.aggregate import ENSEMBLE, FOLD_MODELS
from busbench.report.statistics.units import units_of
from busbench.report.tables.latex import FloatText, to_latex
from busbench.report.tables.model_rows import accuracy_figures, mark_differences
from busbench.report.tables.publication import accuracy_numbers, display_table, notes

METRICS = ("dice", "iou", "precision", "recall", "specificity", "accuracy", "hd95", "nsd")


def _frame(dice: list[float], lesion: list[bool], fold: int = 0) -> pd.DataFrame:
    """Per-image scores of one prediction set; Dice 0 means an empty prediction, as the scorer writes it."""
    cases = []
    for value, has in zip(dice, lesion):
        if has:
            cases.append("" if value > 0 else "missed_lesion")
        else:
            cases.append("both_empty" if value == 1 else "false_alarm")
    frame = pd.DataFrame({"case_id": [f"c{i:02d}" for i in range(len(dice))], "fold": fold,
                          "label": ["benign" if has else "normal" for has in lesion], "empty_case": cases})
    for metric in METRICS:
        frame[metric] = np.asarray(dice, dtype=float) if metric != "hd95" else 100 * (1 - np.asarray(dice))
    frame["nsd"] = frame["nsd"] / 2  # NSD apart from Dice, so that a column mixing them up shows
    frame["nsd_tolerance"] = 2.0
    return frame


LESION = [True] * 6 + [False] * 3
FOLD_1 = [0.0, 0.8, 0.6, 0.7, 0.9, 0.5, 1.0, 0.0, 1.0]  # misses lesion c00, a false alarm on c07
FOLD_2 = [0.4, 0.6, 0.6, 0.9, 0.7, 0.7, 0.0, 0.0, 1.0]  # finds c00, false alarms on c06 and c07


def _row(variant: str, per_image: pd.DataFrame, model: str = "m") -> dict[str, object]:
    return {"model": model, **accuracy_figures(variant, per_image, units_of([per_image]))}


def test_lesion_columns_false_alarms_sensitivity_and_all_images_by_hand() -> None:
    folds = pd.concat([_frame(FOLD_1, LESION, 1), _frame(FOLD_2, LESION, 2)], ignore_index=True)
    row = _row(FOLD_MODELS, folds)
    lesion_means = [np.mean(FOLD_1[:6]), np.mean(FOLD_2[:6])]
    assert row["dice_lesion_mean"] == pytest.approx((3.5 / 6 + 3.9 / 6) / 2)
    assert row["dice_lesion_mean"] == pytest.approx(np.mean(lesion_means))
    assert row["dice_lesion_std"] == pytest.approx(np.std(lesion_means, ddof=1))
    assert row["hd95_lesion_mean"] == pytest.approx(100 * (1 - np.mean(lesion_means)))
    assert row["nsd_lesion_mean"] == pytest.approx(np.mean(lesion_means) / 2)
    # a fold-model row: per image, the share of fold models that predict a lesion, averaged over images
    assert row["sensitivity"] == pytest.approx((0.5 + 5 * 1.0) / 6)
    assert row["false_alarm_rate"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert row["dice_all_mean"] == pytest.approx((np.mean(FOLD_1) + np.mean(FOLD_2)) / 2)
    assert row["lesion_images"] == 6 and row["normal_images"] == 3
    table = pd.DataFrame([row])
    shown = display_table(table, ("", ""))
    assert shown.columns.tolist() == ["Model", "Row", "Dice (lesion)", "Dice (lesion) 95 % CI", "IoU (lesion)",
                                      "NSD@2px (lesion)", "HD95 (lesion, px)", "HD95 (lesion) 95 % CI",
                                      "Sensitivity (lesion)", "False alarms (normal)", "Dice (all)"]
    nsd = np.array(lesion_means) / 2
    assert shown.loc[0, "NSD@2px (lesion)"] == f"{nsd.mean():.3f} ± {nsd.std(ddof=1):.3f}"
    assert shown.loc[0, "False alarms (normal)"] == "50.0%" and shown.loc[0, "Sensitivity (lesion)"] == "91.7%"
    note = notes(table.assign(ci="CI text", degenerate_folds=0))
    assert "the 6 test images whose ground truth holds a lesion" in note and "the 3 normal test images" in note
    assert "Dice (all): all 9 test images, with the empty-mask rule: both masks empty, Dice 1; one empty, Dice 0" \
        in note


def test_a_test_set_without_normal_images_has_no_false_alarm_or_all_image_column() -> None:
    frame = _frame(FOLD_1[1:6], [True] * 5)
    row = _row(ENSEMBLE, frame)
    assert row["dice_lesion_mean"] == pytest.approx(np.mean(FOLD_1[1:6])) and np.isnan(row["false_alarm_rate"])
    table = mark_differences(pd.DataFrame([row]), [frame], units_of([frame]))
    shown = display_table(table, ("", ""))
    assert "False alarms (normal)" not in shown and "Dice (all)" not in shown and "Sensitivity (lesion)" in shown
    assert "false_alarm_rate" not in accuracy_numbers(table) and "dice_all_mean" not in accuracy_numbers(table)
    assert "No normal test images (all 5 hold a lesion)" in notes(table.assign(ci="CI", degenerate_folds=0))


def _marked_table() -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Three rows on 12 lesion and 12 normal images: "best"; "worse", clearly lower on lesion images;
    "tied", level with "best" on lesion images but a false alarm on every normal image (worse on all images)."""
    rng = np.random.default_rng(3)
    best = rng.uniform(0.6, 0.9, 12).round(3)
    lesion = {"best": best, "worse": (best - rng.uniform(0.1, 0.3, 12)).round(3),
              "tied": (best + np.array([0.02, -0.03, 0.01, -0.01, 0.03, -0.02, 0.01, -0.02, 0.02, -0.01, 0.0, -0.01]))}
    normal = {"best": [1.0] * 12, "worse": [1.0] * 12, "tied": [0.0] * 12}
    is_lesion = [True] * 12 + [False] * 12
    frames = {name: _frame([*lesion[name], *normal[name]], is_lesion) for name in lesion}
    units = units_of(list(frames.values()))
    rows = pd.DataFrame([{"model": name, **accuracy_figures(ENSEMBLE, frame, units)} for name, frame in frames.items()])
    return mark_differences(rows, list(frames.values()), units), lesion


def test_the_dagger_marks_exactly_the_rows_the_holm_corrected_wilcoxon_says_differ() -> None:
    table, lesion = _marked_table()
    raw = {name: stats.wilcoxon(lesion["best"] - lesion[name]).pvalue for name in ("worse", "tied")}
    ordered = sorted(raw, key=raw.__getitem__)  # Holm over the two comparisons with the best row
    adjusted = {ordered[0]: min(1.0, 2 * raw[ordered[0]])}
    adjusted[ordered[1]] = max(adjusted[ordered[0]], min(1.0, raw[ordered[1]]))
    expected = {name for name, p in adjusted.items() if p < 0.05}
    assert expected == {"worse"}  # the data do what they are built for: the tie is no difference on lesion images
    shown = display_table(table, ("", ""))
    marked = {model for model, row in zip(table["model"], shown["Row"]) if row.endswith("†")}
    assert marked == expected and shown.loc[0, "Row"] == "ensemble"  # the best row itself is never marked
    assert table.set_index("model").loc["worse", "p_holm_vs_best"] == pytest.approx(adjusted["worse"])
    note = notes(table)
    assert ("† differs from the best row, best ensemble, by the Holm-corrected paired Wilcoxon test (p < 0.05) on "
            "lesion Dice, lesion images only (n = 12), paired by image") in note
    latex = to_latex(shown, FloatText("caption", note, "label"))
    assert "ensemble$^\\dagger$ &" in latex and latex.count("$^\\dagger$") == 2  # the row and the note
    assert accuracy_numbers(table).set_index("model")["differs_from_best"].to_dict() == {
        "best": False, "worse": True, "tied": False}


def _seeds(per_seed: list[list[list[float]]], lesion: list[bool]) -> pd.DataFrame:
    """One model's fold models of several training seeds, renumbered across seeds as ``merge_seeds`` does."""
    frames, fold = [], 0
    for seed, folds in enumerate(per_seed):
        for dice in folds:
            fold += 1
            frames.append(_frame(dice, lesion, fold).assign(seed=seed))
    return pd.concat(frames, ignore_index=True)


def test_with_several_seeds_the_dagger_tests_seed_averaged_lesion_dice_and_the_seed_sd_is_the_lesion_dices() -> None:
    rng = np.random.default_rng(5)
    is_lesion = [True] * 10 + [False] * 4
    base = rng.uniform(0.55, 0.9, 10)
    # per seed, two fold models; "other" is below "best" on lesion images but better on the normal ones
    best = [[[*(base + rng.normal(0, 0.05, 10)).clip(0.05, 1), 0.0, 0.0, 1.0, 1.0] for _ in range(2)] for _ in range(2)]
    other = [[[*(base - shift + rng.normal(0, 0.05, 10)).clip(0.05, 1), 1.0, 1.0, 1.0, 1.0] for _ in range(2)]
             for shift in (0.02, 0.2)]  # seed 0 close to "best", seed 1 far below
    frames = {"best": _seeds(best, is_lesion), "other": _seeds(other, is_lesion)}
    units = units_of(list(frames.values()))
    rows = pd.DataFrame([{"model": name, **accuracy_figures(FOLD_MODELS, frame, units)}
                         for name, frame in frames.items()])
    table = mark_differences(rows, list(frames.values()), units).set_index("model")
    # by hand: each lesion image's Dice averaged over both seeds' fold models, then Wilcoxon (one comparison: no Holm)
    averaged = {name: np.mean([folds[i][:10] for folds in runs for i in range(2)], axis=0)
                for name, runs in (("best", best), ("other", other))}
    assert table.loc["other", "p_holm_vs_best"] == pytest.approx(
        stats.wilcoxon(averaged["best"] - averaged["other"]).pvalue)
    seed_means = {name: [np.mean([folds[i][:10] for i in range(2)]) for folds in runs]
                  for name, runs in (("best", best), ("other", other))}
    assert table.loc["other", "dice_lesion_seed_sd"] == pytest.approx(np.std(seed_means["other"], ddof=1))
    assert table.loc["other", "dice_lesion_mean"] == pytest.approx(np.mean(seed_means["other"]))
    assert table.loc["other", "dice_all_mean"] > table.loc["best", "dice_all_mean"]  # the normal images differ
    shown = display_table(table.reset_index(), ("", ""))
    assert shown.columns.tolist()[2:6] == ["Dice (lesion)", "Dice (lesion) 95 % CI", "Dice seed SD (lesion)", "Seeds"]
    assert shown["Dice seed SD (lesion)"].tolist() == [f"{np.std(seed_means[m], ddof=1):.3f}" for m in table.index]
