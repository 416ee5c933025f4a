"""Gathering results: every (dataset, model) run folder under a results folder, from its files.

A run folder is one ``busbench run`` writes (``config.yaml`` beside ``fold-<k>/`` folders). Only
finished runs (every fold's ``test_metrics.csv`` present) are reported; the others are listed as
skipped with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from busbench.config import ExperimentConfig
from busbench.errors import BusbenchError
from busbench.pipeline import CROSS_CSV, ENSEMBLE_CSV


@dataclass
class RunResults:
    """One trained (dataset, model) cell and its scores."""

    path: Path
    config: ExperimentConfig
    dataset: str
    model: str
    per_image: pd.DataFrame  # fold models: fold, case_id, label, metrics, empty_case
    ensemble: pd.DataFrame | None  # variant, case_id, ... (ensemble rows), if scored
    cross: pd.DataFrame | None  # scores on other datasets' test sets, if any
    logs: dict[int, pd.DataFrame] = field(default_factory=dict)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"case_id": str}, keep_default_na=False)


def load_run(path: Path) -> RunResults | str:
    """A finished run folder's results, or the reason it cannot be reported."""
    config = ExperimentConfig.model_validate(yaml.safe_load((path / "config.yaml").read_text()))
    folds = sorted(path.glob("fold-*"), key=lambda p: int(p.name.split("-")[1]))
    missing = [f.name for f in folds if not (f / "test_metrics.csv").is_file()]
    if not folds or missing:
        return f"{path}: unfinished ({', '.join(missing) or 'no folds'} not scored yet)"
    per_image = pd.concat([_read(f / "test_metrics.csv") for f in folds], ignore_index=True)
    ensemble = _read(path / ENSEMBLE_CSV) if (path / ENSEMBLE_CSV).is_file() else None
    cross = _read(path / CROSS_CSV) if (path / CROSS_CSV).is_file() else None
    logs = {int(f.name.split("-")[1]): pd.read_csv(f / "log.csv") for f in folds if (f / "log.csv").is_file()}
    # the folder names are the dataset and model keys `busbench run` gave them
    return RunResults(path, config, path.parent.name, path.name, per_image, ensemble, cross, logs)


def collect_runs(results_dir: Path) -> tuple[list[RunResults], list[str]]:
    """Every finished run under ``results_dir`` and the reasons others were skipped."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise BusbenchError(f"{results_dir}: no such folder; give the output_dir of `busbench run`")
    runs, skipped = [], []
    for config in sorted(results_dir.rglob("config.yaml")):
        loaded = load_run(config.parent)
        (skipped if isinstance(loaded, str) else runs).append(loaded)
    if not runs:
        raise BusbenchError(f"{results_dir}: no finished busbench runs found; run `busbench run CONFIG` first"
                            + (f" ({len(skipped)} unfinished)" if skipped else ""))
    return runs, skipped
