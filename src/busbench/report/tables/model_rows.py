"""The numbers of one test set's table: a row per model and row type (its fold models, then each
ensemble variant), with every figure the accuracy and cost tables print (``publication``).

A fold model's score on an image is averaged over the k fold models for the per-image statistics
(the CIs); the mean ± std is over the k fold models. A run of several training seeds (``collect.merge_seeds``)
averages every seed's fold models alike, gives the seed-to-seed SD of each metric, and bootstraps its
CIs over groups and seeds together. The metrics are ``publication.METRIC_COLUMNS``
(mean and std), with a cluster bootstrap CI for ``CI_COLUMNS``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from busbench.evaluate.aggregate import FOLD_MODELS, fold_summaries, mean_std
from busbench.metrics.per_image import NSD_TOLERANCE
from busbench.progress import progress
from busbench.report.collect import RunResults
from busbench.report.statistics.intervals_and_tests import bootstrap_ci
from busbench.report.statistics.units import IndependentUnits, seed_image_scores, seed_spread
from busbench.report.tables.complexity import NO_COST, model_cost, model_origin, row_cost
from busbench.report.tables.publication import CI_COLUMNS, METRIC_COLUMNS, ROW_NAMES


def accuracy_figures(variant: str, per_image: pd.DataFrame, units: IndependentUnits) -> dict[str, object]:
    """A row's accuracy: each metric's mean (± std over fold models), bootstrap CIs over ``units``, counts."""
    summary = mean_std(fold_summaries(per_image))
    row: dict[str, object] = {"variant": variant, "row": ROW_NAMES.get(variant, variant)}
    for metric in METRIC_COLUMNS:
        row[f"{metric}_mean"] = summary[f"{metric}_mean"]
        # one fold model (an outside method's one prediction set) has no spread to show
        row[f"{metric}_std"] = summary[f"{metric}_std"] if variant == FOLD_MODELS and summary["folds"] > 1 else np.nan
        row[f"{metric}_seed_sd"] = seed_spread(per_image, metric)
    for metric in CI_COLUMNS:
        scores = seed_image_scores(per_image, metric)  # HD95 of dropped false alarms: NaN, left out
        row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = bootstrap_ci(
            scores.to_numpy(), units.clusters.reindex(scores.columns).to_numpy())
    row["seeds"] = per_image["seed"].nunique() if "seed" in per_image else 1
    row[NSD_TOLERANCE] = summary[NSD_TOLERANCE]
    row["test_images"] = per_image["case_id"].nunique()
    row["folds"], row["degenerate_folds"] = int(summary["folds"]), int(summary["degenerate_folds"])
    row["ci"] = units.description()
    return row


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
    """Every row of one test set's table, in the order printed."""
    rows = []
    for run in progress(runs, "report: rows and bootstrap CIs", total=len(runs)):
        rows.append(_row(run, FOLD_MODELS, run.per_image, profiles, units))
        if run.ensemble is not None:
            for variant, scores in run.ensemble.groupby("variant", sort=False):
                rows.append(_row(run, str(variant), scores.assign(fold=0), profiles, units))
    return pd.DataFrame(rows)
