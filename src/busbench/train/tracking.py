"""Experiment tracking: each fold model's epochs and test scores in TensorBoard and MLflow.

Both are off by default and optional extras (``busbench[tensorboard]``, ``busbench[mlflow]``),
imported only when the ``tracking`` section turns them on. They are ``EpochCallback``s of the
trainer, so they log exactly the values of ``log.csv`` and the progress line.

* TensorBoard: event files in ``<run>/fold-<k>/tensorboard/``; scalars ``train/loss``,
  ``val/loss``, ``val/dice``, ``val/iou``, ``val/lesion_dice``, ``lr`` and ``time/epoch_seconds``
  per epoch, and ``test/<metric>`` at the last epoch.
* MLflow: one run per fold (named ``<dataset>/<model>/fold-<k>``) in the experiment named by the
  config's ``name``, with the resolved config as params, the same per-epoch metrics
  (``train_loss``, ``val_dice``, ...), the test scores (``test_dice``, ...), and the fold's
  files and, once every fold is done, the cell's summary files as artifacts. The store is
  ``MLFLOW_TRACKING_URI`` when set, else a local file store ``<output_dir>/mlruns`` (view it with
  ``mlflow ui --backend-store-uri <output_dir>/mlruns`` of the full ``mlflow`` package). An interrupted
  fold resumes its run.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from busbench.config import TrackingTarget
from busbench.errors import BusbenchError
from busbench.layout.atomic import write_json
from busbench.layout.folders import (
    ENSEMBLE_CSV,
    FOLD_PREFIX,
    FOLD_SUMMARY_CSV,
    MLFLOW_RUN,
    MLFLOW_STORE,
    POSTPROCESSING_JSON,
    SUMMARY_CSV,
    SUMMARY_MD,
    FoldFolder,
)
from busbench.train.callbacks import EpochRecord

CELL_ARTIFACTS = (SUMMARY_CSV, SUMMARY_MD, FOLD_SUMMARY_CSV, ENSEMBLE_CSV, POSTPROCESSING_JSON)
MLFLOW_BATCH = 100  # MLflow's most params per log_batch call
NOT_LOGGED = ("epoch",)  # the step, not a value


class FoldTracker(Protocol):
    def __call__(self, record: EpochRecord) -> None: ...

    def finish(self, test_scores: Mapping[str, object], files: list[Path]) -> None: ...


def missing_extra(extra: str, package: str) -> BusbenchError:
    return BusbenchError(f"tracking.{extra}: true needs {package}, which is not installed; "
                         f"pip install 'busbench[{extra}]' (or set tracking.{extra}: false)")


def _numbers(values: Mapping[str, object]) -> dict[str, float]:
    """The finite numeric values, as floats (NaN, e.g. a lesion Dice without lesions, is left out)."""
    kept = {}
    for key, value in values.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value)):
            kept[key] = float(value)
    return kept


def tensorboard_tag(key: str) -> str:
    """``train_loss`` -> ``train/loss``; ``lr`` stays ``lr``; ``seconds`` -> ``time/epoch_seconds``."""
    if key == "seconds":
        return "time/epoch_seconds"
    split, sep, metric = key.partition("_")
    return f"{split}/{metric}" if sep and split in ("train", "val") else key


class TensorBoardTracker:
    """Event files of one fold model."""

    def __init__(self, fold_dir: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise missing_extra("tensorboard", "tensorboard") from exc
        self.writer = SummaryWriter(log_dir=str(FoldFolder(fold_dir).tensorboard))
        self.last_epoch = 0

    def __call__(self, record: EpochRecord) -> None:
        for key, value in _numbers(record.values).items():
            if key not in NOT_LOGGED:
                self.writer.add_scalar(tensorboard_tag(key), value, record.epoch)
        self.writer.flush()  # an interrupted run keeps its epochs
        self.last_epoch = record.epoch

    def finish(self, test_scores: Mapping[str, object], files: list[Path]) -> None:
        for key, value in _numbers(test_scores).items():
            self.writer.add_scalar(f"test/{key}", value, self.last_epoch)
        self.writer.close()


def mlflow_uri(output_dir: Path) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else the local file store under ``output_dir``."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    # MLflow 3 keeps its file store but asks for this opt-in; mlflow-skinny has no SQL store.
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return (Path(output_dir).resolve() / MLFLOW_STORE).as_uri()


def flat_params(values: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested settings as dotted keys (``train.epochs``) and string values, as MLflow params."""
    flat: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            flat.update(flat_params(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value if isinstance(value, str) else json.dumps(value, default=str)
    return flat


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


class MlflowTracker:
    """One MLflow run for one fold model."""

    def __init__(self, target: TrackingTarget, fold_dir: Path, fold: int, cell: str) -> None:
        uri = mlflow_uri(target.output_dir)
        self.client = _client(uri)
        from mlflow.entities import Param
        saved = FoldFolder(fold_dir).mlflow_run_json
        previous = json.loads(saved.read_text()) if saved.is_file() else {}
        if previous.get("tracking_uri") == uri:
            self.run_id = str(previous["run_id"])
            return
        run = self.client.create_run(_experiment_id(self.client, target.experiment), run_name=f"{cell}/fold-{fold}",
                                     tags={"busbench.cell": cell, "busbench.fold": str(fold)})
        self.run_id = run.info.run_id
        params = [Param(k, v) for k, v in flat_params(target.params).items()]
        for start in range(0, len(params), MLFLOW_BATCH):
            self.client.log_batch(self.run_id, params=params[start:start + MLFLOW_BATCH])
        fold_dir.mkdir(parents=True, exist_ok=True)
        write_json({"tracking_uri": uri, "run_id": self.run_id}, saved)

    def _log(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, step) for k, v in values.items()])

    def __call__(self, record: EpochRecord) -> None:
        values = {k: v for k, v in _numbers(record.values).items() if k not in NOT_LOGGED}
        self._log(values, record.epoch)

    def finish(self, test_scores: Mapping[str, object], files: list[Path]) -> None:
        self._log({f"test_{k}": v for k, v in _numbers(test_scores).items()}, 0)
        for path in files:
            self.client.log_artifact(self.run_id, str(path))
        self.client.set_terminated(self.run_id)


def fold_trackers(target: TrackingTarget, fold_dir: Path, fold: int, cell: str) -> list[FoldTracker]:
    """The trackers the ``tracking`` section turns on for one fold (none by default)."""
    trackers: list[FoldTracker] = []
    if target.settings.tensorboard:
        trackers.append(TensorBoardTracker(fold_dir))
    if target.settings.mlflow:
        trackers.append(MlflowTracker(target, fold_dir, fold, cell))
    return trackers


def log_cell_summary(target: TrackingTarget, cell_dir: Path) -> None:
    """The cell's summary files, once every fold is done, as artifacts of each fold's MLflow run."""
    if not target.settings.mlflow:
        return
    mlflow_uri(target.output_dir)  # the file store's opt-in
    files = [cell_dir / name for name in CELL_ARTIFACTS if (cell_dir / name).is_file()]
    for saved in sorted(cell_dir.glob(f"{FOLD_PREFIX}*/{MLFLOW_RUN}")):
        run = json.loads(saved.read_text())
        client = _client(run["tracking_uri"])
        for path in files:
            client.log_artifact(run["run_id"], str(path), artifact_path="cell")
