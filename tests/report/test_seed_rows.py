"""Several training seeds (``train.seeds``): one cell per seed on the same split and folds, merged by the
report into one row per model whose figures average the seeds, with the seed-to-seed SD beside them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fake_results import write_run

from busbench import pipeline
from busbench.config import load_config
from busbench.errors import BusbenchError
from busbench.report.build import build_report
from busbench.report.collect import collect_runs, tables_by_test_set
from busbench.report.statistics.intervals_and_tests import bootstrap_ci


def test_three_seeds_make_three_cells_and_one_row_whose_seed_sd_is_the_cells(tmp_path: Path) -> None:
    cfg = load_config(None, ["name=s", f"output_dir={tmp_path / 'runs'}", "data.options.count=30",
                             "data.options.size=40", "input.size=32", "model.kwargs.base_channels=4", "split.folds=2",
                             "train.epochs=4", "optimizer.lr=0.01", "train.batch_size=4", "train.augmentation=none",
                             "loss.name=dice", "eval.postprocess=false", "train.seeds=[0, 1, 2]"])
    pipeline.run_experiment(cfg)
    dataset = tmp_path / "runs" / "s" / cfg.data.key()
    cells = sorted(p.name for p in dataset.iterdir() if p.is_dir())
    assert cells == [f"{cfg.model.key()}-seed{s}" for s in (0, 1, 2)]
    splits = {json.loads((dataset / c / "environment.json").read_text())["split_sha256"] for c in cells}
    assert len(splits) == 1  # one split for every seed
    # by hand: each cell's mean Dice over its fold models on the lesion images, from its own per-image file
    per_image = {c: pd.read_csv(dataset / c / "per_image_metrics.csv", keep_default_na=False) for c in cells}
    lesion = {c: frame[frame["empty_case"].isin(["", "missed_lesion"])] for c, frame in per_image.items()}
    assert all(0 < len(lesion[c]) < len(per_image[c]) for c in cells)  # lesion and normal images both present
    cell_means = [lesion[c].groupby("fold")["dice"].mean().mean() for c in cells]
    all_means = [frame.groupby("fold")["dice"].mean().mean() for frame in per_image.values()]
    assert len(set(np.round(cell_means, 12))) == 3  # the seeds trained differently
    build_report(tmp_path / "runs" / "s", tmp_path / "report", qualitative=False)
    merged = tables_by_test_set(collect_runs(tmp_path / "runs" / "s")[0])[0].runs[0]
    assert merged.fold_names == {1: "seed 0, fold 1", 2: "seed 0, fold 2", 3: "seed 1, fold 1", 4: "seed 1, fold 2",
                                 5: "seed 2, fold 1", 6: "seed 2, fold 2"}  # the training curves' legend
    table = pd.read_csv(next((tmp_path / "report" / "tables").glob("*_accuracy.csv")))
    fold_row = table[table["row"] == "fold models"].iloc[0]
    assert fold_row["seeds"] == 3
    assert np.isclose(fold_row["dice_lesion_seed_sd"], np.std(cell_means, ddof=1), atol=1e-6)
    assert np.isclose(fold_row["dice_lesion_mean"], np.mean(cell_means), atol=1e-6)
    assert np.isclose(fold_row["dice_all_mean"], np.mean(all_means), atol=1e-6)
    assert np.isclose(fold_row["dice_all_seed_sd"], np.std(all_means, ddof=1), atol=1e-6)
    ensemble = table[table["row"] == "ensemble"].iloc[0]
    ensembles = [pd.read_csv(dataset / c / "ensemble_metrics.csv", keep_default_na=False).query("variant == 'ensemble'")
                 for c in cells]
    ensemble_means = [e.loc[e["empty_case"].isin(["", "missed_lesion"]), "dice"].mean() for e in ensembles]
    assert np.isclose(ensemble["dice_lesion_mean"], np.mean(ensemble_means), atol=1e-6)
    assert np.isclose(ensemble["dice_lesion_seed_sd"], np.std(ensemble_means, ddof=1), atol=1e-6)
    shown = next((tmp_path / "report" / "tables").glob("*_accuracy.md")).read_text()
    first_line = next(line for line in shown.splitlines() if line.startswith("|"))
    header = [c.strip() for c in first_line.strip("|").split("|")]
    assert header[2:6] == ["Dice (lesion)", "Dice (lesion) 95 % CI", "Dice seed SD (lesion)", "Seeds"]
    assert "3 training seeds" in shown and "standard deviation over seeds of the row's mean lesion Dice" in shown
    assert "train 0, 1, 2, split" in (tmp_path / "report" / "setup.md").read_text()
    # calibration covers every seed's ensemble: ECE of the three cells' bin counts summed per bin, by hand
    counts = pd.concat([pd.read_csv(dataset / c / "ensemble_calibration.csv") for c in cells])
    per_bin = counts.groupby("bin")[["pixels", "lesion_pixels", "prob_sum"]].sum()
    ece = (per_bin["prob_sum"] - per_bin["lesion_pixels"]).abs().sum() / per_bin["pixels"].sum()
    calibration = pd.read_csv(tmp_path / "report" / "calibration.csv").iloc[0]
    assert calibration["pixels"] == counts["pixels"].sum() and np.isclose(calibration["ece"], ece, atol=1e-9)


def test_a_seed_bootstrap_also_draws_seeds() -> None:
    """Two seeds that disagree widen the interval over that of their average; one row is the 1-D interval."""
    rng = np.random.default_rng(0)
    images = rng.uniform(0.5, 0.9, 40)
    assert bootstrap_ci(images[None, :]) == bootstrap_ci(images)
    apart = np.stack([images - 0.1, images + 0.1])
    low, high = bootstrap_ci(apart)
    mean_low, mean_high = bootstrap_ci(apart.mean(axis=0))
    assert low < mean_low - 0.02 and high > mean_high + 0.02
    # a seed's missing score (NaN) is left out of that seed's mean, not counted as 0
    gappy = apart.copy()
    gappy[0, 0] = np.nan
    assert abs(bootstrap_ci(gappy)[0] - low) < 0.01


def test_seeds_whose_folds_have_gaps_keep_every_fold_model_apart(tmp_path: Path) -> None:
    """A time budget left seed 0 with folds 1 and 3 and seed 1 with fold 1: three fold models, three names,
    three logs (renumbering by the count of seed 0's folds, 2, gave seed 1's fold 1 the number of seed 0's fold 3)."""
    dice = [0.8, 0.7, 0.6, 0.0, 1.0]
    labels = ["benign", "benign", "malignant", "benign", "normal"]
    for seed, folds in ((0, (1, 3)), (1, (1,))):
        write_run(tmp_path, "busi", f"unext-seed{seed}", {fold: dice for fold in folds}, labels,
                  settings=("data.dataset=busi", "model.label=unext", "train.seeds=[0, 1]", f"train.seed={seed}"))
    runs, _ = collect_runs(tmp_path / "exp")
    merged = tables_by_test_set(runs)[0].runs[0]
    assert sorted(merged.fold_names.values()) == ["seed 0, fold 1", "seed 0, fold 3", "seed 1, fold 1"]
    assert len(merged.logs) == 3 and merged.per_image["fold"].nunique() == 3


def test_seed_cells_that_differ_in_more_than_their_seed_are_refused(tmp_path: Path) -> None:
    dice = [0.8, 0.7, 0.6, 0.0, 1.0]
    labels = ["benign", "benign", "malignant", "benign", "normal"]
    for seed, lr in ((0, "0.001"), (1, "0.1")):
        write_run(tmp_path, "busi", f"unext-seed{seed}", {1: dice}, labels,
                  settings=("data.dataset=busi", "model.label=unext", "train.seeds=[0, 1]", f"train.seed={seed}",
                            f"optimizer.lr={lr}"))
    with pytest.raises(BusbenchError, match="seed cells of model .* with other settings than their seed; report them"):
        collect_runs(tmp_path / "exp")
