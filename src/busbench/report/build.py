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

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from busbench.evaluate.aggregate import FOLD_MODELS, fold_summaries, mean_std
from busbench.evaluate.metrics import FALSE_ALARM
from busbench.layout import write_csv, write_text
from busbench.log import logger
from busbench.markdown import markdown_table, shown_numbers
from busbench.progress import progress
from busbench.report import plots
from busbench.report.analyses import report_analyses
from busbench.report.analyses_page import analyses_html
from busbench.report.collect import RunResults, RunTable, collect_runs, tables_by_test_set
from busbench.report.complexity import NO_COST, find_profiles, model_cost, model_origin, row_cost
from busbench.report.contents import Report
from busbench.report.false_alarms import FALSE_ALARM_NOTE, false_alarm_display, false_alarms
from busbench.report.html import readable_header, write_html
from busbench.report.outputs import clear_previous_report, record_report
from busbench.report.qualitative import qualitative_figure
from busbench.report.setup import dataset_setup, model_setup, software_setup
from busbench.report.statistics import (
    average_ranks,
    bootstrap_ci,
    cluster_means,
    critical_difference,
    friedman_test,
    p_value_matrix,
    paired_comparisons,
)
from busbench.report.tables import (
    ROW_NAMES,
    accuracy_numbers,
    cost_notes,
    cost_numbers,
    cost_table,
    display_table,
    latex_escape,
    notes,
    to_latex,
    to_markdown,
)
from busbench.train.trainer import SELECTED_VALUE

REPORTED = ("dice", "iou", "hd95", "precision", "recall")


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
    row: dict[str, object] = {"dataset": run.dataset_title, "model": run.title, "variant": variant,
                              "row": ROW_NAMES.get(variant, variant)}
    for metric in REPORTED:
        row[f"{metric}_mean"] = summary[f"{metric}_mean"]
        # one fold model (an outside method's one prediction set) has no spread to show
        row[f"{metric}_std"] = summary[f"{metric}_std"] if variant == FOLD_MODELS and summary["folds"] > 1 else np.nan
    for metric in ("dice", "hd95"):
        scores = image_scores(per_image, metric).dropna()  # HD95 of dropped false alarms: NaN
        row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = bootstrap_ci(
            scores.to_numpy(), units.clusters.reindex(scores.index).to_numpy())
    if run.config is None:
        row.update(NO_COST, networks=None, views=None, forward_passes=None)
    else:  # a fold model runs alone; an ensemble runs every fold model; each on every test-time view
        networks = 1 if variant == FOLD_MODELS else run.per_image["fold"].nunique()
        row.update(row_cost(model_cost(run.config, profiles), networks, 1 + len(run.config.eval.tta)))
    row["test_images"] = per_image["case_id"].nunique()
    row["folds"], row["degenerate_folds"] = int(summary["folds"]), int(summary["degenerate_folds"])
    row["ci"] = units.description()
    row["protocol"] = " | ".join(run.notes)
    row["origin"] = model_origin(run.path, run.config) if run.config is not None else ""
    return row


def dataset_table(runs: list[RunResults], profiles: pd.DataFrame, units: IndependentUnits) -> pd.DataFrame:
    rows = []
    for run in progress(runs, "report: rows and bootstrap CIs", total=len(runs)):
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
            rows.append({"dataset": table.title, "model": run.title,
                         "normal_images": normal["case_id"].nunique(),
                         "false_positive_rate_mean": fpr.mean() if len(fpr) else np.nan,
                         "false_positive_rate_std": fpr.std(ddof=1) if len(fpr) > 1 else np.nan,
                         "lesion_images": lesion["case_id"].nunique(), "lesion_dice_mean": dice.mean(),
                         "lesion_dice_std": dice.std(ddof=1) if len(dice) > 1 else np.nan})
    return pd.DataFrame(rows)


def cross_dataset_matrix(tables: list[RunTable]) -> pd.DataFrame | None:
    """Mean Dice of fold models trained on one dataset's table (rows) and tested on another (columns)."""
    titles = {table.runs[0].dataset: table.title for table in tables}
    rows = []
    for table in tables:
        for run in table.runs:
            rows.append({"model": run.title, "trained_on": table.title, "tested_on": table.title,
                         "dice": run.per_image.groupby("fold")["dice"].mean().mean()})
            if run.cross is not None:
                for tested_on, scores in run.cross.groupby("test_dataset"):
                    rows.append({"model": run.title, "trained_on": table.title,
                                 "tested_on": titles.get(str(tested_on), tested_on),
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


def _write(frame: pd.DataFrame, path: Path, p_values: bool = False) -> None:
    """``path``.csv and ``path``.md; a named index (model names, ...) is written as columns, and a
    missing value (a test that could not be made) as "n/a" in the Markdown, under readable headers.
    ``p_values``: every value is a p-value (the matrix of pairs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    named = frame.index.names != [None]
    shown = frame.reset_index() if named else frame
    write_csv(shown, path.with_suffix(".csv"))
    rounded = shown_numbers(frame, every_cell_a_p=p_values)
    rounded = rounded.reset_index() if named else rounded
    readable = rounded.where(shown.notna(), "n/a").rename(columns=readable_header)
    write_text(markdown_table(readable), path.with_suffix(".md"))


def _publish(shown: pd.DataFrame, numbers: pd.DataFrame, caption: str, note: str, path: Path,
             below: dict[str, str] | None = None) -> None:
    """One publication table as ``path``.csv (its numbers), .md and .tex (its strings and notes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(numbers, path.with_suffix(".csv"))
    write_text(f"{caption}\n\n" + to_markdown(shown.replace({"\x00B": "**", "\x00E": "**"}, regex=True), note),
               path.with_suffix(".md"))
    write_text(to_latex(shown, caption, note, path.name, below), path.with_suffix(".tex"))


def _report_tables(report: Report, table: RunTable, frame: pd.DataFrame, units: IndependentUnits) -> None:
    """The accuracy, cost and false-alarm tables of one test set (CSV, Markdown, LaTeX)."""
    folder, title = report.out / "tables", table.title
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(frame, folder / f"{table.key}.csv")  # every number of both tables
    bold = ("\x00B", "\x00E")
    _publish(display_table(frame, bold), accuracy_numbers(frame),
             f"Segmentation accuracy on {title}: held-out test set", notes(frame), folder / f"{table.key}_accuracy",
             below={"Dice 95 % CI": "Dice", "HD95 95 % CI": "HD95 (px)"})
    _publish(cost_table(frame, bold), cost_numbers(frame), f"Cost per test image on {title}", cost_notes(frame),
             folder / f"{table.key}_cost")
    alarms = false_alarms(table.runs, units.clusters)
    report.false_alarms[table.key] = alarms
    _publish(false_alarm_display(alarms), alarms, f"False alarms on {title}: normal test images with any "
             "predicted lesion", FALSE_ALARM_NOTE + f" CI: {units.description()}.",
             folder / f"{table.key}_false_alarms")


def _report_figures(report: Report, table: RunTable, frame: pd.DataFrame, scores: pd.DataFrame,
                    qualitative: bool) -> None:
    key, plots_dir = table.key, report.out / "plots"
    # drawn one at a time below, so that the progress lines count figures (a second or more each)
    drawings: list[Callable[[], Path | None]] = [
        lambda: plots.forest_plot(frame, f"Dice on {table.title}", plots_dir / f"{key}_dice_forest"),
        lambda: plots.dice_boxplot(scores, table.title, plots_dir / f"{key}_dice_boxplot"),
        lambda: plots.accuracy_vs_cost(frame, f"Dice against cost on {table.title}", plots_dir / f"{key}_dice_vs_cost")]
    if qualitative:
        drawings.append(lambda: qualitative_figure(table.runs, scores, plots_dir / f"{key}_qualitative"))
    for run in table.runs:
        if run.logs and run.config is not None:
            selected = SELECTED_VALUE.get(run.config.train.select_metric, "val_loss")
            drawings.append(partial(plots.training_curves, run.logs, selected, f"{run.title} on {table.title}",
                                    plots_dir / f"{key}_{run.model}_training"))
    figures = [draw() for draw in progress(drawings, f"report: figures of {table.title}", total=len(drawings))]
    report.figures[key] = [figure for figure in figures if figure is not None]


def _report_table(report: Report, table: RunTable, profiles: pd.DataFrame, qualitative: bool) -> None:
    """One test set's tables, paired tests and figures."""
    key, units = table.key, independent_units(table.runs)
    frame = dataset_table(table.runs, profiles, units)
    report.tables[key], report.titles[key] = frame, table.title
    _report_tables(report, table, frame, units)
    scores = pd.DataFrame({run.title: image_scores(run.per_image, "dice") for run in table.runs})
    comparisons = paired_comparisons(cluster_means(scores, units.clusters)).assign(unit=units.paired_unit())
    report.comparisons[key], report.p_values[key] = comparisons, p_value_matrix(comparisons, scores.columns.tolist())
    _write(comparisons, report.out / "statistics" / f"{key}_comparisons")
    _write(report.p_values[key], report.out / "statistics" / f"{key}_p_values", p_values=True)
    _report_figures(report, table, frame, scores, qualitative)


def _report_ranks(report: Report, tables: list[RunTable]) -> None:
    """Average ranks, Friedman's test and the CD diagram over datasets: only with two or more
    datasets and two or more models scored on all of them; otherwise ``ranks_note`` says what is missing."""
    chosen = ranked_tables(tables)
    fold_models = {t.runs[0].dataset_title: report.tables[t.key].query("variant == @FOLD_MODELS") for t in chosen}
    dice = pd.DataFrame({dataset: table.set_index("model")["dice_mean"] for dataset, table in fold_models.items()}).T
    common = dice.dropna(axis=1)
    if common.shape[0] < 2:
        report.ranks_note = (f"No average ranks across datasets: they need two or more datasets, and these runs "
                             f"hold {common.shape[0]} ({', '.join(map(str, dice.index))}).")
        return
    if common.shape[1] < 2:
        report.ranks_note = ("No average ranks across datasets: they need two or more models run on every dataset, "
                             f"and {common.shape[1]} was.")
        return
    report.ranked_tables = [t.key for t in chosen]
    report.ranks = average_ranks(common)
    report.cd = critical_difference(common.shape[1], common.shape[0])
    report.friedman = friedman_test(common)
    _write(report.ranks.rename("average_rank").to_frame(), report.out / "statistics" / "average_ranks")
    _write(pd.DataFrame([{**report.friedman, "tables": ", ".join(t.title for t in chosen)}]),
           report.out / "statistics" / "friedman")
    report.figures["ranks"] = [plots.critical_difference_diagram(report.ranks, report.cd, common.shape[0],
                                                                 report.out / "plots" / "critical_difference")]


def _report_setup(report: Report, tables: list[RunTable]) -> None:
    """The setup section (and legend of keys and checksums) as setup.md and setup.tex."""
    report.setup = {"Datasets and splits": dataset_setup(tables), "Models and training": model_setup(tables),
                    "Software and machine": software_setup(report.runs)}
    markdown, latex = ["# Setup\n"], []
    for heading, frame in report.setup.items():
        markdown += [f"## {heading}\n", markdown_table(frame.fillna("–"))]
        latex += [f"\\subsection*{{{latex_escape(heading)}}}", "\\begin{small}\\sloppy", "\\begin{description}"]
        for _, row in frame.fillna("–").iterrows():  # one item per row: wide records do not fit a tabular
            first, *rest = [f"{latex_escape(str(c))}: {latex_escape(str(v))}" for c, v in row.items()]
            latex.append(f"\\item[{first.split(': ', 1)[1]}] " + "; ".join(rest) + ".")
        latex += ["\\end{description}", "\\end{small}", ""]
    report.out.mkdir(parents=True, exist_ok=True)
    write_text("\n".join(markdown), report.out / "setup.md")
    write_text("\n".join(latex), report.out / "setup.tex")


def build_report(results_dir: Path, out: Path, qualitative: bool = True) -> Report:
    runs, skipped = collect_runs(results_dir)
    kept = clear_previous_report(Path(out))
    report = Report(Path(out), runs, skipped)
    profiles = find_profiles(results_dir)
    tables = tables_by_test_set(runs)
    logger.info(f"report: {len(runs)} run(s) on {len(tables)} test set(s) from {results_dir}")
    _report_setup(report, tables)
    for table in progress(tables, "report: test sets", total=len(tables)):
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
    record_report(report.out, kept)
    return report
