"""`busbench report`: a results folder -> tables, statistics, plots and one HTML page.

Per dataset, every model is scored on the same held-out test images:

* a fold model's score on an image is averaged over the k fold models for the per-image
  statistics (bootstrap CIs, paired tests); the table's mean ± std is over the k fold models;
* the paired tests compare fold-model rows only (ensembles are a different kind of model);
* normal images are also reported on their own: the false-positive rate (share of normal test
  images with any predicted lesion) and the Dice on lesion images only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from busbench.data.io import read_image
from busbench.data.manifest import load_manifest
from busbench.evaluate.aggregate import FOLD_MODELS, fold_summaries, mean_std
from busbench.evaluate.metrics import FALSE_ALARM
from busbench.evaluate.predict import load_run as load_trained_run
from busbench.evaluate.predict import predict_image
from busbench.progress import progress
from busbench.report import plots
from busbench.report.collect import RunResults, collect_runs
from busbench.report.complexity import find_profiles, model_cost
from busbench.report.html import write_html
from busbench.report.markdown import markdown_table
from busbench.report.statistics import (
    average_ranks,
    bootstrap_ci,
    critical_difference,
    p_value_matrix,
    paired_comparisons,
)
from busbench.report.tables import to_latex, to_markdown

REPORTED = ("dice", "iou", "hd95", "precision", "recall")
MAX_QUALITATIVE_MODELS = 6


@dataclass
class Report:
    """Everything the HTML page shows; the files are written as they are made."""

    out: Path
    runs: list[RunResults]
    skipped: list[str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    comparisons: dict[str, pd.DataFrame] = field(default_factory=dict)
    p_values: dict[str, pd.DataFrame] = field(default_factory=dict)
    normal: pd.DataFrame | None = None
    ranks: pd.Series | None = None
    cd: float | None = None
    cross: pd.DataFrame | None = None
    figures: dict[str, list[Path]] = field(default_factory=dict)


def image_scores(per_image: pd.DataFrame, metric: str) -> pd.Series:
    """Per test image, the metric averaged over the fold models (index: case_id)."""
    return per_image.groupby("case_id")[metric].mean()


def _row(run: RunResults, variant: str, per_image: pd.DataFrame, profiles: pd.DataFrame) -> dict[str, object]:
    summary = mean_std(fold_summaries(per_image))
    name = run.model if variant == FOLD_MODELS else f"{run.model} ({variant})"
    row: dict[str, object] = {"dataset": run.dataset, "model": name, "variant": variant}
    for metric in REPORTED:
        row[f"{metric}_mean"] = summary[f"{metric}_mean"]
        row[f"{metric}_std"] = summary[f"{metric}_std"] if variant == FOLD_MODELS else np.nan
    for metric in ("dice", "hd95"):
        row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = bootstrap_ci(image_scores(per_image, metric).to_numpy())
    row.update(model_cost(run.config, profiles))
    row["test_images"] = per_image["case_id"].nunique()
    return row


def dataset_table(runs: list[RunResults], profiles: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for run in runs:
        rows.append(_row(run, FOLD_MODELS, run.per_image, profiles))
        if run.ensemble is not None:
            for variant, scores in run.ensemble.groupby("variant", sort=False):
                rows.append(_row(run, str(variant), scores.assign(fold=0), profiles))
    return pd.DataFrame(rows)


def normal_and_lesion(runs: list[RunResults]) -> pd.DataFrame:
    rows = []
    for run in runs:
        normal = run.per_image[run.per_image["label"] == "normal"]
        lesion = run.per_image[run.per_image["label"] != "normal"]
        fpr = normal.groupby("fold")["empty_case"].apply(lambda s: float((s == FALSE_ALARM).mean()))
        dice = lesion.groupby("fold")["dice"].mean()
        rows.append({"dataset": run.dataset, "model": run.model, "normal_images": normal["case_id"].nunique(),
                     "false_positive_rate_mean": fpr.mean() if len(fpr) else np.nan,
                     "false_positive_rate_std": fpr.std(ddof=1) if len(fpr) > 1 else np.nan,
                     "lesion_images": lesion["case_id"].nunique(), "lesion_dice_mean": dice.mean(),
                     "lesion_dice_std": dice.std(ddof=1) if len(dice) > 1 else np.nan})
    return pd.DataFrame(rows)


def cross_dataset_matrix(runs: list[RunResults]) -> pd.DataFrame | None:
    """Mean Dice of fold models trained on one dataset (rows) and tested on another (columns)."""
    rows = []
    for run in runs:
        rows.append({"model": run.model, "trained_on": run.dataset, "tested_on": run.dataset,
                     "dice": run.per_image.groupby("fold")["dice"].mean().mean()})
        if run.cross is not None:
            for tested_on, scores in run.cross.groupby("test_dataset"):
                rows.append({"model": run.model, "trained_on": run.dataset, "tested_on": tested_on,
                             "dice": scores.groupby("fold")["dice"].mean().mean()})
    frame = pd.DataFrame(rows)
    if frame["tested_on"].nunique() < 2 or not any(r.cross is not None for r in runs):
        return None
    return frame.pivot_table(index=["model", "trained_on"], columns="tested_on", values="dice")


def _qualitative(runs: list[RunResults], scores: pd.DataFrame, out: Path) -> Path | None:
    """Best, median and worst lesion image of the test set (by the median Dice over models; normal
    images would all be trivially "best"), with each model's prediction."""
    data_dir = runs[0].path.parents[2] / "data" / runs[0].dataset
    if not (data_dir / "manifest.csv").is_file():
        return None
    manifest = load_manifest(data_dir)
    rows_by_id = manifest.frame.set_index("case_id", drop=False)
    lesion_ids = set(runs[0].per_image.loc[runs[0].per_image["label"] != "normal", "case_id"])
    median = scores.loc[[c for c in scores.index if c in lesion_ids] or list(scores.index)].median(axis=1).sort_values()
    picks = {"worst": median.index[0], "median": median.index[len(median) // 2], "best": median.index[-1]}
    device = torch.device("cpu")
    trained = {run.model: load_trained_run(run.path, device) for run in runs[:MAX_QUALITATIVE_MODELS]}
    grid = []
    for title, case_id in picks.items():
        row = rows_by_id.loc[case_id]
        truth = manifest.lesion(row)
        grey = read_image(manifest.image_file(row))
        if grey.shape != truth.shape:  # an image fitted to its mask by `prepare`: not shown
            return None
        predictions = {name: predict_image(run, read_image(manifest.image_file(row), run.config.input.channels),
                                           device, list(run.config.eval.tta))[1] for name, run in trained.items()}
        grid.append((f"{title}: {case_id}", grey, truth, predictions))
    return plots.qualitative_grid(grid, out)


def _write(frame: pd.DataFrame, path: Path) -> None:
    """``path``.csv and ``path``.md; a named index (model names, ...) is written as columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    named = frame.index.names != [None]
    shown = frame.reset_index() if named else frame
    shown.to_csv(path.with_suffix(".csv"), index=False, lineterminator="\n", float_format="%.6f")
    path.with_suffix(".md").write_text(markdown_table(shown.round(4)))


def build_report(results_dir: Path, out: Path, qualitative: bool = True) -> Report:
    runs, skipped = collect_runs(results_dir)
    report = Report(Path(out), runs, skipped)
    profiles = find_profiles(results_dir)
    by_dataset: dict[str, list[RunResults]] = {}
    for run in runs:
        by_dataset.setdefault(run.dataset, []).append(run)
    for dataset, dataset_runs in progress(list(by_dataset.items()), "Reporting", total=len(by_dataset)):
        table = dataset_table(dataset_runs, profiles)
        report.tables[dataset] = table
        (report.out / "tables").mkdir(parents=True, exist_ok=True)
        table.to_csv(report.out / "tables" / f"{dataset}.csv", index=False, lineterminator="\n", float_format="%.6f")
        (report.out / "tables" / f"{dataset}.md").write_text(to_markdown(table))
        (report.out / "tables" / f"{dataset}.tex").write_text(
            to_latex(table, f"Segmentation on {dataset}: held-out test set, mean ± std over fold models"))
        scores = pd.DataFrame({run.model: image_scores(run.per_image, "dice") for run in dataset_runs})
        comparisons = paired_comparisons(scores)
        report.comparisons[dataset], report.p_values[dataset] = comparisons, p_value_matrix(comparisons, list(scores))
        _write(comparisons, report.out / "statistics" / f"{dataset}_comparisons")
        _write(report.p_values[dataset], report.out / "statistics" / f"{dataset}_p_values")
        figures = [plots.dice_boxplot(scores, dataset, report.out / "plots" / f"{dataset}_dice_boxplot"),
                   plots.accuracy_vs_cost(table[table["variant"] == FOLD_MODELS], dataset,
                                          report.out / "plots" / f"{dataset}_dice_vs_cost")]
        if qualitative:
            grid = _qualitative(dataset_runs, scores, report.out / "plots" / f"{dataset}_qualitative")
            figures += [grid] if grid is not None else []
        figures += [plots.training_curves(run.logs, f"{run.model} on {dataset}",
                                          report.out / "plots" / f"{dataset}_{run.model}_training")
                    for run in dataset_runs if run.logs]
        report.figures[dataset] = figures
    report.normal = normal_and_lesion(runs)
    _write(report.normal, report.out / "normal_and_lesion_images")
    dice = pd.DataFrame({d: {t["model"][i]: t["dice_mean"][i] for i in t.index if t["variant"][i] == FOLD_MODELS}
                         for d, t in report.tables.items()}).T
    common = dice.dropna(axis=1)
    if common.shape[1] >= 2:
        report.ranks = average_ranks(common)
        report.cd = critical_difference(common.shape[1], common.shape[0])
        _write(report.ranks.rename("average_rank").to_frame(), report.out / "statistics" / "average_ranks")
        report.figures["ranks"] = [plots.critical_difference_diagram(report.ranks, report.cd, common.shape[0],
                                                                     report.out / "plots" / "critical_difference")]
    report.cross = cross_dataset_matrix(runs)
    if report.cross is not None:
        _write(report.cross, report.out / "cross_dataset")
    write_html(report)
    return report
