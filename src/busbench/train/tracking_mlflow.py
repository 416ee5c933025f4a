"""MLflow: one parent run per cell, its fold models' runs nested under it.

* A cell's run (``busbench.level`` = ``cell``, named by the cell id) holds the config as params, the git
  commit (``mlflow.source.git.commit``), ``config.yaml`` and ``environment.json``, and, once every fold
  is done, the cell's summary as metrics (``dice_mean``, ``dice_std``, ``ensemble_dice``,
  ``ensemble_pp_dice``, ...: the UI sorts models by them) and its summary files as artifacts.
* A fold's run (``<cell>/fold-<k>``, tag ``mlflow.parentRunId``) holds the config as params, the
  per-epoch metrics (``train_loss``, ``val_dice``, ...), the test scores (``test_dice``, ...),
  ``best_epoch`` and ``epochs_run``, and the fold's files (its ``best.pt`` too with ``tracking.mlflow_models``).

The parent is found by its tags (experiment, ``busbench.cell``, ``busbench.level``), not kept in
memory, so fold jobs of separate processes (``--fold k``, a cluster array, a resumed run) nest under
the one run the first of them created; a lock in the cell folder keeps two from creating it at once.
An interrupted fold resumes its own run (its id is kept in the fold's ``mlflow_run.json``). The store
is ``MLFLOW_TRACKING_URI`` when set, else a local file store ``<output_dir>/mlruns``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from busbench.config import TrackingTarget
from busbench.environment import git_commit
from busbench.layout.atomic import write_json
from busbench.layout.folders import MLFLOW_STORE, CellFolder, FoldFolder
from busbench.layout.locks import lock_file, locked
from busbench.records import read_environment
from busbench.train.callbacks import EpochRecord
from busbench.train.tracking_values import NOT_LOGGED, finite_numbers, flat_params, missing_extra

MLFLOW_BATCH = 100  # MLflow's most params per log_batch call
LEVEL = "busbench.level"  # "cell" for a cell's parent run, "fold" for a fold model's run
GIT_COMMIT = "mlflow.source.git.commit"  # the tag MLflow's UI shows as the run's commit


def mlflow_uri(output_dir: Path) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else the local file store under ``output_dir``."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    # MLflow 3 keeps its file store but asks for this opt-in; mlflow-skinny has no SQL store.
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return (Path(output_dir).resolve() / MLFLOW_STORE).as_uri()


def _client(uri: str) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise missing_extra("mlflow", "mlflow-skinny") from exc
    return MlflowClient(uri)


def _experiment_id(client: Any, name: str) -> str:
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    try:
        return str(client.create_experiment(name))
    except MlflowException:  # another fold job created it first
        return str(client.get_experiment_by_name(name).experiment_id)


def _commit_tags(commit: str | None) -> dict[str, str]:
    return {GIT_COMMIT: commit} if commit else {}


def _log_params(client: Any, run_id: str, params: Mapping[str, str]) -> None:
    from mlflow.entities import Param

    entries = [Param(k, v) for k, v in params.items()]
    for start in range(0, len(entries), MLFLOW_BATCH):
        client.log_batch(run_id, params=entries[start:start + MLFLOW_BATCH])


def _log_metrics(client: Any, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    entries = [Metric(k, v, now, step) for k, v in metrics.items()]
    for start in range(0, len(entries), MLFLOW_BATCH):
        client.log_batch(run_id, metrics=entries[start:start + MLFLOW_BATCH])


def _log_files(client: Any, run_id: str, files: list[Path]) -> None:
    for path in files:
        if path.is_file():
            client.log_artifact(run_id, str(path))


def cell_run(client: Any, target: TrackingTarget, cell_dir: Path, cell: str) -> str:
    """The id of the cell's parent run: the one with its tags in the experiment, created if there is none.
    Each job of the cell that calls it logs the cell's ``config.yaml``, ``environment.json`` and the git commit
    that file records (what the cell was started with; each fold run is tagged with the commit that trains it)."""
    experiment = _experiment_id(client, target.experiment)
    query = f"tags.`busbench.cell` = '{cell}' AND tags.`{LEVEL}` = 'cell'"
    with locked(lock_file(cell_dir, "mlflow"), f"the MLflow run of cell {cell}"):
        found = client.search_runs([experiment], query, max_results=1, order_by=["attributes.start_time ASC"])
        if found:
            run_id = str(found[0].info.run_id)
        else:
            run_id = str(client.create_run(experiment, run_name=cell,
                                           tags={"busbench.cell": cell, LEVEL: "cell"}).info.run_id)
            _log_params(client, run_id, flat_params(target.params))
    for key, value in _commit_tags(read_environment(cell_dir).git_commit).items():
        client.set_tag(run_id, key, value)
    folder = CellFolder(cell_dir)
    _log_files(client, run_id, [folder.config_yaml, folder.environment_json])
    return run_id


class MlflowTracker:
    """One MLflow run for one fold model, nested under its cell's run."""

    def __init__(self, target: TrackingTarget, fold_dir: Path, fold: int, cell: str) -> None:
        uri = mlflow_uri(target.output_dir)
        self.client = _client(uri)
        self.model = [FoldFolder(fold_dir).best_pt] if target.settings.mlflow_models else []
        saved = FoldFolder(fold_dir).mlflow_run_json
        previous = json.loads(saved.read_text()) if saved.is_file() else {}
        if previous.get("tracking_uri") == uri:
            self.run_id = str(previous["run_id"])
            return
        cell_dir = fold_dir.parent
        parent = cell_run(self.client, target, cell_dir, cell)
        run = self.client.create_run(_experiment_id(self.client, target.experiment), run_name=f"{cell}/fold-{fold}",
                                     tags={"busbench.cell": cell, "busbench.fold": str(fold), LEVEL: "fold",
                                           "mlflow.parentRunId": parent, **_commit_tags(git_commit())})
        self.run_id = run.info.run_id
        _log_params(self.client, self.run_id, flat_params(target.params))
        fold_dir.mkdir(parents=True, exist_ok=True)
        write_json({"tracking_uri": uri, "run_id": self.run_id}, saved)

    def __call__(self, record: EpochRecord) -> None:
        values = {k: v for k, v in finite_numbers(record.values).items() if k not in NOT_LOGGED}
        _log_metrics(self.client, self.run_id, values, record.epoch)

    def finish(self, test_scores: Mapping[str, object], fold_values: Mapping[str, float], files: list[Path]) -> None:
        metrics = {f"test_{k}": v for k, v in finite_numbers(test_scores).items()}
        _log_metrics(self.client, self.run_id, {**metrics, **finite_numbers(fold_values)})
        _log_files(self.client, self.run_id, [*files, *self.model])
        self.client.set_terminated(self.run_id)


def log_cell_summary(target: TrackingTarget, cell_dir: Path, cell: str, metrics: Mapping[str, float]) -> None:
    """The cell's summary, once every fold is done, on its parent run: ``metrics`` (the headline numbers)
    and the summary files; the run is then finished."""
    if not target.settings.mlflow:
        return
    client = _client(mlflow_uri(target.output_dir))
    run_id = cell_run(client, target, cell_dir, cell)
    _log_metrics(client, run_id, finite_numbers(metrics))
    folder = CellFolder(cell_dir)
    _log_files(client, run_id, [folder.summary_csv, folder.summary_md, folder.fold_summary_csv,
                                folder.ensemble_metrics_csv, folder.postprocessing_json])
    client.set_terminated(run_id)
