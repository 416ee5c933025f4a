"""`busbench run`: prepare -> split -> cache -> train folds -> score each on the test set -> aggregate.

Layout under ``output_dir``::

    data/<dataset key>/            manifest, split.json, cache/  (shared by every model: same test set)
    <name>/<dataset key>/<model>/  config.yaml, environment.json,
                                   fold-<k>/ {last.pt, best.pt, log.csv, test_metrics.csv, done.json},
                                   postprocessing.json (+ _trials.csv), ensemble_metrics.csv,
                                   cross_dataset_metrics.csv (with eval.cross_datasets),
                                   per_image_metrics.csv, fold_summary.csv, summary.csv, summary.md
    <name>/summary.csv, summary.md one row per (dataset, model)

A fold is finished when its ``done.json`` exists; it is written last and atomically, so a rerun
skips finished folds and resumes an interrupted one from its ``last.pt``. Once every fold is done,
post-processing is chosen on the out-of-fold predictions of the development cases, and the fold
ensemble is scored on the test set, with and without it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import torch
import yaml
from torch import nn

from busbench.config import ExperimentConfig
from busbench.data.access import development_split
from busbench.data.cache import Cache, build_cache
from busbench.data.manifest import MANIFEST_META, Manifest, file_sha256, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.split import SPLIT_FILE, SplitSettings, plan_split, read_split, write_split
from busbench.environment import environment
from busbench.errors import BusbenchError
from busbench.evaluate.aggregate import (
    ENSEMBLE,
    ENSEMBLE_POSTPROCESSED,
    FOLD_MODELS,
    fold_summaries,
    formatted,
    mean_std,
)
from busbench.evaluate.final import score_test_set
from busbench.evaluate.inference import original_size_probabilities
from busbench.evaluate.postprocess import PostProcessing, choose_postprocessing
from busbench.report.markdown import markdown_table
from busbench.train import checkpoint
from busbench.train.device import autocast_dtype, resolve_device
from busbench.train.trainer import EpochHook, build_fold_model, train_fold

DONE = "done.json"
# Settings that change how fast a run goes, not what it computes: they may differ on a rerun.
RUNTIME_KEYS = {("train", "device"), ("train", "workers"), ("train", "threads"), ("eval", "batch_size")}
CONVENTIONS = (
    "Dice, IoU, precision, recall, specificity, accuracy and HD95 (px, {hd95}) per test image at its original "
    "size; a model's score is the mean over test images. 'fold models': mean ± sample std over the {folds} fold "
    "models. 'ensemble': the fold models' probabilities averaged, one model. 'ensemble + post-processing': with "
    "the steps chosen on out-of-fold development predictions (postprocessing.json). Test-time augmentation: "
    "{tta}. Empty masks: both empty -> Dice 1, HD95 0; one empty -> Dice 0, HD95 = image diagonal; their counts "
    "(per model) stand beside the metrics."
)
ENSEMBLE_CSV = "ensemble_metrics.csv"
CROSS_CSV = "cross_dataset_metrics.csv"
POSTPROCESSING_JSON = "postprocessing.json"


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
    settings = SplitSettings(**s.model_dump())
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
    model = load_fold_model(cfg, fold_dir, device)
    scores = score_test_set([model], data.manifest, data.split_path, data.cache, cfg.eval, device,
                            {FOLD_MODELS: PostProcessing()}, autocast_dtype(cfg.train.amp, device))
    scores.insert(0, "fold", fold)
    scores.to_csv(fold_dir / "test_metrics.csv", index=False, lineterminator="\n", float_format="%.6f")
    _write_json_atomic({"fold": fold, "best_epoch": state.best_epoch, "best_score": state.best_score,
                        "select_metric": cfg.train.select_metric, "epochs_run": state.epoch,
                        "stopped_early": state.stopped_early, "train_seconds": trained - started,
                        "test_seconds": time.perf_counter() - trained, "test_images": len(scores)},
                       fold_dir / DONE)


def load_fold_model(cfg: ExperimentConfig, fold_dir: Path, device: torch.device) -> nn.Module:
    model = build_fold_model(cfg).to(device)
    model.load_state_dict(checkpoint.load(fold_dir / checkpoint.BEST, device)["model"])
    return model.eval()


def choose_cell_postprocessing(cfg: ExperimentConfig, data: PreparedData, models: list[nn.Module],
                               device: torch.device, dtype: torch.dtype | None) -> tuple[PostProcessing, pd.DataFrame]:
    """Post-processing chosen on out-of-fold predictions: each development case predicted by the
    fold model that did not train on it. Reads development cases only."""
    development = development_split(data.split_path, data.manifest)
    rows = data.manifest.frame.set_index("case_id", drop=False)
    masks, truths = [], []
    for fold, model in enumerate(models, start=1):
        for case_id, probability in original_size_probabilities([model], data.cache, development.val_ids(fold), device,
                                                                cfg.eval.batch_size, dtype, cfg.eval.tta):
            masks.append(probability >= cfg.eval.threshold)
            truths.append(data.manifest.lesion(rows.loc[case_id]))
    return choose_postprocessing(masks, truths)


def finish_cell(cfg: ExperimentConfig, data: PreparedData, cell_dir: Path, folds: int, device: torch.device) -> None:
    """Choose post-processing and score the fold ensemble on the test set (once)."""
    if (cell_dir / ENSEMBLE_CSV).is_file():
        return
    dtype = autocast_dtype(cfg.train.amp, device)
    models = [load_fold_model(cfg, cell_dir / f"fold-{k}", device) for k in range(1, folds + 1)]
    variants = {ENSEMBLE: PostProcessing()}
    chosen = PostProcessing()
    if cfg.eval.postprocess:
        chosen, trials = choose_cell_postprocessing(cfg, data, models, device, dtype)
        trials.to_csv(cell_dir / "postprocessing_trials.csv", index=False, lineterminator="\n", float_format="%.6f")
        variants[ENSEMBLE_POSTPROCESSED] = chosen
    _write_json_atomic({"postprocessing": asdict(chosen), "chosen_on": "out-of-fold development predictions",
                        "tta": list(cfg.eval.tta), "threshold": cfg.eval.threshold}, cell_dir / POSTPROCESSING_JSON)
    scores = score_test_set(models, data.manifest, data.split_path, data.cache, cfg.eval, device, variants, dtype)
    scores.insert(0, "fold", 0)
    tmp = cell_dir / (ENSEMBLE_CSV + ".tmp")
    scores.to_csv(tmp, index=False, lineterminator="\n", float_format="%.6f")
    os.replace(tmp, cell_dir / ENSEMBLE_CSV)


def score_cross_datasets(cfg: ExperimentConfig, cell_dir: Path, folds: int, device: torch.device) -> None:
    """Each fold model scored on the held-out test set of every ``eval.cross_datasets`` dataset."""
    if not cfg.eval.cross_datasets or (cell_dir / CROSS_CSV).is_file():
        return
    dtype = autocast_dtype(cfg.train.amp, device)
    models = [load_fold_model(cfg, cell_dir / f"fold-{k}", device) for k in range(1, folds + 1)]
    frames = []
    for other in cfg.eval.cross_datasets:
        data = prepare_data(cfg.model_copy(update={"data": other}))
        for fold, model in enumerate(models, start=1):
            scores = score_test_set([model], data.manifest, data.split_path, data.cache, cfg.eval, device,
                                    {FOLD_MODELS: PostProcessing()}, dtype)
            frames.append(scores.assign(fold=fold, test_dataset=other.key()))
    table = pd.concat(frames, ignore_index=True)
    tmp = cell_dir / (CROSS_CSV + ".tmp")
    table.to_csv(tmp, index=False, lineterminator="\n", float_format="%.6f")
    os.replace(tmp, cell_dir / CROSS_CSV)


def aggregate_cell(cfg: ExperimentConfig, cell_dir: Path, folds: int) -> list[dict[str, object]]:
    """Write the cell's tables from its files; returns its summary rows (fold models, ensembles)."""
    per_image = pd.concat([pd.read_csv(cell_dir / f"fold-{k}" / "test_metrics.csv", dtype={"case_id": str},
                                       keep_default_na=False) for k in range(1, folds + 1)])
    per_image.to_csv(cell_dir / "per_image_metrics.csv", index=False, lineterminator="\n", float_format="%.6f")
    per_fold = fold_summaries(per_image)
    per_fold.to_csv(cell_dir / "fold_summary.csv", lineterminator="\n", float_format="%.6f")
    identity = {"dataset": cfg.data.key(), "model": cfg.model.key()}
    rows: list[dict[str, object]] = [{**identity, "variant": FOLD_MODELS, **mean_std(per_fold)}]
    ensemble = pd.read_csv(cell_dir / ENSEMBLE_CSV, dtype={"case_id": str}, keep_default_na=False)
    for variant, scores in ensemble.groupby("variant", sort=False):
        rows.append({**identity, "variant": variant, **mean_std(fold_summaries(scores))})
    pd.DataFrame(rows).to_csv(cell_dir / "summary.csv", index=False, lineterminator="\n", float_format="%.6f")
    _write_tables(rows, cfg, folds, cell_dir)
    return rows


def _write_tables(rows: list[dict[str, object]], cfg: ExperimentConfig, folds: int, folder: Path) -> None:
    table = pd.DataFrame([{"dataset": r["dataset"], "model": r["model"], **formatted(r)} for r in rows])
    note = CONVENTIONS.format(hd95=cfg.eval.hd95, folds=folds, tta=", ".join(cfg.eval.tta) or "none")
    (folder / "summary.md").write_text(markdown_table(table) + "\n" + note + "\n")


def run_cell(cfg: ExperimentConfig, folds: list[int] | None = None,
             on_epoch_end: EpochHook | None = None) -> list[dict[str, object]]:
    """Run one (dataset, model) cell: the requested folds (all by default); once all are done,
    post-processing, the ensemble and the tables. Returns the summary rows (none until then)."""
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    device = resolve_device(cfg.train.device)
    data = prepare_data(cfg)
    document = read_split(data.split_path, data.manifest)
    n_folds = int(document["folds"])
    cell_dir = cfg.output_dir / cfg.name / cell_id(cfg)
    _check_cell_config(cell_dir, cfg)
    _write_json_atomic({**environment(), "device": str(device), "manifest_sha256": data.manifest.sha256,
                        "split_sha256": file_sha256(data.split_path), "test_set_sha256": document["test_set_sha256"]},
                       cell_dir / "environment.json")
    for fold in folds or range(1, n_folds + 1):
        if not 1 <= fold <= n_folds:
            raise BusbenchError(f"--fold {fold}: the split {data.split_path} has folds 1..{n_folds}")
        run_fold(cfg, data, fold, cell_dir, device, on_epoch_end)
    if not all((cell_dir / f"fold-{k}" / DONE).is_file() for k in range(1, n_folds + 1)):
        return []
    finish_cell(cfg, data, cell_dir, n_folds, device)
    score_cross_datasets(cfg, cell_dir, n_folds, device)
    return aggregate_cell(cfg, cell_dir, n_folds)


def cell_id(cfg: ExperimentConfig) -> str:
    """``<dataset key>/<model key>``: how a cell is named on disk and by ``--cell``."""
    return f"{cfg.data.key()}/{cfg.model.key()}"


def plan_jobs(cfg: ExperimentConfig) -> list[tuple[str, int]]:
    """Prepare every dataset of the experiment once (so that parallel jobs never race to write
    it), then list its (cell, fold) jobs."""
    jobs = []
    for cell in cfg.cells():
        data = prepare_data(cell)
        for other in cell.eval.cross_datasets:
            prepare_data(cell.model_copy(update={"data": other}))
        folds = int(read_split(data.split_path, data.manifest)["folds"])
        jobs += [(cell_id(cell), fold) for fold in range(1, folds + 1)]
    return jobs


def run_experiment(cfg: ExperimentConfig, folds: list[int] | None = None,
                   cells: list[str] | None = None) -> pd.DataFrame:
    """Every cell of the experiment (or those named in ``cells``); the summary rows of finished ones."""
    chosen = [cell for cell in cfg.cells() if not cells or cell_id(cell) in cells]
    if cells and len(chosen) != len(set(cells)):
        known = ", ".join(cell_id(c) for c in cfg.cells())
        raise BusbenchError(f"--cell {sorted(set(cells) - {cell_id(c) for c in chosen})}: not in this experiment "
                            f"(its cells: {known})")
    rows = [row for cell in chosen for row in run_cell(cell, folds)]
    summary = pd.DataFrame(rows)
    if rows:
        out = cfg.output_dir / cfg.name
        summary.to_csv(out / "summary.csv", index=False, lineterminator="\n", float_format="%.6f")
        _write_tables(rows, cfg, int(rows[0]["folds"]), out)
    return summary
