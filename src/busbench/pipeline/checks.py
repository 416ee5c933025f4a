"""Checks made before a cell does any work: its settings are those its folds were made with, and
every artefact already in it was made on the current split (so a fold trained before a re-split
is refused at once, with the fold named, instead of being reused)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from busbench.config import ExperimentConfig
from busbench.data.prepared import PreparedData
from busbench.data.provenance import frame_provenance
from busbench.errors import BusbenchError
from busbench.evaluate.table_checks import check_cross_table
from busbench.layout import (
    BEST,
    CONFIG_YAML,
    CROSS_CSV,
    CROSS_OVERLAP_CSV,
    DONE,
    ENSEMBLE_CSV,
    FOLD_PROVENANCE,
    fold_folders,
    fold_number,
    folds_started,
    read_json,
    write_text,
)
from busbench.pipeline.prepared import cell_provenance, fold_provenance
from busbench.records import read_done
from busbench.train import checkpoint

# Settings that change where or how fast a run goes, not what it computes: they may differ on a
# rerun (a copied run folder resumes).
RUNTIME_KEYS = {(None, "output_dir"), ("train", "device"), ("train", "workers"), ("train", "threads"),
                ("eval", "batch_size"), ("tracking", "tensorboard"), ("tracking", "mlflow")}


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


def check_cell_config(cell_dir: Path, cfg: ExperimentConfig) -> None:
    """Refuse other settings than those the cell's folds were made with; record the settings."""
    path = cell_dir / CONFIG_YAML
    if path.is_file() and folds_started(cell_dir):
        old = ExperimentConfig.model_validate(yaml.safe_load(path.read_text()))
        changed = _differences(_comparable(old), _comparable(cfg))
        if changed:
            raise BusbenchError(
                f"{path}: this run folder's folds were made with other settings ({', '.join(changed[:6])}); give "
                "the experiment a new `name`, or delete the folder to start again"
            )
    cell_dir.mkdir(parents=True, exist_ok=True)
    write_text(cfg.to_yaml(), path)


def fold_fix(fold_dir: Path) -> str:
    return (f"Delete {fold_dir} to train fold {fold_number(fold_dir)} again on the current split, or restore "
            "the data and split it was made on")


def done_fix(fold_dir: Path) -> str:
    """How to recover a damaged ``done.json``: the fold is scored again from its ``best.pt``."""
    return (f"delete it and run the same command again: fold {fold_number(fold_dir)} is scored again from its "
            f"{BEST} without retraining")


def cell_fix(cell_dir: Path) -> str:
    return f"Delete {cell_dir} to recompute this cell on the current split, or restore the data it was made on"


def check_cell_artefacts(cell_dir: Path, data: PreparedData) -> None:
    """Refuse, before any work, a cell holding artefacts made on another split."""
    folds = data.development.folds
    for fold_dir in fold_folders(cell_dir):
        fold = fold_number(fold_dir)
        if not any(fold_dir.iterdir()):
            continue
        record = fold_dir / FOLD_PROVENANCE
        recorded = read_json(record, fold_fix(fold_dir)) if record.is_file() else None
        if not 1 <= fold <= folds:
            raise BusbenchError(f"{fold_dir}: the current split {data.split_path.name} has folds 1..{folds} only. "
                                f"{fold_fix(fold_dir)}")
        fold_provenance(data, fold).check(recorded, record, fold_fix(fold_dir))
        if (fold_dir / DONE).is_file():
            checkpoint.verify_checkpoints(fold_dir, read_done(fold_dir, done_fix(fold_dir)).checkpoints,
                                          fold_dir / DONE, fold_fix(fold_dir))
    if (cell_dir / ENSEMBLE_CSV).is_file():
        table = pd.read_csv(cell_dir / ENSEMBLE_CSV, dtype=str, keep_default_na=False)
        cell_provenance(data).check(frame_provenance(table, cell_dir / ENSEMBLE_CSV), cell_dir / ENSEMBLE_CSV,
                                    cell_fix(cell_dir))
    if (cell_dir / CROSS_CSV).is_file():  # other datasets' test sets: only the models' training cases are ours
        cross = pd.read_csv(cell_dir / CROSS_CSV, dtype=str, keep_default_na=False)
        for fold, rows in cross.groupby(cross["fold"].astype(int)):
            if set(rows["train_ids_sha256"]) != {fold_provenance(data, fold).train_ids_sha256}:
                raise BusbenchError(f"{cell_dir / CROSS_CSV}: made by fold models trained on other cases (fold "
                                    f"{fold}) than the current split's. {cell_fix(cell_dir)}")
        check_cross_table(cross, cell_dir / CROSS_CSV, cell_dir / CROSS_OVERLAP_CSV,
                          f"Delete {cell_dir / CROSS_CSV} to score the other datasets again")
