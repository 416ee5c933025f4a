"""The numbers of one test set's table: a row per model and row type (its fold models, then each
ensemble variant), with every figure the accuracy and cost tables print (``publication``).

Segmentation metrics (``publication.LESION_METRICS``) are taken on the lesion images only (ground truth
not empty); the normal images count at image level (the false-alarm rate, as ``detection.csv``), and
the all-image Dice keeps the published convention beside them. A fold model's score on an image is
averaged over the k fold models for the per-image statistics (the CIs, the paired tests); the mean ±
std is over the k fold models. Each row's per-image scores are a frame of ``case_id``, ``fold``, the
metrics and ``empty_case``, whichever prediction sets made it (fold models, an ensemble). A run of
several training seeds (``collect.merge_seeds``) averages every seed's fold models alike, gives the
seed-to-seed SD of each metric, and bootstraps its CIs over groups and seeds together.

``mark_differences`` tests every row against the best one (highest lesion Dice) with the report's
paired test on per-unit means of the lesion images' Dice (averaged over seeds), Holm-corrected over
those comparisons: the table marks a row that differs †.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from busbench.evaluate.aggregate import FOLD_MODELS, fold_summaries, mean_std
from busbench.metrics.per_image import NSD_TOLERANCE
from busbench.progress import progress
from busbench.report.collect import RunResults
from busbench.report.scored_sets import has_lesion, image_detection, scored_sets
from busbench.report.statistics.intervals_and_tests import bootstrap_ci
from busbench.report.statistics.units import IndependentUnits, lesion_image_scores, seed_image_scores, seed_spread
from busbench.report.tables.complexity import NO_COST, model_cost, model_origin, row_cost
from busbench.report.tables.publication import (
    ALL_IMAGES,
    CI_METRICS,
    FALSE_ALARMS,
    LESION_METRICS,
    ROW_NAMES,
    SENSITIVITY,
    SIGNIFICANCE,
    best_row,
    lesion_column,
)


def _mean_std(per_image: pd.DataFrame, metric: str, spread: bool) -> tuple[float, float]:
    """Mean over the fold models of their mean ``metric``, and its std where the row has a spread."""
    per_fold = pd.to_numeric(per_image[metric], errors="coerce").groupby(per_image["fold"]).mean()
    return float(per_fold.mean()), float(per_fold.std(ddof=1)) if spread and len(per_fold) > 1 else np.nan


def _ci(scores: pd.DataFrame, units: IndependentUnits) -> tuple[float, float]:
    """The bootstrap CI of ``seed_image_scores`` (seeds x images) over ``units`` and seeds; a score a
    seed lacks (HD95 of a dropped false alarm: NaN) is left out."""
    scores = scores.dropna(axis=1, how="all")
    if scores.empty:
        return np.nan, np.nan
    return bootstrap_ci(scores.to_numpy(), units.clusters.reindex(scores.columns).to_numpy())


def accuracy_figures(variant: str, per_image: pd.DataFrame, units: IndependentUnits) -> dict[str, object]:
    """A row's accuracy: each lesion metric's mean (± std over fold models) and bootstrap CIs over
    ``units``, the image-level sensitivity and false-alarm rate, the all-image Dice, counts."""
    summary = mean_std(fold_summaries(per_image))
    # one fold model (an outside method's one prediction set) has no spread to show
    spread = variant == FOLD_MODELS and summary["folds"] > 1
    row: dict[str, object] = {"variant": variant, "row": ROW_NAMES.get(variant, variant)}
    lesion_rows = per_image[has_lesion(per_image)]
    for metric in LESION_METRICS:
        stem = lesion_column(metric)
        row[f"{stem}_mean"], row[f"{stem}_std"] = _mean_std(lesion_rows, metric, spread)
        row[f"{stem}_seed_sd"] = seed_spread(lesion_rows, metric)
    for metric in CI_METRICS:
        stem = lesion_column(metric)
        row[f"{stem}_ci_low"], row[f"{stem}_ci_high"] = _ci(seed_image_scores(lesion_rows, metric), units)
    lesion, detected = image_detection(per_image)
    row[SENSITIVITY] = float(detected[lesion].mean()) if lesion.any() else np.nan
    row[FALSE_ALARMS] = float(detected[~lesion].mean()) if (~lesion).any() else np.nan
    row[f"{ALL_IMAGES}_mean"], row[f"{ALL_IMAGES}_std"] = _mean_std(per_image, "dice", spread)
    row[f"{ALL_IMAGES}_seed_sd"] = seed_spread(per_image, "dice")
    row["lesion_images"], row["normal_images"] = int(lesion.sum()), int((~lesion).sum())
    row["seeds"] = per_image["seed"].nunique() if "seed" in per_image else 1
    row[NSD_TOLERANCE] = summary[NSD_TOLERANCE]
    row["test_images"] = per_image["case_id"].nunique()
    row["folds"], row["degenerate_folds"] = int(summary["folds"]), int(summary["degenerate_folds"])
    row["ci"] = units.of(lesion[lesion].index).description()  # the CIs are of the lesion columns
    return row


def lesion_images(table: pd.DataFrame) -> str:
    """Which images the Dice statistics and figures cover, for their captions."""
    return f"lesion images only, n = {int(table['lesion_images'].max())}"


def mark_differences(table: pd.DataFrame, per_image: list[pd.DataFrame], units: IndependentUnits) -> pd.DataFrame:
    """``table`` with ``p_holm_vs_best`` and ``differs_from_best``: each row's lesion Dice (``per_image``:
    the row's scores, in the table's order) tested against the best row's by the report's paired test
    on per-unit means, Holm-corrected over the rows compared; the best row itself is not compared."""
    table = table.reset_index(drop=True).assign(p_holm_vs_best=np.nan, differs_from_best=False,
                                                paired_by=units.pairing())
    best = best_row(table)
    if best is None or len(table) < 2:
        return table
    scores = pd.DataFrame({i: lesion_image_scores(frame, "dice") for i, frame in enumerate(per_image)})
    compared = units.paired_comparisons(scores, [(best, i) for i in table.index if i != best])
    p_holm = compared.set_index("model_b")["p_holm"]
    table.loc[p_holm.index, "p_holm_vs_best"] = p_holm.to_numpy()
    table["differs_from_best"] = table["p_holm_vs_best"] < SIGNIFICANCE
    return table


def _row(run: RunResults, variant: str, per_image: pd.DataFrame, profiles: pd.DataFrame,
         units: IndependentUnits) -> dict[str, object]:
    row: dict[str, object] = {"dataset": run.dataset_title, "model": run.title,
                              **accuracy_figures(variant, per_image, units)}
    if run.config is None:
        row.update(NO_COST, networks=None, views=None, forward_passes=None)
    else:  # a fold model runs alone; an ensemble runs every fold model; each on every test-time view
        networks = 1 if variant == FOLD_MODELS else run.per_image["fold"].nunique() // max(1, len(run.seeds))
        row.update(row_cost(model_cost(run.config, profiles), networks, 1 + len(run.config.eval.tta)))
    row["protocol"] = " | ".join(run.notes)
    row["origin"] = model_origin(run.path, run.config) if run.config is not None else ""
    return row


def dataset_table(runs: list[RunResults], profiles: pd.DataFrame, units: IndependentUnits) -> pd.DataFrame:
    """Every row of one test set's table, in the order printed, with its significance marks."""
    rows, scores = [], []
    for run in progress(runs, "report: rows and bootstrap CIs", total=len(runs)):
        for scored in scored_sets(run):
            rows.append(_row(run, scored.variant, scored.per_image, profiles, units))
            scores.append(scored.per_image)
    return mark_differences(pd.DataFrame(rows), scores, units)
