"""Calibration of the lesion probabilities the fold ensemble outputs, pixel by pixel: whether a
pixel given p = 0.8 is lesion 80 % of the time, which a clinician reading a probability map assumes.

From each cell's ``ensemble_calibration.csv`` (per test image and probability bin: pixels, lesion
pixels, sum of probabilities, sum of squared errors; ``evaluate.reliability_counts``), over every
pixel of the test images at their original size:

* ``ece``: expected calibration error over the file's equal-width bins (10 on [0, 1]),
  sum over bins of (pixels in bin / all pixels) x |lesion share in bin - mean probability in bin|;
* ``brier``: mean squared error (p - y)² over all pixels;
* 95 % CIs: the report's cluster bootstrap (``cluster_draw_weights``: whole patients/duplicate groups
  drawn, each draw recomputing the pixel sums with each image weighted by its count);
* ``calibration_bins.csv``: per bin the pixels, mean probability and lesion share, the reliability
  diagram's points.

Only the ensemble's probabilities are kept (post-processing changes masks, not probabilities); a run
without the file (scored before it was written, fold models only, an outside method) says "not recorded".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from busbench.data.manifest import MANIFEST_CSV
from busbench.data.run_data import run_data_folder
from busbench.evaluate.aggregate import ENSEMBLE
from busbench.evaluate.reliability_counts import COUNT_COLUMNS
from busbench.evaluate.table_checks import check_binned_counts
from busbench.layout.folders import ENSEMBLE_CALIBRATION_CSV, CellFolder
from busbench.report.collect import RunResults, RunTable, own_rows
from busbench.report.scored_sets import NOT_RECORDED
from busbench.report.statistics.intervals_and_tests import LEVEL, cluster_draw_weights, percentile_ci


def expected_calibration_error(counts: pd.DataFrame) -> float:
    """ECE of per-image bin counts (``bin``, ``pixels``, ``lesion_pixels``, ``prob_sum``): the images'
    sums are added per bin first."""
    bins = counts.groupby("bin")[["pixels", "lesion_pixels", "prob_sum"]].sum()
    return float((bins["prob_sum"] - bins["lesion_pixels"]).abs().sum() / bins["pixels"].sum())


def brier_score(counts: pd.DataFrame) -> float:
    return float(counts["squared_error_sum"].sum() / counts["pixels"].sum())


def reliability_bins(counts: pd.DataFrame) -> pd.DataFrame:
    """Per bin over all images: its range, pixels, mean probability and lesion share."""
    width = 1.0 / int(counts["bins"].iloc[0])
    summed = counts.groupby("bin")[list(COUNT_COLUMNS)].sum().reset_index()
    return summed.assign(bin_low=summed["bin"] * width, bin_high=(summed["bin"] + 1) * width,
                         mean_probability=summed["prob_sum"] / summed["pixels"],
                         lesion_share=summed["lesion_pixels"] / summed["pixels"])


def calibration_draws(counts: pd.DataFrame, clusters: pd.Series) -> dict[str, tuple[float, np.ndarray]]:
    """ECE and Brier score of ``counts`` (rows: image x bin), each with its value on every cluster
    bootstrap draw (images in case-id order, so two models of one test set share the draws)."""
    wide = counts.pivot_table(index="case_id", columns="bin", values=list(COUNT_COLUMNS), aggfunc="sum", fill_value=0)
    weights = cluster_draw_weights(clusters.reindex(wide.index).to_numpy())
    drawn = {column: weights @ wide[column].to_numpy(dtype=float) for column in COUNT_COLUMNS}  # draws x bins
    pixels = drawn["pixels"].sum(axis=1)
    return {"ece": (expected_calibration_error(counts),
                    np.abs(drawn["prob_sum"] - drawn["lesion_pixels"]).sum(axis=1) / pixels),
            "brier": (brier_score(counts), drawn["squared_error_sum"].sum(axis=1) / pixels)}


def calibration_with_ci(counts: pd.DataFrame, clusters: pd.Series, level: float = LEVEL) -> dict[str, float]:
    """ECE and Brier score of ``counts`` with their cluster bootstrap CIs."""
    result: dict[str, float] = {}
    for name, (point, draws) in calibration_draws(counts, clusters).items():
        result[name] = point
        result[f"{name}_ci_low"], result[f"{name}_ci_high"] = percentile_ci(draws, level)
    return result


def _image_pixels(run: RunResults) -> pd.Series | None:
    """case_id -> height x width at the original size, from the cell's manifest (if its data folder is there)."""
    path = run_data_folder(run.folder) / MANIFEST_CSV
    if not path.is_file():
        return None
    manifest = own_rows(run, pd.read_csv(path, dtype={"case_id": str}, usecols=["case_id", "height", "width"]))
    return (manifest["height"] * manifest["width"]).set_axis(manifest["case_id"])


def read_counts(run: RunResults) -> pd.DataFrame | None:
    """The cell's per-image bin counts, checked against the ensemble's test ids (themselves checked
    against the split) and each image's pixel count; None where the file was never written. A model's
    seeds (``merge_seeds``): each seed's ensemble counted, summed per image and bin, so that the
    calibration covers every seed as the accuracy table does."""
    scored = run.ensemble if run.ensemble is not None else run.per_image
    expected = set(scored["case_id"].astype(str))
    frames = []
    for folder in [CellFolder(path) for path in run.seed_paths] or [run.folder]:
        path = folder.ensemble_calibration_csv
        if not path.is_file():
            return None
        counts = own_rows(run, pd.read_csv(path, dtype={"case_id": str}))
        check_binned_counts(counts, path, expected, f"Delete {folder.ensemble_metrics_csv} and run again to score "
                            "the ensemble (and rewrite this file)", _image_pixels(run))
        frames.append(counts)
    if len(frames) == 1:
        return frames[0]
    keys = [column for column in ("case_id", "group", "bin") if column in frames[0]]
    summed = pd.concat(frames).groupby(keys, as_index=False)[list(COUNT_COLUMNS)].sum()
    return summed.assign(bins=frames[0]["bins"].iloc[0])


def table_counts(table: RunTable) -> dict[str, pd.DataFrame | None]:
    """Each run's checked bin counts (``read_counts``) by its title, read once for the calibration
    table and the paired tests."""
    return {run.title: read_counts(run) for run in table.runs}


def calibration_tables(table: RunTable, counts_of: dict[str, pd.DataFrame | None],
                       clusters: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``calibration.csv`` rows (one per run of the test set) and ``calibration_bins.csv`` rows, from
    ``table_counts``."""
    rows: list[dict[str, object]] = []
    bins: list[pd.DataFrame] = []
    for run in table.runs:
        identity = {"test_set": table.title, "dataset": run.dataset_title, "model": run.title, "variant": ENSEMBLE}
        counts = counts_of[run.title]
        if counts is None or counts.empty:
            rows.append({**identity, "note": f"{NOT_RECORDED}: no {ENSEMBLE_CALIBRATION_CSV} in its run folder"})
            continue
        rows.append({**identity, "bins": int(counts["bins"].iloc[0]), "images": counts["case_id"].nunique(),
                     "pixels": int(counts["pixels"].sum()), "lesion_pixels": int(counts["lesion_pixels"].sum()),
                     **calibration_with_ci(counts, clusters), "note": ""})
        bins.append(reliability_bins(counts).assign(**identity))
    columns = ["test_set", "dataset", "model", "variant", "bins", "images", "pixels", "lesion_pixels", "ece",
               "ece_ci_low", "ece_ci_high", "brier", "brier_ci_low", "brier_ci_high", "note"]
    return pd.DataFrame(rows).reindex(columns=columns), pd.concat(bins, ignore_index=True) if bins else pd.DataFrame()
