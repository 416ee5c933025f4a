"""A cell's work once every fold is done: post-processing chosen on the out-of-fold predictions
of the development cases, the fold ensemble scored on the test set (with and without it), and,
with ``eval.cross_datasets``, each fold model scored on other datasets' test sets."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from busbench.config import ExperimentConfig
from busbench.data.duplicates.links import cross_duplicate_links
from busbench.data.manifest import case_row
from busbench.data.prepared import PreparedData
from busbench.data.provenance import with_provenance
from busbench.evaluate.aggregate import ENSEMBLE, ENSEMBLE_POSTPROCESSED, FOLD_MODELS
from busbench.evaluate.held_out_scoring import score_test_set
from busbench.evaluate.inference import Compute, original_size_probabilities
from busbench.evaluate.postprocess import PostProcessing, choose_postprocessing
from busbench.evaluate.reliability_counts import ReliabilityCounts
from busbench.layout.atomic import write_csv, write_json
from busbench.layout.folders import (
    CellFolder,
)
from busbench.log import logger
from busbench.pipeline.folds import load_fold_models
from busbench.pipeline.prepared import cell_provenance, prepare_data
from busbench.progress import progress
from busbench.train.device import autocast_dtype


def choose_cell_postprocessing(cfg: ExperimentConfig, data: PreparedData, models: list[nn.Module],
                               device: torch.device, dtype: torch.dtype | None) -> tuple[PostProcessing, pd.DataFrame]:
    """Post-processing chosen on out-of-fold predictions: each development case predicted by the
    fold model that did not train on it. Reads development cases only."""
    development = data.development
    rows = data.manifest.frame.set_index("case_id", drop=False)
    masks, truths = [], []
    for fold, model in enumerate(models, start=1):
        ids = development.val_ids(fold)
        predicted = original_size_probabilities([model], data.cache, ids, Compute(device, dtype), cfg.eval)
        for case_id, probability in progress(predicted, f"post-processing search: predicting fold {fold}'s "
                                             "validation images", total=len(ids)):
            masks.append(probability >= cfg.eval.threshold)
            truths.append(data.manifest.lesion(case_row(rows, case_id)))
    return choose_postprocessing(masks, truths)


def finish_cell(cfg: ExperimentConfig, data: PreparedData, cell_dir: Path, device: torch.device) -> None:
    """Choose post-processing and score the fold ensemble on the test set (once)."""
    cell = CellFolder(cell_dir)
    if cell.ensemble_metrics_csv.is_file():
        return
    provenance = cell_provenance(data)
    dtype = autocast_dtype(cfg.train.amp, device)
    models = load_fold_models(cfg, data, cell_dir, device)
    variants = {ENSEMBLE: PostProcessing()}
    chosen = PostProcessing()
    if cfg.eval.postprocess:
        logger.info(f"choosing post-processing on {len(data.development.case_ids())} out-of-fold development "
                    "predictions")
        chosen, trials = choose_cell_postprocessing(cfg, data, models, device, dtype)
        logger.info(f"post-processing chosen: {chosen.describe()}")
        write_csv(trials, cell.postprocessing_trials_csv)
        variants[ENSEMBLE_POSTPROCESSED] = chosen
    write_json({"postprocessing": asdict(chosen), "chosen_on": "out-of-fold development predictions",
                "tta": list(cfg.eval.tta), "threshold": cfg.eval.threshold,
                "provenance": provenance.as_dict()}, cell.postprocessing_json)
    logger.info(f"scoring the {len(models)}-model ensemble on {len(data.test_ids())} test images")
    calibration = ReliabilityCounts()
    scores = score_test_set(models, data, cfg.eval, Compute(device, dtype), variants, calibration)
    write_csv(calibration.frame(), cell.ensemble_calibration_csv, float_format=None)
    scores.insert(0, "fold", 0)
    write_csv(with_provenance(scores, provenance), cell.ensemble_metrics_csv)


def score_cross_datasets(cfg: ExperimentConfig, data: PreparedData, cell_dir: Path, device: torch.device) -> None:
    """Each fold model scored on the held-out test set of every ``eval.cross_datasets`` dataset.

    A test image of the other dataset that the fold model trained on (an exact or near-duplicate
    of one of its training images) is dropped from its scores and counted in
    ``cross_dataset_overlap.csv``; with ``eval.cross_dataset_overlap: keep`` it is scored and marked.
    """
    cell = CellFolder(cell_dir)
    if not cfg.eval.cross_datasets or cell.cross_dataset_metrics_csv.is_file():
        return
    development = data.development
    dtype = autocast_dtype(cfg.train.amp, device)
    models = load_fold_models(cfg, data, cell_dir, device)
    frames, overlaps = [], []
    for other in cfg.eval.cross_datasets:
        target = prepare_data(cfg.model_copy(update={"data": other}))
        logger.info(f"cross-dataset: scoring {len(models)} fold models on {other.key()}'s {len(target.test_ids())} "
                    "test images")
        # one duplicate search for every development image; each fold keeps the links of the images its model
        # saw: its training ids, and its validation ids, which chose best.pt
        links = cross_duplicate_links(data.manifest, development.case_ids(), target.manifest, target.test_ids(),
                                      cfg.split.settings().duplicates)
        for fold, model in enumerate(models, start=1):
            seen_ids = set(development.train_ids(fold)) | set(development.val_ids(fold))
            seen = set(links.loc[links["case_a"].isin(seen_ids), "case_b"])
            scores = score_test_set([model], target, cfg.eval, Compute(device, dtype), {FOLD_MODELS: PostProcessing()})
            scores["seen_in_training"] = scores["case_id"].isin(seen)
            if cfg.eval.cross_dataset_overlap == "drop":
                scores = scores[~scores["seen_in_training"]]
            overlaps.append({"test_dataset": other.key(), "fold": fold, "test_images": len(target.test_ids()),
                             "seen_in_training": len(seen), "handling": cfg.eval.cross_dataset_overlap,
                             "case_ids": " ".join(sorted(seen))})
            frames.append(with_provenance(scores.assign(fold=fold, test_dataset=other.key()),
                                          target.provenance(development.train_ids(fold))))
    write_csv(pd.DataFrame(overlaps), cell.cross_dataset_overlap_csv, float_format=None)
    write_csv(pd.concat(frames, ignore_index=True), cell.cross_dataset_metrics_csv)
