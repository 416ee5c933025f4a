"""One fold of a cell: train its model (resuming if interrupted) and score it on the test set.

A fold is finished when its ``done.json`` exists; it is written last and atomically, so a rerun
skips finished folds and resumes an interrupted one from its ``last.pt``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from busbench.config import ExperimentConfig
from busbench.data.prepared import PreparedData
from busbench.data.provenance import Provenance, with_provenance
from busbench.environment import fold_environment
from busbench.errors import BusbenchError
from busbench.evaluate.aggregate import FOLD_MODELS, fold_summaries
from busbench.evaluate.held_out_scoring import score_test_set
from busbench.evaluate.inference import Compute
from busbench.evaluate.postprocess import PostProcessing
from busbench.layout.atomic import write_csv, write_json
from busbench.layout.folders import (
    BEST,
    DONE,
    LOG_CSV,
    TEST_METRICS_CSV,
    CellFolder,
    FoldFolder,
)
from busbench.layout.locks import lock_file, locked
from busbench.log import counted, duration, logger, note_saved
from busbench.pipeline.checks import done_fix, fold_fix
from busbench.pipeline.prepared import fold_provenance, training_images
from busbench.records import FoldDone, read_done, write_done
from busbench.train import checkpoint
from busbench.train.callbacks import STOP_NOTES, EpochCallback
from busbench.train.compile import compile_network
from busbench.train.device import autocast_dtype, place_model
from busbench.train.tracking import fold_trackers
from busbench.train.trainer import FoldJob, build_fold_model, train_fold


@dataclass(frozen=True)
class CellRun:
    """What every fold of a cell shares, built once per cell by ``run_cell``.

    ``cell`` (``<dataset key>/<model key>``) names the fold's runs in the trackers; each epoch goes
    to ``callbacks`` and then to the trackers the ``tracking`` section turns on.
    """

    cfg: ExperimentConfig
    data: PreparedData
    folder: Path
    device: torch.device
    cell: str
    callbacks: Sequence[EpochCallback] = ()


def run_fold(run: CellRun, fold: int, folds_after: int = 0) -> None:
    """Train fold model ``fold`` (resuming if interrupted) and score it on the test set, unless
    another process (a parallel job of the same fold) is doing so: then it is skipped here.

    ``folds_after``: the folds this process trains next, which the progress line's ETA includes.
    """
    with locked(lock_file(run.folder, f"fold-{fold}"), f"fold {fold}", wait=False) as mine:
        if mine:
            _run_fold(run, fold, folds_after)


def _run_fold(run: CellRun, fold: int, folds_after: int) -> None:
    cfg, data, cell_dir, device = run.cfg, run.data, run.folder, run.device
    folder = CellFolder(cell_dir).fold(fold)
    fold_dir = folder.path
    provenance = fold_provenance(data, fold)
    if folder.done:
        provenance.check(read_done(fold_dir, done_fix(fold_dir)).provenance, folder.done_json, fold_fix(fold_dir))
        if not folder.best_pt.is_file():
            raise BusbenchError(f"{folder.best_pt}: missing from finished fold {fold}; restore it from a copy, or "
                                f"delete {fold_dir} to train that fold again, then run the same command again")
        if folder.test_metrics_csv.is_file():
            logger.info(f"fold {fold}: already done ({folder.done_json}), skipped")
            return
        logger.info(f"fold {fold}: {TEST_METRICS_CSV} missing from the finished fold; scoring its {BEST} again")
        _score_fold(cfg, data, fold_dir, device, provenance)
        return
    fold_dir.mkdir(parents=True, exist_ok=True)
    write_json(provenance.as_dict(), folder.provenance_json)
    started = time.perf_counter()
    train_ids = data.development.train_ids(fold)
    trackers = fold_trackers(cfg.tracking_target(), fold_dir, fold, run.cell)
    state = train_fold(cfg.training_recipe(), FoldJob(data.development, data.cache, fold, fold_dir, provenance,
                                    training_images(data, train_ids), folds_after), device, [*run.callbacks, *trackers])
    trained = time.perf_counter()
    logger.info(f"fold {fold}: scoring the best model (epoch {state.best_epoch}) on {len(data.test_ids())} test images")
    scores = _score_fold(cfg, data, fold_dir, device, provenance)
    scored = time.perf_counter()
    write_done(FoldDone(fold=fold, best_epoch=state.best_epoch, best_score=state.best_score,
                        select_metric=cfg.train.select_metric, epochs_run=state.epoch,
                        stopped_early=state.stopped_early, stop_reason=state.stop_reason,
                        train_seconds=trained - started, test_seconds=scored - trained, test_images=len(scores),
                        checkpoints=checkpoint.checkpoint_digests(fold_dir), provenance=provenance.as_dict(),
                        environment=fold_environment(device, state.precision)), fold_dir)
    note_saved(f"{folder.done_json} (fold {fold} finished)")
    test_means = {str(key): value for key, value in fold_summaries(scores).iloc[0].items()}
    for tracker in trackers:
        tracker.finish(test_means, {"best_epoch": state.best_epoch, "epochs_run": state.epoch},
                       [fold_dir / name for name in (LOG_CSV, TEST_METRICS_CSV, DONE)])
    early = STOP_NOTES.get(state.stop_reason, "")
    logger.info(f"fold {fold}/{data.development.folds} done: {counted(state.epoch, 'epoch')}{early}, test Dice "
                f"{scores['dice'].mean():.4f} on {len(scores)} images, {duration(trained - started)} training, "
                f"{duration(scored - trained)} scoring")


def _score_fold(cfg: ExperimentConfig, data: PreparedData, fold_dir: Path, device: torch.device,
                provenance: Provenance) -> pd.DataFrame:
    """The fold's ``best.pt`` scored on the test set, written to its ``test_metrics.csv``."""
    folder = FoldFolder(fold_dir)
    model = load_fold_model(cfg, fold_dir, device, provenance)
    scores = score_test_set([model], data, cfg.eval, Compute(device, autocast_dtype(cfg.train.amp, device)),
                            {FOLD_MODELS: PostProcessing()})
    scores.insert(0, "fold", folder.number)
    write_csv(with_provenance(scores, provenance), folder.test_metrics_csv)
    return scores


def load_fold_model(cfg: ExperimentConfig, fold_dir: Path, device: torch.device,
                    provenance: Provenance) -> nn.Module:
    """A fold's selected model, refused if it was trained on another split."""
    best = FoldFolder(fold_dir).best_pt
    saved = checkpoint.load(best)
    provenance.check(saved.get("provenance"), best, fold_fix(fold_dir))
    model = place_model(build_fold_model(cfg.model, cfg.input), device, cfg.train.channels_last)
    model.load_state_dict(saved["model"])
    return compile_network(model.eval(), cfg.eval.compile, device, setting="eval.compile")


def load_fold_models(cfg: ExperimentConfig, data: PreparedData, cell_dir: Path,
                     device: torch.device) -> list[nn.Module]:
    return [load_fold_model(cfg, CellFolder(cell_dir).fold(k).path, device, fold_provenance(data, k))
            for k in range(1, data.development.folds + 1)]
