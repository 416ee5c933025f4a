"""`busbench run`: prepare -> split -> cache -> train folds -> score each on the test set -> aggregate.

Layout under ``output_dir``::

    data/<dataset key>/            manifest, split-<settings>.json, cache/  (shared by every model)
    <name>/<dataset key>/<model>/  config.yaml, environment.json,
                                   fold-<k>/ {provenance.json, last.pt, best.pt, log.csv, test_metrics.csv,
                                              done.json},
                                   postprocessing.json (+ _trials.csv), ensemble_metrics.csv,
                                   cross_dataset_metrics.csv (with eval.cross_datasets),
                                   per_image_metrics.csv, fold_summary.csv, summary.csv, summary.md
    <name>/summary.csv, summary.md one row per (dataset, model)

A fold is finished when its ``done.json`` exists; it is written last and atomically, so a rerun
skips finished folds and resumes an interrupted one from its ``last.pt``. Once every fold is done,
post-processing is chosen on the out-of-fold predictions of the development cases, and the fold
ensemble is scored on the test set, with and without it.

Every artefact records its provenance (``busbench.data.provenance``). Before a cell does any work,
each artefact already in it is checked against the current split, so a fold trained before a
re-split is refused at once, with the fold named, instead of being reused.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import torch
import yaml
from torch import nn

from busbench.config import ExperimentConfig
from busbench.data.access import DevelopmentSplit, development_split
from busbench.data.cache import Cache, build_cache
from busbench.data.duplicates import cross_duplicate_links
from busbench.data.manifest import MANIFEST_META, Manifest, file_sha256, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.provenance import Provenance, frame_provenance, ids_sha256, with_provenance
from busbench.data.split import (
    IMAGE_LEVEL,
    TEST,
    case_ids,
    large_group_warnings,
    plan_split,
    read_split,
    read_user_links,
    split_command,
    split_file_name,
    write_split,
)
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
from busbench.evaluate.metrics import CSV_MISSING, convention_notes
from busbench.evaluate.postprocess import PostProcessing, choose_postprocessing
from busbench.log import duration, logger, note_saved
from busbench.models import resolve_model
from busbench.report.markdown import markdown_table
from busbench.train import checkpoint
from busbench.train.compile import compile_network
from busbench.train.device import autocast_dtype, resolve_device
from busbench.train.init_source import check_init_source
from busbench.train.trainer import EpochHook, build_fold_model, train_fold

DONE = "done.json"
FOLD_PROVENANCE = "provenance.json"
# Settings that change where or how fast a run goes, not what it computes: they may differ on a
# rerun (a copied run folder resumes).
RUNTIME_KEYS = {(None, "output_dir"), ("train", "device"), ("train", "workers"), ("train", "threads"),
                ("eval", "batch_size")}
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
CROSS_OVERLAP_CSV = "cross_dataset_overlap.csv"
POSTPROCESSING_JSON = "postprocessing.json"


@dataclass(frozen=True)
class PreparedData:
    manifest: Manifest
    split_path: Path
    split: dict[str, object]
    cache: Cache

    @property
    def test_set_sha256(self) -> str:
        return str(self.split["test_set_sha256"])

    @cached_property
    def split_sha256(self) -> str:
        return file_sha256(self.split_path)

    @cached_property
    def development(self) -> DevelopmentSplit:
        """The cross-validation folds without the test cases, read once for the whole cell."""
        return development_split(self.split_path, self.manifest)

    def test_ids(self) -> list[str]:
        """The held-out test case ids: only for provenance checks and final scoring."""
        return case_ids(self.split, TEST)

    def provenance(self, train_ids: list[str]) -> Provenance:
        return Provenance(self.manifest.sha256, self.split_sha256, self.test_set_sha256, ids_sha256(train_ids))


def prepare_data(cfg: ExperimentConfig) -> PreparedData:
    """Manifest, frozen split and cache of the config's dataset, made once and reused.

    The split file is named by its settings, so splits of other settings (fold counts, say) live
    beside it; an existing one is only read, and refused if the manifest changed since.
    """
    data_dir = cfg.output_dir / "data" / cfg.data.key()
    if not (data_dir / MANIFEST_META).is_file():
        if cfg.data.root is None and cfg.data.dataset != "synthetic":
            raise BusbenchError(
                f"data.root is required for dataset {cfg.data.dataset!r}: the folder it was unpacked into"
            )
        root = cfg.data.root or data_dir / "raw"
        logger.info(f"preparing {cfg.data.dataset} from {root} into {data_dir}")
        prepared = prepare_dataset(cfg.data.dataset, root, data_dir, cfg.data.options)
        logger.info(f"manifest: {len(prepared.frame)} images ({len(prepared.log.problems)} files dropped or fixed, "
                    f"see {data_dir})")
    manifest = load_manifest(data_dir)
    settings = cfg.split.settings()
    split_path = data_dir / split_file_name(settings, read_user_links(settings.links_file, manifest))
    if split_path.is_file():
        document = read_split(split_path, manifest, split_command(manifest.path, settings))
    else:
        logger.info(f"splitting {len(manifest.frame)} images (duplicate search included)")
        document = plan_split(manifest, settings)
        write_split(document, split_path)
        logger.info(f"split written: {split_path}")
    for line in large_group_warnings(document, split_path):
        logger.warning(line)
    cache = build_cache(manifest, cfg.input.size, cfg.input.resize, cfg.input.channels)
    return PreparedData(manifest, split_path, document, cache)


def _comparable(cfg: ExperimentConfig) -> dict[str, object]:
    dumped = cfg.model_dump(mode="json")
    for section, key in RUNTIME_KEYS:
        (dumped if section is None else dumped[section]).pop(key, None)
    return dumped


def _differences(old: dict[str, object], new: dict[str, object], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested setting dicts."""
    keys = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            keys.append(f"{prefix}{key}")
    return keys


def _started(cell_dir: Path) -> bool:
    """Whether any fold of the cell has begun (after that its settings are fixed)."""
    return any(cell_dir.glob("fold-*/*"))


def _check_cell_config(cell_dir: Path, cfg: ExperimentConfig) -> None:
    path = cell_dir / "config.yaml"
    if path.is_file() and _started(cell_dir):
        old = ExperimentConfig.model_validate(yaml.safe_load(path.read_text()))
        changed = _differences(_comparable(old), _comparable(cfg))
        if changed:
            raise BusbenchError(
                f"{path}: this run folder's folds were made with other settings ({', '.join(changed[:6])}); give "
                "the experiment a new `name`, or delete the folder to start again"
            )
    cell_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(cfg.to_yaml())


def _write_json_atomic(payload: dict[str, object], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def _fold_fix(fold_dir: Path) -> str:
    return (f"Delete {fold_dir} to train fold {fold_dir.name.split('-')[1]} again on the current split, or restore "
            "the data and split it was made on")


def _cell_fix(cell_dir: Path) -> str:
    return f"Delete {cell_dir} to recompute this cell on the current split, or restore the data it was made on"


def fold_provenance(data: PreparedData, fold: int) -> Provenance:
    return data.provenance(data.development.train_ids(fold))


def cell_provenance(data: PreparedData) -> Provenance:
    """The ensemble's provenance: it was trained on every development case."""
    return data.provenance(data.development.case_ids())


def check_cell_artefacts(cell_dir: Path, data: PreparedData) -> None:
    """Refuse, before any work, a cell holding artefacts made on another split."""
    folds = data.development.folds
    for fold_dir in sorted(cell_dir.glob("fold-*")):
        fold = int(fold_dir.name.split("-")[1])
        if not any(fold_dir.iterdir()):
            continue
        record = fold_dir / FOLD_PROVENANCE
        recorded = json.loads(record.read_text()) if record.is_file() else None
        if not 1 <= fold <= folds:
            raise BusbenchError(f"{fold_dir}: the current split {data.split_path.name} has folds 1..{folds} only. "
                                f"{_fold_fix(fold_dir)}")
        fold_provenance(data, fold).check(recorded, record, _fold_fix(fold_dir))
    if (cell_dir / ENSEMBLE_CSV).is_file():
        table = pd.read_csv(cell_dir / ENSEMBLE_CSV, dtype=str, keep_default_na=False)
        cell_provenance(data).check(frame_provenance(table, cell_dir / ENSEMBLE_CSV), cell_dir / ENSEMBLE_CSV,
                                    _cell_fix(cell_dir))
    if (cell_dir / CROSS_CSV).is_file():  # other datasets' test sets: only the models' training cases are ours
        cross = pd.read_csv(cell_dir / CROSS_CSV, dtype=str, keep_default_na=False)
        for fold, rows in cross.groupby("fold"):
            if set(rows["train_ids_sha256"]) != {fold_provenance(data, int(fold)).train_ids_sha256}:
                raise BusbenchError(f"{cell_dir / CROSS_CSV}: made by fold models trained on other cases (fold "
                                    f"{fold}) than the current split's. {_cell_fix(cell_dir)}")


def training_images(data: PreparedData, train_ids: list[str]) -> dict[str, object]:
    """What a checkpoint records of its training images, so that a later use of its weights
    (``model.init_from``) can check them against another test set."""
    pixels = data.manifest.frame.set_index("case_id").loc[train_ids, "pixel_sha256"].tolist()
    return {"manifest": str(data.manifest.path.resolve()), "dataset": data.manifest.dataset,
            "case_ids": list(train_ids), "pixel_sha256": pixels}


def run_fold(cfg: ExperimentConfig, data: PreparedData, fold: int, cell_dir: Path, device: torch.device,
             on_epoch_end: EpochHook | None = None) -> None:
    """Train fold model ``fold`` (resuming if interrupted) and score it on the test set."""
    fold_dir = cell_dir / f"fold-{fold}"
    development = data.development
    provenance = fold_provenance(data, fold)
    if (fold_dir / DONE).is_file():
        provenance.check(json.loads((fold_dir / DONE).read_text()).get("provenance"), fold_dir / DONE,
                         _fold_fix(fold_dir))
        logger.info(f"fold {fold}: already done ({fold_dir / DONE}), skipped")
        return
    fold_dir.mkdir(parents=True, exist_ok=True)
    _write_json_atomic(provenance.as_dict(), fold_dir / FOLD_PROVENANCE)
    started = time.perf_counter()
    state = train_fold(cfg, development, data.cache, fold, fold_dir, device, on_epoch_end, provenance,
                       training_images(data, development.train_ids(fold)))
    trained = time.perf_counter()
    model = load_fold_model(cfg, fold_dir, device, provenance)
    logger.info(f"fold {fold}: scoring the best model (epoch {state.best_epoch}) on {len(data.test_ids())} test images")
    scores = score_test_set([model], data.manifest, data.split_path, data.cache, cfg.eval, device,
                            {FOLD_MODELS: PostProcessing()}, autocast_dtype(cfg.train.amp, device))
    scores.insert(0, "fold", fold)
    with_provenance(scores, provenance).to_csv(fold_dir / "test_metrics.csv", index=False, lineterminator="\n",
                                               float_format="%.6f")
    _write_json_atomic({"fold": fold, "best_epoch": state.best_epoch, "best_score": state.best_score,
                        "select_metric": cfg.train.select_metric, "epochs_run": state.epoch,
                        "stopped_early": state.stopped_early, "train_seconds": trained - started,
                        "test_seconds": time.perf_counter() - trained, "test_images": len(scores),
                        "provenance": provenance.as_dict()}, fold_dir / DONE)
    note_saved(f"{fold_dir / DONE} (fold {fold} finished)")
    early = " (stopped early)" if state.stopped_early else ""
    logger.info(f"fold {fold}/{development.folds} done: {state.epoch} epochs{early}, test Dice "
                f"{scores['dice'].mean():.4f} on {len(scores)} images, {duration(trained - started)} training, "
                f"{duration(time.perf_counter() - trained)} scoring")


def load_fold_model(cfg: ExperimentConfig, fold_dir: Path, device: torch.device,
                    provenance: Provenance) -> nn.Module:
    """A fold's selected model, refused if it was trained on another split."""
    saved = checkpoint.load(fold_dir / checkpoint.BEST, device)
    provenance.check(saved.get("provenance"), fold_dir / checkpoint.BEST, _fold_fix(fold_dir))
    model = build_fold_model(cfg).to(device)
    model.load_state_dict(saved["model"])
    return compile_network(model.eval(), cfg.eval.compile, device, setting="eval.compile")


def load_fold_models(cfg: ExperimentConfig, data: PreparedData, cell_dir: Path,
                     device: torch.device) -> list[nn.Module]:
    return [load_fold_model(cfg, cell_dir / f"fold-{k}", device, fold_provenance(data, k))
            for k in range(1, data.development.folds + 1)]


def choose_cell_postprocessing(cfg: ExperimentConfig, data: PreparedData, models: list[nn.Module],
                               device: torch.device, dtype: torch.dtype | None) -> tuple[PostProcessing, pd.DataFrame]:
    """Post-processing chosen on out-of-fold predictions: each development case predicted by the
    fold model that did not train on it. Reads development cases only."""
    development = data.development
    rows = data.manifest.frame.set_index("case_id", drop=False)
    masks, truths = [], []
    for fold, model in enumerate(models, start=1):
        for case_id, probability in original_size_probabilities([model], data.cache, development.val_ids(fold), device,
                                                                cfg.eval.batch_size, dtype, cfg.eval.tta):
            masks.append(probability >= cfg.eval.threshold)
            truths.append(data.manifest.lesion(rows.loc[case_id]))
    return choose_postprocessing(masks, truths)


def finish_cell(cfg: ExperimentConfig, data: PreparedData, cell_dir: Path, device: torch.device) -> None:
    """Choose post-processing and score the fold ensemble on the test set (once)."""
    if (cell_dir / ENSEMBLE_CSV).is_file():
        return
    development = data.development
    provenance = cell_provenance(data)
    dtype = autocast_dtype(cfg.train.amp, device)
    models = load_fold_models(cfg, data, cell_dir, device)
    variants = {ENSEMBLE: PostProcessing()}
    chosen = PostProcessing()
    if cfg.eval.postprocess:
        logger.info(f"choosing post-processing on {len(development.case_ids())} out-of-fold development predictions")
        chosen, trials = choose_cell_postprocessing(cfg, data, models, device, dtype)
        logger.info(f"post-processing chosen: {chosen.describe()}")
        trials.to_csv(cell_dir / "postprocessing_trials.csv", index=False, lineterminator="\n", float_format="%.6f")
        variants[ENSEMBLE_POSTPROCESSED] = chosen
    _write_json_atomic({"postprocessing": asdict(chosen), "chosen_on": "out-of-fold development predictions",
                        "tta": list(cfg.eval.tta), "threshold": cfg.eval.threshold,
                        "provenance": provenance.as_dict()}, cell_dir / POSTPROCESSING_JSON)
    logger.info(f"scoring the {len(models)}-model ensemble on {len(data.test_ids())} test images")
    scores = score_test_set(models, data.manifest, data.split_path, data.cache, cfg.eval, device, variants, dtype)
    scores.insert(0, "fold", 0)
    tmp = cell_dir / (ENSEMBLE_CSV + ".tmp")
    with_provenance(scores, provenance).to_csv(tmp, index=False, lineterminator="\n", float_format="%.6f")
    os.replace(tmp, cell_dir / ENSEMBLE_CSV)


def score_cross_datasets(cfg: ExperimentConfig, data: PreparedData, cell_dir: Path, device: torch.device) -> None:
    """Each fold model scored on the held-out test set of every ``eval.cross_datasets`` dataset.

    A test image of the other dataset that the fold model trained on (an exact or near-duplicate
    of one of its training images) is dropped from its scores and counted in
    ``cross_dataset_overlap.csv``; with ``eval.cross_dataset_overlap: keep`` it is scored and marked.
    """
    if not cfg.eval.cross_datasets or (cell_dir / CROSS_CSV).is_file():
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
            scores = score_test_set([model], target.manifest, target.split_path, target.cache, cfg.eval, device,
                                    {FOLD_MODELS: PostProcessing()}, dtype)
            scores["seen_in_training"] = scores["case_id"].isin(seen)
            if cfg.eval.cross_dataset_overlap == "drop":
                scores = scores[~scores["seen_in_training"]]
            overlaps.append({"test_dataset": other.key(), "fold": fold, "test_images": len(target.test_ids()),
                             "seen_in_training": len(seen), "handling": cfg.eval.cross_dataset_overlap,
                             "case_ids": " ".join(sorted(seen))})
            frames.append(with_provenance(scores.assign(fold=fold, test_dataset=other.key()),
                                          target.provenance(development.train_ids(fold))))
    pd.DataFrame(overlaps).to_csv(cell_dir / CROSS_OVERLAP_CSV, index=False, lineterminator="\n")
    table = pd.concat(frames, ignore_index=True)
    tmp = cell_dir / (CROSS_CSV + ".tmp")
    table.to_csv(tmp, index=False, lineterminator="\n", float_format="%.6f")
    os.replace(tmp, cell_dir / CROSS_CSV)


def _read_metrics(path: Path, provenance: Provenance, fix: str) -> pd.DataFrame:
    """A metrics table, refused if it was made on another split."""
    table = pd.read_csv(path, dtype={"case_id": str}, keep_default_na=False, na_values=CSV_MISSING)
    provenance.check(frame_provenance(table, path), path, fix)
    return table


LEAKY_SPLIT_NOTE = ("LEAKY SPLIT: split: image-level (duplicates and patients not grouped; split.protocol="
                    "image_level), as published benchmarks split: test images can have copies in training")


def protocol_notes(cfg: ExperimentConfig) -> list[str]:
    """Deviations from the fair protocol that the user asked for, stated in every table."""
    notes = []
    if cfg.split.protocol == IMAGE_LEVEL:
        notes.append(LEAKY_SPLIT_NOTE)
    if cfg.model.init_from is not None and cfg.model.init_from_test_overlap == "allow":
        notes.append(f"OVERRIDE: model.init_from weights ({cfg.model.init_from}) were not checked against the test "
                     "set (model.init_from_test_overlap=allow)")
    if cfg.eval.cross_datasets and cfg.eval.cross_dataset_overlap == "keep":
        notes.append("OVERRIDE: cross-dataset scores include test images the model trained on "
                     "(eval.cross_dataset_overlap=keep)")
    notes += convention_notes(cfg.eval.hd95_space, cfg.eval.hd95_empty, cfg.input.size)
    return notes


def aggregate_cell(cfg: ExperimentConfig, data: PreparedData, cell_dir: Path) -> list[dict[str, object]]:
    """Write the cell's tables from its files; returns its summary rows (fold models, ensembles)."""
    development = data.development
    per_image = pd.concat([_read_metrics(cell_dir / f"fold-{k}" / "test_metrics.csv",
                                         fold_provenance(data, k), _fold_fix(cell_dir / f"fold-{k}"))
                           for k in range(1, data.development.folds + 1)])
    per_image.to_csv(cell_dir / "per_image_metrics.csv", index=False, lineterminator="\n", float_format="%.6f")
    per_fold = fold_summaries(per_image)
    per_fold.to_csv(cell_dir / "fold_summary.csv", lineterminator="\n", float_format="%.6f")
    identity = {"dataset": cfg.data.key(), "model": cfg.model.key(), "test_set_sha256": data.test_set_sha256,
                "notes": " | ".join(protocol_notes(cfg))}
    rows: list[dict[str, object]] = [{**identity, "variant": FOLD_MODELS, **mean_std(per_fold)}]
    ensemble = _read_metrics(cell_dir / ENSEMBLE_CSV, cell_provenance(data), _cell_fix(cell_dir))
    for variant, scores in ensemble.groupby("variant", sort=False):
        rows.append({**identity, "variant": variant, **mean_std(fold_summaries(scores))})
    pd.DataFrame(rows).to_csv(cell_dir / "summary.csv", index=False, lineterminator="\n", float_format="%.6f")
    _write_tables(rows, cfg, development.folds, cell_dir)
    return rows


def key_legend(cfg: ExperimentConfig) -> list[str]:
    """One line per dataset or model key with a hash: the settings the hash stands for."""
    lines = {}
    for cell in cfg.cells():
        for key, described in ((cell.data.key(), cell.data.describe()), (cell.model.key(), cell.model.describe())):
            if key != described:
                lines[key] = f"{key} = {described}"
    return [lines[k] for k in sorted(lines)]


def _write_tables(rows: list[dict[str, object]], cfg: ExperimentConfig, folds: int, folder: Path) -> None:
    table = pd.DataFrame([{"dataset": r["dataset"], "model": r["model"], **formatted(r)} for r in rows])
    note = CONVENTIONS.format(hd95=cfg.eval.hd95, folds=folds, tta=", ".join(cfg.eval.tta) or "none")
    notes = sorted({n for r in rows for n in str(r.get("notes", "")).split(" | ") if n})
    legend = ["Keys: " + "; ".join(key_legend(cfg))] if key_legend(cfg) else []
    (folder / "summary.md").write_text("\n".join([markdown_table(table), note, *legend, *notes]) + "\n")


def run_cell(cfg: ExperimentConfig, folds: list[int] | None = None,
             on_epoch_end: EpochHook | None = None) -> list[dict[str, object]]:
    """Run one (dataset, model) cell: the requested folds (all by default); once all are done,
    post-processing, the ensemble and the tables. Returns the summary rows (none until then)."""
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    device = resolve_device(cfg.train.device)
    data = prepare_data(cfg)
    development = data.development
    n_folds = development.folds
    cell_dir = cfg.output_dir / cfg.name / cell_id(cfg)
    _check_cell_config(cell_dir, cfg)
    check_cell_artefacts(cell_dir, data)
    check_init_source(cfg.model.init_from, cfg.model.init_from_test_overlap, data.manifest, data.test_ids(),
                      cfg.split.settings().duplicates, str(data.split_path))
    _write_json_atomic({**environment(), "device": str(device), "split_file": data.split_path.name,
                        "manifest_sha256": data.manifest.sha256, "split_sha256": data.split_sha256,
                        "test_set_sha256": data.test_set_sha256,
                        "model_origin": resolve_model(cfg.model.name).origin}, cell_dir / "environment.json")
    todo = folds or list(range(1, n_folds + 1))
    for fold in todo:
        if not 1 <= fold <= n_folds:
            raise BusbenchError(f"--fold {fold}: the split {data.split_path} has folds 1..{n_folds}")
    logger.info(f"cell {cell_id(cfg)}: {cfg.model.name} on {cfg.data.dataset}, folds {todo} of {n_folds}, "
                f"{cfg.train.epochs} epochs at most, {cfg.input.size} px, {device}; writing {cell_dir}")
    for fold in todo:
        run_fold(cfg, data, fold, cell_dir, device, on_epoch_end)
    if not all((cell_dir / f"fold-{k}" / DONE).is_file() for k in range(1, n_folds + 1)):
        return []
    finish_cell(cfg, data, cell_dir, device)
    score_cross_datasets(cfg, data, cell_dir, device)
    return aggregate_cell(cfg, data, cell_dir)


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
        folds = int(data.split["folds"])
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
