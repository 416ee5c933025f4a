"""The report a paper prints, on a tiny two-model grid (UNeXt and a width-8 U-Net, 2 folds, one flip
view, fold ensembles): display names everywhere and keys only in the legend, true costs, LaTeX that
compiles and fits a one-column page, every figure as PDF, the setup from the run folders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fake_results import LABELS, A, B, write_run
from pdflatex_check import compile_log, overfull_boxes

from busbench.records import FoldDone, write_done
from busbench.report.build import build_report
from busbench.report.collect import load_run
from busbench.report.figures import plots
from busbench.report.page.setup_section import software_setup
from busbench.report.statistics.intervals_and_tests import bootstrap_ci, critical_difference, nemenyi_q

DATASET_KEY = "busi-6945e458"  # a data key as `busbench run` names the folder
TTA = ("eval.tta=[hflip]",)
# Demšar 2006, Table 5: q_0.05 of the Nemenyi test, the table busbench used before
DEMSAR_Q05 = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102, 10: 3.164}


def _ensemble(scores: dict[int, list[float]], flagged: set[int]) -> pd.DataFrame:
    rows = []
    for variant in ("ensemble", "ensemble + post-processing"):
        for i, (label, dice) in enumerate(zip(LABELS, scores[1])):
            empty = "false_alarm" if i in flagged else ("both_empty" if label == "normal" else "")
            rows.append({"fold": 0, "variant": variant, "case_id": f"c{i:02d}", "label": label, "dice": dice,
                         "iou": dice / (2 - dice), "precision": dice, "recall": dice, "specificity": 1.0,
                         "accuracy": 1.0, "hd95": 10 * (1 - dice), "nsd": dice, "nsd_tolerance": 2.0,
                         "empty_case": empty})
    return pd.DataFrame(rows)


@pytest.fixture()
def grid(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    unext = write_run(root, DATASET_KEY, "unext", A, LABELS, settings=("data.dataset=busi", *TTA),
                      **{"ensemble_metrics.csv": _ensemble(A, {9})})
    unet = write_run(root, DATASET_KEY, "unet_w8", B, LABELS, settings=(
        "data.dataset=busi", "model.name=unet", "model.kwargs={base_channels: 8}", "model.label=unet_w8", *TTA),
        **{"ensemble_metrics.csv": _ensemble(B, {8, 9})})
    for cell in (unext, unet):
        (cell / "environment.json").write_text(json.dumps({
            "busbench": "0.9.0", "git_commit": "0123456789abcdef", "libraries": {"torch": "2.13.0+cpu"},
            "device": "cpu", "python": "3.11.7", "split_file": "split-test0.2-seed42-k5-abcd1234.json",
            "split_sha256": "5" * 64, "manifest_sha256": "m" * 64, "test_set_sha256": "dcb579b0" + "0" * 56}))
        (cell / "postprocessing.json").write_text(json.dumps({"postprocessing": {
            "fill_holes": True, "min_area_fraction": 0.0, "keep_largest": False, "boundary_median": 0}}))
    measured = {"model": "unext", "model_kwargs": "{}", "input": "1x64x64", "tta": "hflip", "precision": "bf16",
                "device": "cpu", "device_name": "Xeon", "batch": 16}  # as `busbench profile --run` writes it
    (root / "profile").mkdir()
    pd.DataFrame([{**measured, "row": "fold models", "networks": 1, "fps": 80.0},
                  {**measured, "row": "ensemble", "networks": 2, "fps": 50.0}]).to_csv(
        root / "profile" / "cost_profile.csv", index=False)
    return root


def _without_setup(page: str) -> str:
    """The HTML page without its setup section (the legend) and the figures' bytes."""
    page = re.sub(r"base64,[^\"]+", "", page)
    return page[:page.index("<h2>Setup</h2>")] + page[page.index("<h2>", page.index("<h2>Setup</h2>") + 5):]


def test_display_names_everywhere_and_keys_only_in_the_legend(grid: Path, tmp_path: Path) -> None:
    report = build_report(grid, tmp_path / "out", qualitative=False)
    out = tmp_path / "out"
    assert report.tables[DATASET_KEY]["model"].unique().tolist() == ["U-Net (width 8)", "UNeXt"]  # by folder
    assert report.titles[DATASET_KEY] == "BUSI, split seed 42, 20 % test"
    shown = [p for p in (out / "tables").iterdir() if p.suffix in (".md", ".tex")]
    shown += [p for p in (out / "statistics").iterdir() if p.suffix == ".md"]
    for path in shown:
        text = re.sub(r"\\(label|typeout)\{[^}]*\}", "", path.read_text())  # references and log lines: not printed
        assert "6945e458" not in text and "unet_w8" not in text and "unet\\_w8" not in text, path.name
        assert "UNeXt" in text, path.name
    assert "| Model | U-Net (width 8) | UNeXt |" in (out / "statistics" / f"{DATASET_KEY}_p_values.md").read_text()
    page = (out / "report.html").read_text()
    assert "6945e458" not in _without_setup(page) and "unet_w8" not in _without_setup(page)
    legend = (out / "setup.md").read_text()
    split = "BUSI, split seed 42, 20 % test"
    assert f"| U-Net (width 8) | {split} | unet_w8 | unet with base_channels=8 |" in legend
    assert f"| {split} | {DATASET_KEY} |" in legend and "dcb579b00000 (from environment.json)" in legend
    caption = (out / "tables" / f"{DATASET_KEY}_accuracy.tex").read_text()
    assert "20~\\% test" in caption and "20 \\%" not in caption  # a tie: the number never ends a line alone


def test_rows_cost_what_they_run(grid: Path, tmp_path: Path) -> None:
    report = build_report(grid, tmp_path / "out", qualitative=False)
    cost = pd.read_csv(tmp_path / "out" / "tables" / f"{DATASET_KEY}_cost.csv")
    unext = cost[cost["model"] == "UNeXt"].set_index("row")
    # 2 fold models x 2 views (plain + hflip): the ensemble runs 4 forward passes per image, a fold model 2
    assert unext["forward_passes"].to_dict() == {"fold models": 2, "ensemble": 4, "ens. + PP": 4}
    single = unext.loc["fold models"]
    assert single["fps"] == 80.0 and unext.loc["ensemble", "fps"] == 50.0  # each row's own measurement, not scaled
    assert unext.loc["ens. + PP", "fps"] == 50.0 and set(unext["fps_precision"]) == {"bf16"}
    assert unext.loc["ensemble", "gflops"] == pytest.approx(2 * single["gflops"], rel=1e-4)  # CSV: 6 digits
    assert unext.loc["ensemble", "params_m"] == pytest.approx(2 * single["params_m"], rel=1e-4)
    unet = cost[cost["model"] == "U-Net (width 8)"]
    assert unet["fps"].isna().all() and unet["fps_note"].str.startswith("not measured").all()  # another variant
    markdown = (tmp_path / "out" / "tables" / f"{DATASET_KEY}_cost.md").read_text()
    assert "k x v forward passes" in markdown
    assert "U-Net (width 8): not measured: run `busbench profile --run" in markdown
    assert "| Images/s (measured, bf16, cpu) |" in markdown
    assert "| UNeXt | fold models | 2 |" in markdown and "|  | ensemble | 4 |" in markdown
    assert report.tables[DATASET_KEY].loc[lambda t: t["row"] == "ensemble", "forward_passes"].tolist() == [4, 4]


def test_csv_and_markdown_hold_the_same_cells(grid: Path, tmp_path: Path) -> None:
    build_report(grid, tmp_path / "out", qualitative=False)
    tables = tmp_path / "out" / "tables"
    numbers = pd.read_csv(tables / f"{DATASET_KEY}_accuracy.csv")
    lines = [line for line in (tables / f"{DATASET_KEY}_accuracy.md").read_text().splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["Model", "Row", "Dice (lesion)", "Dice (lesion) 95 % CI", "IoU (lesion)", "NSD@2px (lesion)",
                      "HD95 (lesion, px)", "HD95 (lesion) 95 % CI", "Sensitivity (lesion)", "False alarms (normal)",
                      "Dice (all)"]
    first = [c.strip() for c in lines[2].strip("|").split("|")]
    row = numbers.iloc[0]
    assert first[0] == row["model"] and first[1] == row["row"] + ("†" if row["differs_from_best"] else "")
    assert first[2].strip("*") == f"{row['dice_lesion_mean']:.3f} ± {row['dice_lesion_std']:.3f}"
    assert first[3] == f"[{row['dice_lesion_ci_low']:.3f}, {row['dice_lesion_ci_high']:.3f}]"
    assert first[5].strip("*") == f"{row['nsd_lesion_mean']:.3f} ± {row['nsd_lesion_std']:.3f}"
    assert row["nsd_tolerance"] == 2.0
    assert first[9].strip("*") == f"{row['false_alarm_rate']:.1%}"
    assert first[10].strip("*") == f"{row['dice_all_mean']:.3f} ± {row['dice_all_std']:.3f}"
    assert len(numbers) == len(lines) - 2


def test_false_alarms_with_their_interval_below_the_table(grid: Path, tmp_path: Path) -> None:
    report = build_report(grid, tmp_path / "out", qualitative=False)
    alarms = report.false_alarms[DATASET_KEY].set_index(["model", "row"])
    # fold models: fold 1 flags normal image 9 (Dice 0), fold 2 flags none: image 9 flagged by 1 of 2 models
    assert alarms.loc[("UNeXt", "fold models"), "false_alarm_rate"] == pytest.approx(0.25)
    assert alarms.loc[("U-Net (width 8)", "ensemble"), "false_alarm_rate"] == pytest.approx(1.0)
    low, high = bootstrap_ci(np.array([0.0, 0.5]))
    assert (alarms.loc[("UNeXt", "fold models"), "ci_low"], alarms.loc[("UNeXt", "fold models"), "ci_high"]) == (
        pytest.approx(low), pytest.approx(high))
    markdown = (tmp_path / "out" / "tables" / f"{DATASET_KEY}_false_alarms.md").read_text()
    assert "| UNeXt | fold models | 2 | 25.0% [" in markdown
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.index("<h3>Accuracy</h3>") < page.index("<h3>False alarms on normal images</h3>") < page.index(
        "<h3>Cost per test image</h3>")


def test_setup_comes_from_the_run_folders(grid: Path, tmp_path: Path) -> None:
    report = build_report(grid, tmp_path / "out", qualitative=False)
    models = report.setup["Models and training"].set_index("Key")
    assert models.loc["unext", "TTA views"] == "plain, hflip"
    assert models.loc["unext", "Post-processing"] == "fill holes"
    assert models.loc["unext", "Epochs run (mean)"] == "2.0 of 100" and models.loc["unext", "Selected by"] == (
        "validation lesion Dice")
    assert models.loc["unext", "Early stopping"] == "patience 20 epochs"
    assert models.loc["unext", "Augmentation"] == ("standard: HorizontalFlip p=0.5, Affine p=0.5, "
                                                   "RandomBrightnessContrast p=0.5, MultiplicativeNoise p=0.3")
    assert models.loc["unext", "Cross-dataset test sets"] == "none"
    assert models.loc["unet_w8", "Input"] == "64 px, 1 ch, letterbox" and models.loc["unet_w8", "Seeds"] == (
        "train 0, split 42")
    software = report.setup["Software and machine"]
    assert software[["busbench", "Commit", "torch", "Device", "Processor", "Fold models"]].values.tolist() == [
        ["0.9.0", "0123456789ab", "2.13.0+cpu", "cpu", "not recorded", 4]]  # environment.json without it
    datasets = report.setup["Datasets and splits"].iloc[0]
    assert datasets["Test images"] == "10 (8 benign, 0 malignant, 2 normal)"
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.index("<h2>Setup</h2>") < page.index("<h3>Accuracy</h3>")
    setup = (tmp_path / "out" / "setup.tex").read_text()
    assert "\\noindent U-Net (width 8): " in setup and "Early stopping: patience 20 epochs" in setup
    assert "unet_w8" not in setup and "unet\\_w8" not in setup  # keys stay in the legend (setup.md)


def test_setup_states_the_time_budget_and_why_each_fold_stopped(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    budgeted = write_run(root, DATASET_KEY, "unext", {1: A[1], 2: A[2], 3: A[1]}, LABELS,
                         settings=("data.dataset=busi", "train.max_minutes=1.5"))
    for fold, reason in ((1, "budget"), (2, "patience"), (3, "budget")):
        write_done(FoldDone(fold=fold, best_epoch=2, best_score=0.5, select_metric="lesion_dice", epochs_run=2,
                            stopped_early=reason == "patience", stop_reason=reason, train_seconds=90.0,
                            test_seconds=1.0, test_images=len(LABELS)), budgeted / f"fold-{fold}")
    write_run(root, DATASET_KEY, "unet_w8", B, LABELS, settings=("data.dataset=busi", "model.name=unet",
                                                                 "model.label=unet_w8"))
    models = build_report(root, tmp_path / "out", qualitative=False).setup["Models and training"].set_index("Key")
    assert models.loc["unext", "Time budget"] == "1.5 min per fold model"
    assert models.loc["unext", "Stopped by (fold models)"] == "budget 2, patience 1"
    assert models.loc["unet_w8", "Time budget"] == "none" and models.loc["unet_w8", "Stopped by (fold models)"] == "–"
    assert "1.5 min per fold model" in (tmp_path / "out" / "setup.md").read_text()


def test_setup_names_the_machine_that_trained_each_fold_model(tmp_path: Path) -> None:
    """Fold 1 trained on an A100 in bf16, fold 2 started later on a V100 in fp16 at a later commit (their
    done.json); fold 3 was scored but its job ended before its done.json, so the cell's environment.json (the
    A100) stands for it: the setup counts each scored fold model where and in which precision it trained."""
    cell = write_run(tmp_path / "runs", DATASET_KEY, "unext", {**A, 3: A[1]}, LABELS, settings=("data.dataset=busi",))
    (cell / "environment.json").write_text(json.dumps({"busbench": "0.9.0", "git_commit": "a" * 40, "device": "cuda",
                                                       "cuda": "NVIDIA A100", "libraries": {"torch": "2.13.0"}}))
    for fold, gpu, commit, precision in ((1, "NVIDIA A100", "a" * 40, "bf16"), (2, "Tesla V100", "b" * 40, "fp16")):
        write_done(FoldDone(fold=fold, best_epoch=2, best_score=0.5, select_metric="lesion_dice", epochs_run=2,
                            stopped_early=False, train_seconds=9.0, test_seconds=1.0, test_images=len(LABELS),
                            environment={"busbench": "0.9.0", "git_commit": commit, "cuda": gpu, "device": "cuda",
                                         "torch": "2.13.0", "precision": precision}), cell / f"fold-{fold}")
    setup = build_report(tmp_path / "runs", tmp_path / "out", qualitative=False).setup
    assert setup["Models and training"].loc[0, "Precision"] == ("bf16 (1 fold model), fp16 (1 fold model) "
                                                                 "(train.amp=auto)")
    software = setup["Software and machine"]
    assert software[["Device", "Commit", "Fold models"]].values.tolist() == [["NVIDIA A100", "a" * 12, 2],
                                                                             ["Tesla V100", "b" * 12, 1]]
    # a pooled cell, shown in two tables (two views of one folder), is counted once
    run = load_run(cell)
    assert not isinstance(run, str), run
    assert software_setup([run, run])["Fold models"].tolist() == [2, 1]


def test_latex_compiles_and_fits_a_column_and_a_two_column_page(grid: Path, tmp_path: Path) -> None:
    build_report(grid, tmp_path / "out", qualitative=False)
    written = sorted((tmp_path / "out" / "tables").glob("*.tex")) + [tmp_path / "out" / "setup.tex"]
    assert len(written) == 7  # accuracy, cost, false alarms: each in one column and table* (_wide); setup
    for tex in written:
        for page in (["two-column"] if tex.stem.endswith("_wide") else ["column", "two-column"]):
            log = compile_log(tex, tmp_path / "latex", page)
            assert overfull_boxes(log) == [], f"{tex.name} is wider or taller than the {page} page"
    wide = (tmp_path / "out" / "tables" / f"{DATASET_KEY}_accuracy_wide.tex").read_text()
    assert wide.startswith("\\begin{table*}") and "NSD" in wide
    narrow = (tmp_path / "out" / "tables" / f"{DATASET_KEY}_accuracy.tex").read_text()
    assert narrow.startswith("\\begin{table}") and "NSD@2px (lesion), Dice (all), $\\pm$ std" in narrow
    assert ": in the two-column (table*) version" in narrow  # after IoU where the column needs it (test_column_fit)


def test_the_width_check_catches_a_table_too_wide(tmp_path: Path) -> None:
    wide = tmp_path / "wide.tex"
    wide.write_text("\\begin{tabular}{" + "l" * 12 + "}\n" + " & ".join(["0.647 $\\pm$ 0.027"] * 12) + " \\\\\n"
                    "\\end{tabular}\n")
    assert overfull_boxes(compile_log(wide, tmp_path / "latex"))


def test_every_figure_exists_as_pdf_and_png(grid: Path, tmp_path: Path) -> None:
    report = build_report(grid, tmp_path / "out", qualitative=False)
    names = sorted(p.stem for p in report.figures[DATASET_KEY])
    assert names == sorted(f"{DATASET_KEY}_{n}" for n in ("dice_forest", "dice_boxplot", "dice_vs_cost",
                                                         "unext_training", "unet_w8_training"))
    for png in report.figures[DATASET_KEY]:
        assert png.suffix == ".png" and png.with_suffix(".pdf").read_bytes().startswith(b"%PDF")


def test_training_curves_mark_the_epoch_the_selection_metric_chose(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    figures: list = []
    monkeypatch.setattr(plots, "save", lambda figure, path: figures.append(figure) or path)
    log = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.9, 0.6, 0.5], "val_dice": [0.9, 0.5, 0.6],
                        "val_lesion_dice": [0.3, 0.7, 0.6]})
    plots.training_curves({1: log}, "val_lesion_dice", "UNeXt on BUSI", tmp_path / "curves")
    plots.training_curves({6: log}, "val_lesion_dice", "UNeXt on BUSI", tmp_path / "seeds", {6: "seed 1, fold 1"})
    legend = [t.get_text() for axis in figures[1].axes if axis.get_legend() for t in axis.get_legend().get_texts()]
    assert legend[0] == "seed 1, fold 1"  # a merged seed's fold model, not "fold 6" of a 5-fold split
    metric_axis = figures[0].axes[1]
    stars = [line for line in metric_axis.get_lines() if line.get_marker() == "*"]
    assert [(s.get_xdata()[0], s.get_ydata()[0]) for s in stars] == [(2, 0.7)]  # not val_dice's epoch 1
    assert metric_axis.get_ylabel() == "validation Dice,\nlesion images"  # the star's legend names best.pt
    for axis in figures[0].axes:  # whole epochs only
        shown = [tick for tick in axis.get_xticks() if 1 <= tick <= 3]
        assert shown and all(float(tick).is_integer() for tick in shown), shown


def test_nemenyi_cd_for_any_number_of_models_matches_demsar_table() -> None:
    for k, q in DEMSAR_Q05.items():
        assert nemenyi_q(k) == pytest.approx(q, abs=1.5e-3)
    assert critical_difference(11, 4) == pytest.approx(nemenyi_q(11) * np.sqrt(11 * 12 / 24))
    assert nemenyi_q(11) > nemenyi_q(10) and nemenyi_q(20) == pytest.approx(3.55, abs=0.01)


def test_one_dataset_says_ranks_need_two_datasets(grid: Path, tmp_path: Path) -> None:
    report = build_report(grid, tmp_path / "out", qualitative=False)
    assert report.ranks is None
    assert report.ranks_note.startswith("No average ranks across datasets: they need two or more datasets")
    assert "need two models" not in (tmp_path / "out" / "report.html").read_text()
