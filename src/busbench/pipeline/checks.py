"""Checks made before a cell does any work: its settings are those its folds were made with, and
every artefact already in it was made on the current split (so a fold trained before a re-split
is refused at once instead of being reused). Every stale artefact of a cell (its folds, ensemble and
cross-dataset scores) is listed in one refusal with one command that removes them, not one per run."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from busbench.config import ExperimentConfig
from busbench.data.prepared import PreparedData
from busbench.data.provenance import frame_provenance
from busbench.errors import BusbenchError
from busbench.evaluate.table_checks import check_cross_table, read_metrics_table
from busbench.layout.atomic import read_json, write_text
from busbench.layout.folders import (
    BEST,
    CROSS_CSV,
    CROSS_OVERLAP_CSV,
    ENSEMBLE_CALIBRATION_CSV,
    ENSEMBLE_CSV,
    FOLD_SUMMARY_CSV,
    PER_IMAGE_CSV,
    POSTPROCESSING_JSON,
    POSTPROCESSING_TRIALS_CSV,
    SUMMARY_CSV,
    SUMMARY_MD,
    CellFolder,
    FoldFolder,
)
from busbench.pipeline.prepared import cell_provenance, fold_provenance
from busbench.records import read_done
from busbench.train import checkpoint

# Settings that change where or how fast a run goes, not what it computes: they may differ on a
# rerun (a copied run folder resumes).
RUNTIME_KEYS = {(None, "output_dir"), ("train", "device"), ("train", "workers"), ("train", "threads"),
                ("eval", "batch_size"), ("tracking", "tensorboard"), ("tracking", "mlflow"),
                ("tracking", "mlflow_models")}
# A cell's files made from its folds once all are done: stale with them.
CELL_RESULTS = (POSTPROCESSING_JSON, POSTPROCESSING_TRIALS_CSV, ENSEMBLE_CSV, ENSEMBLE_CALIBRATION_CSV, CROSS_CSV,
                CROSS_OVERLAP_CSV, PER_IMAGE_CSV, FOLD_SUMMARY_CSV, SUMMARY_CSV, SUMMARY_MD)


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


def read_cell_config(cell_dir: Path) -> ExperimentConfig:
    """The settings a cell was run with (its ``config.yaml``)."""
    return ExperimentConfig.model_validate(yaml.safe_load(CellFolder(cell_dir).config_yaml.read_text()))


def check_cell_config(cell_dir: Path, cfg: ExperimentConfig) -> None:
    """Refuse other settings than those the cell's folds were made with; record the settings."""
    cell = CellFolder(cell_dir)
    path = cell.config_yaml
    if path.is_file() and cell.folds_started():
        old = read_cell_config(cell_dir)
        changed = _differences(_comparable(old), _comparable(cfg))
        if changed:
            raise BusbenchError(
                f"{path}: this run folder's folds were made with other settings ({', '.join(changed[:6])}); give "
                "the experiment a new `name`, or delete the folder to start again"
            )
    cell_dir.mkdir(parents=True, exist_ok=True)
    write_text(cfg.to_yaml(), path)


def fold_fix(fold_dir: Path) -> str:
    return (f"Delete {fold_dir} to train fold {FoldFolder(fold_dir).number} again on the current split, or restore "
            "the data and split it was made on")


def done_fix(fold_dir: Path) -> str:
    """How to recover a damaged ``done.json``: the fold is scored again from its ``best.pt``."""
    return (f"delete it and run the same command again: fold {FoldFolder(fold_dir).number} is scored again from its "
            f"{BEST} without retraining")


def cell_fix(cell_dir: Path) -> str:
    return f"Delete {cell_dir} to recompute this cell on the current split, or restore the data it was made on"


def rescore_fix(fold_dir: Path) -> str:
    """How to recover a finished fold's damaged ``test_metrics.csv``: a fold without one is scored again."""
    fold = FoldFolder(fold_dir)
    return (f"Delete {fold.test_metrics_csv} and run the same command again: fold {fold.number} is "
            f"scored again from its {BEST} without retraining")


def _stale_fold(fold_dir: Path, data: PreparedData) -> str | None:
    """Why a started fold cannot be reused on the current split, or None."""
    folder = FoldFolder(fold_dir)
    fold, folds = folder.number, data.development.folds
    if not 1 <= fold <= folds:
        return f"the current split has folds 1..{folds} only"
    record = folder.provenance_json
    recorded = read_json(record, fold_fix(fold_dir)) if record.is_file() else None
    return fold_provenance(data, fold).mismatch(recorded)


def _stale_cross(cell_dir: Path, data: PreparedData) -> str | None:
    """Why the cross-dataset scores cannot be used (other datasets' test sets: only the models' training
    cases are ours to check), or None; a cut or edited table is refused here."""
    cell = CellFolder(cell_dir)
    path = cell.cross_dataset_metrics_csv
    fix = f"Delete {path} to score the other datasets again"
    cross = read_metrics_table(path, fix)
    for fold, rows in cross.groupby(cross["fold"].astype(int)):
        if set(rows["train_ids_sha256"]) != {fold_provenance(data, fold).train_ids_sha256}:
            return f"made by fold models trained on other cases than the current split's (fold {fold})"
    check_cross_table(cross, path, cell.cross_dataset_overlap_csv, fix)
    return None


def _removal(cell_dir: Path, stale_folds: list[Path]) -> list[Path]:
    """What to delete for a cell with stale artefacts: the stale folds and every cell result (made from
    the folds), or the whole cell when none of its started folds can be kept."""
    started = [fold.path for fold in CellFolder(cell_dir).folds() if any(fold.path.iterdir())]
    if set(started) <= set(stale_folds):
        return [cell_dir]
    return [*stale_folds, *(cell_dir / name for name in CELL_RESULTS if (cell_dir / name).exists())]


def check_cell_artefacts(cell_dir: Path, data: PreparedData) -> None:
    """Refuse, before any work, a cell holding artefacts made on another split: every one of them in
    one message, with the one command that removes them."""
    stale: dict[str, list[str]] = {}  # why -> the artefacts, relative to the cell
    stale_folds = []
    cell = CellFolder(cell_dir)
    for fold in cell.folds():
        fold_dir = fold.path
        if not any(fold_dir.iterdir()):
            continue
        why = _stale_fold(fold_dir, data)
        if why:
            stale.setdefault(why, []).append(fold_dir.name)
            stale_folds.append(fold_dir)
        elif fold.done:
            checkpoint.verify_checkpoints(fold_dir, read_done(fold_dir, done_fix(fold_dir)).checkpoints,
                                          fold.done_json, fold_fix(fold_dir))
    ensemble = cell.ensemble_metrics_csv
    if ensemble.is_file():
        table = read_metrics_table(ensemble, f"Delete {ensemble} to score the ensemble again")
        why = cell_provenance(data).mismatch(frame_provenance(table, ensemble))
        if why:
            stale.setdefault(why, []).append(ENSEMBLE_CSV)
    if cell.cross_dataset_metrics_csv.is_file():
        why = _stale_cross(cell_dir, data)
        if why:
            stale.setdefault(why, []).append(CROSS_CSV)
    if stale:
        listed = "; ".join(f"{', '.join(names)} ({why})" for why, names in stale.items())
        command = "rm -r " + " ".join(shlex.quote(str(p)) for p in _removal(cell_dir, stale_folds))
        raise BusbenchError(f"{cell_dir}: holds results made on another split than the current one "
                            f"({data.split_path.name}): {listed}. Remove them with `{command}` to recompute them on "
                            "the current split, or restore the data and split they were made on")
