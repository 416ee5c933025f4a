"""`busbench report`: a results folder -> tables, statistics, plots and one HTML page. This module
orders the steps; each is computed in ``tables/``, ``statistics/``, ``figures/``, ``analyses/`` and
``page/``.

One table per dataset and test set (``tables_by_test_set``): a table and its statistics only
ever hold runs scored on the same test images.

* a fold model's score on an image is averaged over the k fold models for the per-image
  statistics; the table's mean ± std is over the k fold models;
* the unit of the statistics is the split's group (a patient with her images and their
  duplicates, ``IndependentUnits``): bootstrap CIs draw whole groups, and the paired tests compare the
  models' per-group means. Without a ``group`` column (older runs) the unit is the image, and the
  table says so;
* the paired tests compare fold-model rows only (ensembles are a different kind of model), on the
  lesion images' Dice (a normal image's Dice is 1 or 0), as do the ranks, the forest plot and the
  box plot; each row of the main table is also tested against the table's best row (its † mark);
* fold models that miss at least 90 % of the lesion images are marked in the tables;
* the main table scores segmentation on lesion images and counts normal images at image level (the
  false-alarm rate: share of normal test images with any predicted lesion), beside the all-image Dice;
* across datasets: average ranks, Friedman's test and, with two or more datasets, the CD diagram.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd

from busbench.log import logger
from busbench.progress import progress
from busbench.report.analyses.analysis_files import report_analyses
from busbench.report.collect import RunTable, collect_runs, tables_by_test_set
from busbench.report.figures import captions, plots
from busbench.report.figures.analysis_plots import train_test_heatmap
from busbench.report.figures.qualitative import qualitative_figure
from busbench.report.figures.ranks_plot import critical_difference_diagram
from busbench.report.figures.style import figure_style
from busbench.report.page.analyses_section import analyses_html
from busbench.report.page.html import write_html
from busbench.report.page.page_contents import Report
from busbench.report.page.setup_section import setup_tables, write_setup
from busbench.report.report_files import clear_previous_report, record_report
from busbench.report.statistics.intervals_and_tests import (
    average_ranks,
    critical_difference,
    friedman_test,
    p_value_matrix,
)
from busbench.report.statistics.units import IndependentUnits, independent_units, lesion_model_scores
from busbench.report.tables.across_test_sets import datasets_to_rank, normal_and_lesion
from busbench.report.tables.complexity import find_profiles
from busbench.report.tables.model_rows import dataset_table, lesion_images
from busbench.report.tables.train_test_matrix import MATRIX_NOTE, matrix_display, train_test_entries
from busbench.report.tables.writing import publish, publish_test_set, write_table
from busbench.train.trainer import SELECTED_VALUE


def _report_figures(report: Report, table: RunTable, frame: pd.DataFrame, scores: pd.DataFrame,
                    qualitative: bool) -> None:
    key, plots_dir, title = table.key, report.out / "plots", table.title
    lesion = lesion_images(frame)
    # drawn one at a time below, so that the progress lines count figures (a second or more each); each with its caption
    drawings: list[tuple[Callable[[], Path | None], str]] = [
        (lambda: plots.forest_plot(frame, f"Dice on {title}, {lesion}", plots_dir / f"{key}_dice_forest"),
         captions.forest_caption(title, lesion)),
        (lambda: plots.dice_boxplot(scores, f"{title}, {lesion}", plots_dir / f"{key}_dice_boxplot"),
         captions.boxplot_caption(title, lesion)),
        (lambda: plots.accuracy_vs_cost(frame, f"Dice against cost on {title}, {lesion}",
                                        plots_dir / f"{key}_dice_vs_cost"), captions.cost_caption(title, lesion))]
    if qualitative:
        drawings.append((lambda: qualitative_figure(table.runs, scores, plots_dir / f"{key}_qualitative"),
                         captions.qualitative_caption(title)))
    for run in table.runs:
        if run.logs and run.config is not None:
            selected = SELECTED_VALUE.get(run.config.train.select_metric, "val_loss")
            drawings.append((partial(plots.training_curves, run.logs, selected, f"{run.title} on {title}",
                                     plots_dir / f"{key}_{run.model}_training", run.fold_names),
                             captions.training_caption(run.title, title)))
    report.figures[key] = []
    for draw, caption in progress(drawings, f"report: figures of {title}", total=len(drawings)):
        figure = draw()
        if figure is not None:
            report.figures[key].append(figure)
            report.captions[figure] = caption


def _report_table(report: Report, table: RunTable, units: IndependentUnits, profiles: pd.DataFrame,
                  qualitative: bool) -> None:
    """One test set's tables, paired tests and figures."""
    key = table.key
    frame = dataset_table(table.runs, profiles, units)
    report.tables[key], report.titles[key] = frame, table.title
    report.false_alarms[key] = publish_test_set(report.out / "tables", table, frame, units)
    scores = lesion_model_scores(table.runs, "dice")
    comparisons = units.paired_comparisons(scores).assign(images=lesion_images(frame))
    report.comparisons[key], report.p_values[key] = comparisons, p_value_matrix(comparisons, scores.columns.tolist())
    write_table(comparisons, report.out / "statistics" / f"{key}_comparisons")
    write_table(report.p_values[key], report.out / "statistics" / f"{key}_p_values", p_values=True)
    _report_figures(report, table, frame, scores, qualitative)


def _report_ranks(report: Report, tables: list[RunTable]) -> None:
    """Average ranks, Friedman's test and the CD diagram over datasets: only with two or more
    datasets and two or more models scored on all of them; otherwise ``ranks_note`` says what is missing."""
    chosen, dice, report.ranks_note = datasets_to_rank(tables, report.tables)
    if report.ranks_note:
        return
    report.ranked_tables = [t.key for t in chosen]
    report.ranks = average_ranks(dice)
    report.cd = critical_difference(dice.shape[1], dice.shape[0])
    report.friedman = friedman_test(dice)
    write_table(report.ranks.rename("average_rank").to_frame(), report.out / "statistics" / "average_ranks")
    write_table(pd.DataFrame([{**report.friedman, "tables": ", ".join(t.title for t in chosen)}]),
                report.out / "statistics" / "friedman")
    figure = critical_difference_diagram(report.ranks, report.cd, dice.shape[0],
                                               report.out / "plots" / "critical_difference")
    report.figures["ranks"], report.captions[figure] = [figure], captions.ranks_caption(report.ranked_images())


def _report_across_sources(report: Report, tables: list[RunTable]) -> None:
    """The train-on x test-on matrix (entries as CSV; the matrix as Markdown and LaTeX) and its heat map."""
    entries = train_test_entries(tables)
    if entries is None:
        return
    report.cross = matrix_display(entries)
    path = report.out / "tables" / "train_test_matrix"
    publish(report.cross, entries, "Dice across sources: trained on (rows) x tested on (columns)", MATRIX_NOTE, path)
    figure = train_test_heatmap(entries, report.out / "plots" / "train_test_matrix")
    report.figures["across_sources"], report.captions[figure] = [figure], captions.matrix_caption()


def _report_setup(report: Report, tables: list[RunTable]) -> None:
    """The setup section (and legend of keys and checksums) as setup.md and setup.tex."""
    report.setup = setup_tables(tables, report.runs)
    write_setup(report.setup, report.out)


def build_report(results_dir: Path, out: Path, qualitative: bool = True, style: str = "screen") -> Report:
    """The report of ``results_dir`` in ``out``; its figures in ``style`` (a key of ``figures.style.STYLES``)."""
    with figure_style(style):
        return _build(results_dir, out, qualitative)


def _build(results_dir: Path, out: Path, qualitative: bool) -> Report:
    logger.info(f"report: reading the runs under {results_dir}, each checked against its split and data")
    runs, skipped = collect_runs(results_dir)
    kept = clear_previous_report(Path(out))
    report = Report(Path(out), runs, skipped)
    profiles = find_profiles(results_dir)
    tables = tables_by_test_set(runs)
    _report_setup(report, tables)
    logger.info(f"report: {len(runs)} run(s) on {len(tables)} test set(s) from {results_dir}")
    units = {table.key: independent_units(table.runs) for table in tables}  # each reads its runs' manifests
    for table in progress(tables, "report: test sets", total=len(tables)):
        _report_table(report, table, units[table.key], profiles, qualitative)
    report.normal = normal_and_lesion(tables)
    write_table(report.normal, report.out / "normal_and_lesion_images")
    _report_ranks(report, tables)
    _report_across_sources(report, tables)
    logger.info("report: analyses of the test sets (subgroups, detection, morphology, calibration)")
    analyses = report_analyses(report.out, tables, {key: of_table.clusters for key, of_table in units.items()},
                               report.titles)  # subgroups, detection, morphology, calibration
    write_html(report, analyses_html(analyses, report.titles))
    captions.write_captions({**report.captions, **analyses.captions}, report.out / "plots" / captions.CAPTIONS_MD)
    record_report(report.out, kept)
    return report
