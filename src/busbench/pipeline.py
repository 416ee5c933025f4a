"""`busbench run`: prepare -> split -> cache -> train folds -> score each on the test set -> aggregate.

Layout under ``output_dir``::

    data/<dataset key>/            manifest, split.json, cache/  (shared by every model: same test set)
    <name>/<dataset key>/<model>/  config.yaml, environment.json,
                                   fold-<k>/ {last.pt, best.pt, log.csv, test_metrics.csv, done.json},
                                   per_image_metrics.csv, fold_summary.csv, summary.csv, summary.md
    <name>/summary.csv, summary.md one row per (dataset, model)

A fold is finished when its ``done.json`` exists; it is written last and atomically, so a rerun
skips finished folds and resumes an interrupted one from its ``last.pt``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
import yaml

from busbench.config import ExperimentConfig
from busbench.data.access import development_split
from busbench.data.cache import Cache, build_cache
from busbench.data.manifest import MANIFEST_META, Manifest, file_sha256, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.split import SplitSettings, plan_split, read_split, write_split
from busbench.environment import environment
from busbench.errors import BusbenchError
from busbench.evaluate.aggregate import fold_summaries, formatted, mean_std
from busbench.evaluate.final import score_test_set
from busbench.report.markdown import markdown_table
from busbench.train import checkpoint
from busbench.train.device import autocast_dtype, resolve_device
from busbench.train.trainer import EpochHook, build_fold_model, train_fold

DONE = "done.json"
SPLIT_FILE = "split.json"
# Settings that change how fast a run goes, not what it computes: they may differ on a rerun.
RUNTIME_KEYS = {("train", "device"), ("train", "workers"), ("train", "threads"), ("eval", "batch_size")}
CONVENTIONS = (
    "Dice, IoU, precision, recall, specificity, accuracy and HD95 (px, {hd95}) per test image at its original "
    "size; a fold model's score is the mean over test images; mean ± sample std over the {folds} fold models. "
    "Empty masks: both empty -> Dice 1, HD95 0 (both_empty); one empty -> Dice 0, HD95 = image diagonal "
    "(missed_lesion, false_alarm); counts per fold model."
)


@dataclass(frozen=True)
class PreparedData:
    manifest: Manifest
    split_path: Path
    cache: Cache


def prepare_data(cfg: ExperimentConfig) -> PreparedData:
    """Manifest, frozen split and cache of the config's dataset, made once and reused."""
    data_dir = cfg.output_dir / "data" / cfg.data.key()
    if not (data_dir / MANIFEST_META).is_file():
        if cfg.data.root is None and cfg.data.dataset != "synthetic":
            raise BusbenchError(
                f"data.root is required for dataset {cfg.data.dataset!r}: the folder it was unpacked into"
            )
        root = cfg.data.root or data_dir / "raw"
        prepare_dataset(cfg.data.dataset, root, data_dir, cfg.data.options)
    manifest = load_manifest(data_dir)
    split_path = data_dir / SPLIT_FILE
    s = cfg.split
    settings = SplitSettings(s.test_size, s.folds, s.seed, s.official, s.official_test_fold)
    write_split(plan_split(manifest, settings), split_path)  # refuses to change a frozen split
    cache = build_cache(manifest, cfg.input.size, cfg.input.resize, cfg.input.channels)
    return PreparedData(manifest, split_path, cache)


def _comparable(cfg: ExperimentConfig) -> dict[str, object]:
    dumped = cfg.model_dump(mode="json")
    for section, key in RUNTIME_KEYS:
        dumped[section].pop(key, None)
    return dumped


def _check_cell_config(cell_dir: Path, cfg: ExperimentConfig) -> None:
    path = cell_dir / "config.yaml"
    if path.is_file():
        old = ExperimentConfig.model_validate(yaml.safe_load(path.read_text()))
        if _comparable(old) != _comparable(cfg):
            raise BusbenchError(
                f"{path}: this run folder was made with other settings; give the experiment a new `name` "
                "(or `output_dir`), or delete the folder to start again"
            )
    cell_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(cfg.to_yaml())


def _write_json_atomic(payload: dict[str, object], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def run_fold(cfg: ExperimentConfig, data: PreparedData, fold: int, cell_dir: Path, device: torch.device,
             on_epoch_end: EpochHook | None = None) -> None:
    """Train fold model ``fold`` (resuming if interrupted) and score it on the test set."""
    fold_dir = cell_dir / f"fold-{fold}"
    if (fold_dir / DONE).is_file():
        return
    started = time.perf_counter()
    development = development_split(data.split_path, data.manifest)
    state = train_fold(cfg, development, data.cache, fold, fold_dir, device, on_epoch_end)
    trained = time.perf_counter()
    model = build_fold_model(cfg).to(device)
    model.load_state_dict(checkpoint.load(fold_dir / checkpoint.BEST, device)["model"])
    scores = score_test_set(model, data.manifest, data.split_path, data.cache, cfg.eval, device,
                            autocast_dtype(cfg.train.amp, device))
    scores.insert(0, "fold", fold)
    scores.to_csv(fold_dir / "test_metrics.csv", index=False, lineterminator="\n", float_format="%.6f")
    _write_json_atomic({"fold": fold, "best_epoch": state.best_epoch, "best_score": state.best_score,
                        "select_metric": cfg.train.select_metric, "epochs_run": state.epoch,
                        "stopped_early": state.stopped_early, "train_seconds": trained - started,
                        "test_seconds": time.perf_counter() - trained, "test_images": len(scores)},
                       fold_dir / DONE)


def aggregate_cell(cfg: ExperimentConfig, cell_dir: Path, folds: int) -> dict[str, object] | None:
    """Write the cell's tables once every fold is done; returns its summary row."""
    if not all((cell_dir / f"fold-{k}" / DONE).is_file() for k in range(1, folds + 1)):
        return None
    per_image = pd.concat([pd.read_csv(cell_dir / f"fold-{k}" / "test_metrics.csv", dtype={"case_id": str},
                                       keep_default_na=False) for k in range(1, folds + 1)])
    per_image.to_csv(cell_dir / "per_image_metrics.csv", index=False, lineterminator="\n", float_format="%.6f")
    per_fold = fold_summaries(per_image)
    per_fold.to_csv(cell_dir / "fold_summary.csv", lineterminator="\n", float_format="%.6f")
    row: dict[str, object] = {"dataset": cfg.data.key(), "model": cfg.model.key(), **mean_std(per_fold)}
    pd.DataFrame([row]).to_csv(cell_dir / "summary.csv", index=False, lineterminator="\n", float_format="%.6f")
    table = markdown_table(pd.DataFrame([{"dataset": row["dataset"], "model": row["model"], **formatted(row)}]))
    note = CONVENTIONS.format(hd95=cfg.eval.hd95, folds=folds)
    (cell_dir / "summary.md").write_text(table + "\n" + note + "\n")
    return row


def run_cell(cfg: ExperimentConfig, folds: list[int] | None = None,
             on_epoch_end: EpochHook | None = None) -> dict[str, object] | None:
    """Run one (dataset, model) cell: the requested folds (all by default), then aggregate."""
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    device = resolve_device(cfg.train.device)
    data = prepare_data(cfg)
    document = read_split(data.split_path, data.manifest)
    n_folds = int(document["folds"])
    cell_dir = cfg.output_dir / cfg.name / cfg.data.key() / cfg.model.key()
    _check_cell_config(cell_dir, cfg)
    _write_json_atomic({**environment(), "device": str(device), "manifest_sha256": data.manifest.sha256,
                        "split_sha256": file_sha256(data.split_path), "test_set_sha256": document["test_set_sha256"]},
                       cell_dir / "environment.json")
    for fold in folds or range(1, n_folds + 1):
        if not 1 <= fold <= n_folds:
            raise BusbenchError(f"--fold {fold}: the split {data.split_path} has folds 1..{n_folds}")
        run_fold(cfg, data, fold, cell_dir, device, on_epoch_end)
    return aggregate_cell(cfg, cell_dir, n_folds)


def run_experiment(cfg: ExperimentConfig, folds: list[int] | None = None) -> pd.DataFrame:
    """Every cell of the experiment; the combined summary of the finished ones."""
    rows = [row for cell in cfg.cells() if (row := run_cell(cell, folds)) is not None]
    summary = pd.DataFrame(rows)
    if rows:
        out = cfg.output_dir / cfg.name
        summary.to_csv(out / "summary.csv", index=False, lineterminator="\n", float_format="%.6f")
        table = pd.DataFrame([{"dataset": r["dataset"], "model": r["model"], **formatted(r)} for r in rows])
        note = CONVENTIONS.format(hd95=cfg.eval.hd95, folds=int(rows[0]["folds"]))
        (out / "summary.md").write_text(markdown_table(table) + "\n" + note + "\n")
    return summary
