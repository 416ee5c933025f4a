"""`busbench report`: a results folder -> tables, statistics, plots and one HTML page.

One table per dataset and test set (``tables_by_test_set``): a table and its statistics only
ever hold runs scored on the same test images.

* a fold model's score on an image is averaged over the k fold models for the per-image
  statistics; the table's mean ± std is over the k fold models;
* the unit of the statistics is the split's group (a patient with her images and their
  duplicates, ``IndependentUnits``): bootstrap CIs draw whole groups, and the paired tests compare the
  models' per-group means. Without a ``group`` column (older runs) the unit is the image, and the
  table says so;
* the paired tests compare fold-model rows only (ensembles are a different kind of model);
* fold models that miss at least 90 % of the lesion images are marked in the tables;
* normal images are also reported on their own: the false-positive rate (share of normal test
  images with any predicted lesion) and the Dice on lesion images only;
* across datasets: average ranks, Friedman's test and, with two or more datasets, the CD diagram.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from busbench.data.io import read_mask
from busbench.data.manifest import load_manifest
from busbench.evaluate.aggregate import FOLD_MODELS, fold_summaries, mean_std
from busbench.evaluate.metrics import FALSE_ALARM
from busbench.evaluate.predict import load_run as load_trained_run
from busbench.evaluate.predict import predict_image
from busbench.layout import cell_data_folder, write_csv, write_text
from busbench.markdown import markdown_table
from busbench.progress import progress
from busbench.report import plots
from busbench.report.analyses import report_analyses
from busbench.report.analyses_page import analyses_html
from busbench.report.collect import RunResults, RunTable, collect_runs, tables_by_test_set
from busbench.report.complexity import NO_COST, find_profiles, model_cost, model_origin
from busbench.report.contents import Report
from busbench.report.html import write_html
from busbench.report.statistics import (
    average_ranks,
    bootstrap_ci,
    cluster_means,
    critical_difference,
    friedman_test,
    p_value_matrix,
    paired_comparisons,
)
from busbench.report.tables import to_latex, to_markdown

REPORTED = ("dice", "iou", "hd95", "precision", "recall")
MAX_QUALITATIVE_MODELS = 6


@dataclass(frozen=True)
class IndependentUnits:
    """The independent units of one test set: a cluster label per test image (index: case_id)."""

    clusters: pd.Series
    grouped: bool  # False: no group column in the per-image CSVs, every image is its own unit

    def description(self) -> str:
        images = len(self.clusters)
        if not self.grouped:
            return (f"95 % bootstrap over {images} images (no group column in the per-image CSVs: images "
                    "treated as independent)")
        return f"95 % cluster bootstrap over {self.clusters.nunique()} patients/duplicate groups ({images} images)"

    def paired_unit(self) -> str:
        return "per-group mean Dice" if self.grouped else "per-image Dice"


def independent_units(runs: list[RunResults]) -> IndependentUnits:
    """Images that any run's split puts in one group form one unit (the runs' splits agree as a
    rule; where they do not, the linked groups merge)."""
    frames = [run.per_image for run in runs]
    images = sorted(set().union(*(frame["case_id"] for frame in frames)))
    if not all("group" in frame for frame in frames):
        return IndependentUnits(pd.Series(range(len(images)), index=images), grouped=False)
    position = {case_id: i for i, case_id in enumerate(images)}
    links = pd.concat([frame[["case_id", "group"]].assign(run=i) for i, frame in enumerate(frames)])
    anchor = links.groupby(["run", "group"])["case_id"].transform("first")  # each image linked to its group's first
    graph = coo_matrix((np.ones(len(links)), (links["case_id"].map(position), anchor.map(position))),
                       shape=(len(images), len(images)))
    return IndependentUnits(pd.Series(connected_components(graph, directed=False)[1], index=images), grouped=True)


def image_scores(per_image: pd.DataFrame, metric: str) -> pd.Series:
    """Per test image, the metric averaged over the fold models (index: case_id)."""
    return per_image.groupby("case_id")[metric].mean()


def _row(run: RunResults, variant: str, per_image: pd.DataFrame, profiles: pd.DataFrame,
         units: IndependentUnits) -> dict[str, object]:
    summary = mean_std(fold_summaries(per_image))
    name = run.model if variant == FOLD_MODELS else f"{run.model} ({variant})"
    row: dict[str, object] = {"dataset": run.dataset, "model": name, "variant": variant}
    for metric in REPORTED:
        row[f"{metric}_mean"] = summary[f"{metric}_mean"]
        # one fold model (an outside method's one prediction set) has no spread to show
        row[f"{metric}_std"] = summary[f"{metric}_std"] if variant == FOLD_MODELS and summary["folds"] > 1 else np.nan
    for metric in ("dice", "hd95"):
        scores = image_scores(per_image, metric).dropna()  # HD95 of dropped false alarms: NaN
        row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = bootstrap_ci(
            scores.to_numpy(), units.clusters.reindex(scores.index).to_numpy())
    row.update(model_cost(run.config, profiles) if run.config else NO_COST)
    row["test_images"] = per_image["case_id"].nunique()
    row["folds"], row["degenerate_folds"] = int(summary["folds"]), int(summary["degenerate_folds"])
    row["ci"] = units.description()
    row["protocol"] = " | ".join(run.notes)
    row["origin"] = model_origin(run.path, run.config) if run.config is not None else ""
    return row


def dataset_table(runs: list[RunResults], profiles: pd.DataFrame, units: IndependentUnits) -> pd.DataFrame:
    rows = []
    for run in runs:
        rows.append(_row(run, FOLD_MODELS, run.per_image, profiles, units))
        if run.ensemble is not None:
            for variant, scores in run.ensemble.groupby("variant", sort=False):
                rows.append(_row(run, str(variant), scores.assign(fold=0), profiles, units))
    return pd.DataFrame(rows)


def normal_and_lesion(tables: list[RunTable]) -> pd.DataFrame:
    rows = []
    for table in tables:
        for run in table.runs:
            normal = run.per_image[run.per_image["label"] == "normal"]
            lesion = run.per_image[run.per_image["label"] != "normal"]
            fpr = normal.groupby("fold")["empty_case"].apply(lambda s: float((s == FALSE_ALARM).mean()))
            dice = lesion.groupby("fold")["dice"].mean()
            rows.append({"dataset": run.dataset, "test_set": table.key, "model": run.model,
                         "normal_images": normal["case_id"].nunique(),
                         "false_positive_rate_mean": fpr.mean() if len(fpr) else np.nan,
                         "false_positive_rate_std": fpr.std(ddof=1) if len(fpr) > 1 else np.nan,
                         "lesion_images": lesion["case_id"].nunique(), "lesion_dice_mean": dice.mean(),
                         "lesion_dice_std": dice.std(ddof=1) if len(dice) > 1 else np.nan})
    return pd.DataFrame(rows)


def cross_dataset_matrix(tables: list[RunTable]) -> pd.DataFrame | None:
    """Mean Dice of fold models trained on one dataset's table (rows) and tested on another (columns)."""
    rows = []
    for table in tables:
        for run in table.runs:
            rows.append({"model": run.model, "trained_on": table.key, "tested_on": table.key,
                         "dice": run.per_image.groupby("fold")["dice"].mean().mean()})
            if run.cross is not None:
                for tested_on, scores in run.cross.groupby("test_dataset"):
                    rows.append({"model": run.model, "trained_on": table.key, "tested_on": tested_on,
                                 "dice": scores.groupby("fold")["dice"].mean().mean()})
    frame = pd.DataFrame(rows)
    if frame["tested_on"].nunique() < 2 or not any(r.cross is not None for t in tables for r in t.runs):
        return None
    return frame.pivot_table(index=["model", "trained_on"], columns="tested_on", values="dice")


def ranked_tables(tables: list[RunTable]) -> list[RunTable]:
    """One table per dataset for the ranks across datasets (two test sets of one dataset are not
    two datasets): the one with the most runs, the first by key on a tie."""
    chosen: dict[str, RunTable] = {}
    for table in tables:
        dataset = table.runs[0].dataset
        if dataset not in chosen or len(table.runs) > len(chosen[dataset].runs):
            chosen[dataset] = table
    return list(chosen.values())


def _qualitative(runs: list[RunResults], scores: pd.DataFrame, out: Path) -> Path | None:
    """Best, median and worst lesion image of the test set (by the median Dice over models; normal
    images would all be trivially "best"), with each model's prediction."""
    data_dir = cell_data_folder(runs[0].path)
    if not (data_dir / "manifest.csv").is_file():
        return None
    manifest = load_manifest(data_dir)
    rows_by_id = manifest.frame.set_index("case_id", drop=False)
    lesion_ids = set(runs[0].per_image.loc[runs[0].per_image["label"] != "normal", "case_id"])
    median = scores.loc[[c for c in scores.index if c in lesion_ids] or list(scores.index)].median(axis=1).sort_values()
    picks = {"worst": median.index[0], "median": median.index[len(median) // 2], "best": median.index[-1]}
    device = torch.device("cpu")
    shown = runs[:MAX_QUALITATIVE_MODELS]
    # the report shows every scored run, also one whose ensemble is not made yet (its figure without post-processing)
    trained = {run.model: load_trained_run(run.path, device, allow_partial=True) for run in shown
               if run.config is not None}
    grid = []
    for title, case_id in picks.items():
        row = rows_by_id.loc[case_id]
        truth = manifest.lesion(row)
        grey = manifest.image(row)
        if grey.shape != truth.shape:  # an image fitted to its mask by `prepare`: not shown
            return None
        predictions = {name: predict_image(run, manifest.image(row, run.config.input.channels),
                                           device, list(run.config.eval.tta))[1] for name, run in trained.items()}
        predictions.update({run.model: read_mask(run.path / "masks" / f"{case_id}.png").lesion  # `busbench score`
                            for run in shown if run.config is None})
        grid.append((f"{title}: {case_id}", grey, truth, predictions))
    return plots.qualitative_grid(grid, out)


def _write(frame: pd.DataFrame, path: Path) -> None:
    """``path``.csv and ``path``.md; a named index (model names, ...) is written as columns, and a
    missing value (a test that could not be made) as "n/a" in the Markdown."""
    path.parent.mkdir(parents=True, exist_ok=True)
    named = frame.index.names != [None]
    shown = frame.reset_index() if named else frame
    write_csv(shown, path.with_suffix(".csv"))
    rounded = shown.round(4)
    write_text(markdown_table(rounded.astype(object).where(rounded.notna(), "n/a")), path.with_suffix(".md"))


def _report_table(report: Report, table: RunTable, profiles: pd.DataFrame, qualitative: bool) -> None:
    """One test set's table, paired tests and figures."""
    key, units = table.key, independent_units(table.runs)
    frame = dataset_table(table.runs, profiles, units)
    report.tables[key], report.titles[key] = frame, table.title
    (report.out / "tables").mkdir(parents=True, exist_ok=True)
    write_csv(frame, report.out / "tables" / f"{key}.csv")
    write_text(f"{table.title}\n\n" + to_markdown(frame), report.out / "tables" / f"{key}.md")
    write_text(to_latex(frame, f"Segmentation on {table.title}: held-out test set, mean ± std over fold models"),
               report.out / "tables" / f"{key}.tex")
    scores = pd.DataFrame({run.model: image_scores(run.per_image, "dice") for run in table.runs})
    comparisons = paired_comparisons(cluster_means(scores, units.clusters)).assign(unit=units.paired_unit())
    report.comparisons[key], report.p_values[key] = comparisons, p_value_matrix(comparisons, scores.columns.tolist())
    _write(comparisons, report.out / "statistics" / f"{key}_comparisons")
    _write(report.p_values[key], report.out / "statistics" / f"{key}_p_values")
    figures = [plots.dice_boxplot(scores, table.title, report.out / "plots" / f"{key}_dice_boxplot"),
               plots.accuracy_vs_cost(frame[frame["variant"] == FOLD_MODELS], table.title,
                                      report.out / "plots" / f"{key}_dice_vs_cost")]
    if qualitative:
        grid = _qualitative(table.runs, scores, report.out / "plots" / f"{key}_qualitative")
        figures += [grid] if grid is not None else []
    figures += [plots.training_curves(run.logs, f"{run.model} on {table.title}",
                                      report.out / "plots" / f"{key}_{run.model}_training")
                for run in table.runs if run.logs]
    report.figures[key] = figures


def _report_ranks(report: Report, tables: list[RunTable]) -> None:
    """Average ranks, Friedman's test and the CD diagram over datasets: only with two or more
    datasets and two or more models scored on all of them."""
    chosen = ranked_tables(tables)
    fold_models = {t.runs[0].dataset: report.tables[t.key].query("variant == @FOLD_MODELS") for t in chosen}
    dice = pd.DataFrame({dataset: table.set_index("model")["dice_mean"] for dataset, table in fold_models.items()}).T
    common = dice.dropna(axis=1)
    if common.shape[0] < 2 or common.shape[1] < 2:
        return
    report.ranked_tables = [t.key for t in chosen]
    report.ranks = average_ranks(common)
    report.cd = critical_difference(common.shape[1], common.shape[0])
    report.friedman = friedman_test(common)
    _write(report.ranks.rename("average_rank").to_frame(), report.out / "statistics" / "average_ranks")
    _write(pd.DataFrame([{**report.friedman, "tables": ", ".join(report.ranked_tables)}]),
           report.out / "statistics" / "friedman")
    report.figures["ranks"] = [plots.critical_difference_diagram(report.ranks, report.cd, common.shape[0],
                                                                 report.out / "plots" / "critical_difference")]


def build_report(results_dir: Path, out: Path, qualitative: bool = True) -> Report:
    runs, skipped = collect_runs(results_dir)
    report = Report(Path(out), runs, skipped)
    profiles = find_profiles(results_dir)
    tables = tables_by_test_set(runs)
    for table in progress(tables, "Reporting", total=len(tables)):
        _report_table(report, table, profiles, qualitative)
    report.normal = normal_and_lesion(tables)
    _write(report.normal, report.out / "normal_and_lesion_images")
    _report_ranks(report, tables)
    report.cross = cross_dataset_matrix(tables)
    if report.cross is not None:
        _write(report.cross, report.out / "cross_dataset")
    analyses = report_analyses(report.out, tables, {t.key: independent_units(t.runs).clusters for t in tables},
                               report.titles)  # subgroups, detection, morphology, calibration
    write_html(report, analyses_html(analyses, report.titles))
    return report
