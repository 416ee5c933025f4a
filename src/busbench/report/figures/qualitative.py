"""The qualitative figure: the best, median and worst lesion image of a test set with each
model's prediction (in the user's own report; never in committed results, which must not copy
dataset images)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from busbench.data.io import read_mask
from busbench.data.manifest import load_manifest
from busbench.data.run_data import run_data_folder
from busbench.evaluate.predict import load_run as load_trained_run
from busbench.evaluate.predict import predict_image
from busbench.pipeline.pool import SEPARATOR as POOL_SEPARATOR
from busbench.progress import progress
from busbench.report.collect import RunResults
from busbench.report.figures import plots

MAX_QUALITATIVE_MODELS = 6


def qualitative_figure(runs: list[RunResults], scores: pd.DataFrame, out: Path) -> Path | None:
    """Best, median and worst lesion image of the test set (by the median Dice over models; normal
    images would all be trivially "best"), with each model's prediction."""
    data_dir = run_data_folder(runs[0].folder)
    if not (data_dir / "manifest.csv").is_file():
        return None
    manifest = load_manifest(data_dir)
    rows_by_id = manifest.frame.set_index("case_id", drop=False)
    pooled = f"{runs[0].dataset}{POOL_SEPARATOR}" if runs[0].trained_on else ""  # a pool's manifest: its ids prefixed
    lesion_ids = set(runs[0].per_image.loc[runs[0].per_image["label"] != "normal", "case_id"])
    median = scores.loc[[c for c in scores.index if c in lesion_ids] or list(scores.index)].median(axis=1).sort_values()
    picks = {"worst": median.index[0], "median": median.index[len(median) // 2], "best": median.index[-1]}
    device = torch.device("cpu")
    shown = runs[:MAX_QUALITATIVE_MODELS]
    # the report shows every scored run, also one whose ensemble is not made yet (its figure without post-processing)
    trained = {run.title: load_trained_run(run.path, device, allow_partial=True)
               for run in progress(shown, "report: loading the models of the qualitative figure", total=len(shown))
               if run.config is not None}
    grid = []
    for title, case_id in progress(picks.items(), "report: predicting the qualitative figure's images", total=3):
        row = rows_by_id.loc[pooled + case_id]
        truth = manifest.lesion(row)
        grey = manifest.image(row)
        if grey.shape != truth.shape:  # an image fitted to its mask by `prepare`: not shown
            return None
        predictions = {name: predict_image(run, manifest.image(row, run.config.input.channels),
                                           device, list(run.config.evaluation.tta))[1] for name, run in trained.items()}
        predictions.update({run.title: read_mask(run.folder.masks / f"{case_id}.png").lesion  # `busbench score`
                            for run in shown if run.config is None})
        grid.append((f"{title}: {case_id}", grey, truth, predictions))
    return plots.qualitative_grid(grid, out)
