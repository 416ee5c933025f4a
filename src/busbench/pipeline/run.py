"""The one place that orders a run's steps: prepare -> split -> cache -> train folds -> score each
on the test set -> post-processing and ensemble -> cross-dataset scores -> tables."""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import Any

import pandas as pd
import torch

from busbench.config import ExperimentConfig
from busbench.environment import environment
from busbench.errors import BusbenchError
from busbench.evaluate.headline import headline_metrics
from busbench.layout.folders import RunFolder
from busbench.layout.locks import lock_file, locked
from busbench.log import counted, logger
from busbench.models import check_plugin_input, resolve_model
from busbench.pipeline.checks import check_cell_artefacts, check_cell_config
from busbench.pipeline.ensemble import finish_cell, score_cross_datasets
from busbench.pipeline.folds import CellRun, run_fold
from busbench.pipeline.prepared import prepare_data
from busbench.pipeline.resources import JobResources, fold_job_resources
from busbench.pipeline.tables import aggregate_cell, write_run_summary
from busbench.records import RunEnvironment, update_environment
from busbench.train.callbacks import EpochCallback
from busbench.train.device import choose_precision, log_precision, resolve_device
from busbench.train.init_source import check_init_source
from busbench.train.tracking_mlflow import log_cell_summary


def cell_id(cfg: ExperimentConfig) -> str:
    """``<dataset key>/<model key>`` (``-seed<N>`` for a cell of ``train.seeds``): how a cell is named on
    disk and by ``--cell``."""
    return f"{cfg.data.key()}/{cfg.cell_key()}"


def run_cell(cfg: ExperimentConfig, folds: list[int] | None = None,
             callbacks: Sequence[EpochCallback] = ()) -> list[dict[str, Any]]:
    """Run one (dataset, model) cell: the requested folds (all by default); once all are done,
    post-processing, the ensemble and the tables. Returns the summary rows (none until then)."""
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    device = resolve_device(cfg.train.device)
    data = prepare_data(cfg)
    n_folds = data.development.folds
    cell = RunFolder(cfg.output_dir, cfg.name).cell(cell_id(cfg))
    cell_dir = cell.path
    check_cell_config(cell_dir, cfg)
    check_cell_artefacts(cell_dir, data)
    check_init_source(cfg.model.init_from, cfg.model.init_from_test_overlap, data.manifest, data.test_ids(),
                      cfg.split.settings().duplicates, str(data.split_path))
    precision = choose_precision(cfg.train.amp, device)
    differs = update_environment(RunEnvironment.model_validate({
        **environment(device), "device": str(device), "precision": precision.name,
        "precision_reason": precision.reason, "split_file": data.split_path.name,
        "data_folder": str(data.split_path.parent.resolve()), "manifest_sha256": data.manifest.sha256,
        "split_sha256": data.split_sha256,
        "test_set_sha256": data.test_set_sha256, "model_origin": resolve_model(cfg.model.name).origin,
        "white_level": data.manifest.white_level}), cell_dir)  # white_level: read by predict
    if differs:
        changes = ", ".join(f"{name} {first} -> {now}" for name, (first, now) in differs.items())
        logger.warning(f"warning: cell {cell_id(cfg)} was started with another machine or software ({changes}); "
                       f"{cell.environment_json} keeps what it was started with, and each fold's done.json "
                       "records what trained it")
    todo = folds or list(range(1, n_folds + 1))
    for fold in todo:
        if not 1 <= fold <= n_folds:
            raise BusbenchError(f"--fold {fold}: the split {data.split_path} has folds 1..{n_folds}")
    logger.info(f"cell {cell_id(cfg)}: {cfg.model.name} on {cfg.data.dataset}, folds {todo} of {n_folds}, "
                f"{counted(cfg.train.epochs, 'epoch')} at most, {cfg.input.size} px, {device}; writing {cell_dir}")
    log_precision(precision)
    to_train = [fold for fold in todo if not cell.fold(fold).done]
    run = CellRun(cfg, data, cell_dir, device, cell_id(cfg), callbacks)
    for fold in todo:
        later = to_train[to_train.index(fold) + 1:] if fold in to_train else []
        run_fold(run, fold, folds_after=len(later))
    if not all(cell.fold(k).done for k in range(1, n_folds + 1)):
        return []
    # the last fold jobs to end may both get here: one finishes the cell, the other then reads it
    with locked(lock_file(cell_dir, "finish"), f"finishing cell {cell_id(cfg)}"):
        finish_cell(cfg, data, cell_dir, device)
        score_cross_datasets(cfg, data, cell_dir, device)
        rows = aggregate_cell(cfg, data, cell_dir)
        log_cell_summary(cfg.tracking_target(), cell_dir, cell_id(cfg), headline_metrics(rows))
        return rows


def plan_jobs(cfg: ExperimentConfig) -> tuple[list[tuple[str, int]], JobResources]:
    """Prepare every dataset of the experiment once (so that parallel jobs never race to write
    it), then list its (cell, fold) jobs and the cores and memory that each of them may need."""
    jobs, needs = [], []
    for cell in cfg.cells():
        data = prepare_data(cell)
        for other in cell.eval.cross_datasets:
            prepare_data(cell.model_copy(update={"data": other}))
        folds = data.split.folds
        jobs += [(cell_id(cell), fold) for fold in range(1, folds + 1)]
        needs.append(fold_job_resources(cell, data))
    return jobs, reduce(JobResources.most, needs)


def run_experiment(cfg: ExperimentConfig, folds: list[int] | None = None,
                   cells: list[str] | None = None) -> pd.DataFrame:
    """Every cell of the experiment (or those named in ``cells``); the summary rows of those finished now."""
    chosen = [cell for cell in cfg.cells() if not cells or cell_id(cell) in cells]
    for cell in chosen:  # a plugin's forward pass, before preparing anything (config validation builds no model)
        check_plugin_input(cell.model.name, cell.input.size, cell.input.channels, cell.model.kwargs)
    if cells and len(chosen) != len(set(cells)):
        known = ", ".join(cell_id(c) for c in cfg.cells())
        raise BusbenchError(f"--cell {sorted(set(cells) - {cell_id(c) for c in chosen})}: not in this experiment "
                            f"(its cells: {known})")
    rows = [row for cell in chosen for row in run_cell(cell, folds)]
    if rows:  # rebuilt from every finished cell of the run folder, earlier runs of the same name included
        write_run_summary(RunFolder(cfg.output_dir, cfg.name), [cell_id(cell) for cell in cfg.cells()])
    return pd.DataFrame(rows)
