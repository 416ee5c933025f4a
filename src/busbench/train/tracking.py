"""Experiment tracking: each fold model's epochs and test scores in TensorBoard and MLflow.

Both are off by default and optional extras (``busbench[tensorboard]``, ``busbench[mlflow]``),
imported only when the ``tracking`` section turns them on. They are ``EpochCallback``s of the
trainer, so they log exactly the values of ``log.csv`` and the progress line.

* TensorBoard: event files in ``<run>/<cell>/fold-<k>/tensorboard/``; scalars ``train/loss``,
  ``val/loss``, ``val/dice``, ``val/iou``, ``val/lesion_dice``, ``lr`` and ``time/epoch_seconds``
  per epoch; at the end, the fold's hparams (the resolved config as dotted keys, ``busbench.cell``,
  ``busbench.fold``) with its metrics ``test/<metric>`` and ``best_epoch``, so that TensorBoard's
  HParams tab compares every fold of every cell under ``tensorboard --logdir <run>``.
* MLflow: a parent run per cell, a nested run per fold (``busbench.train.tracking_mlflow``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from busbench.config import TrackingTarget
from busbench.layout.folders import FoldFolder
from busbench.train.callbacks import EpochRecord
from busbench.train.tracking_mlflow import MlflowTracker
from busbench.train.tracking_values import NOT_LOGGED, FoldTracker, finite_numbers, flat_hparams, missing_extra


def tensorboard_tag(key: str) -> str:
    """``train_loss`` -> ``train/loss``; ``lr`` stays ``lr``; ``seconds`` -> ``time/epoch_seconds``."""
    if key == "seconds":
        return "time/epoch_seconds"
    split, sep, metric = key.partition("_")
    return f"{split}/{metric}" if sep and split in ("train", "val") else key


class TensorBoardTracker:
    """Event files of one fold model."""

    def __init__(self, target: TrackingTarget, fold_dir: Path, fold: int, cell: str) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise missing_extra("tensorboard", "tensorboard") from exc
        self.writer = SummaryWriter(log_dir=str(FoldFolder(fold_dir).tensorboard))
        self.hparams = {**flat_hparams(target.params), "busbench.cell": cell, "busbench.fold": fold}
        self.last_epoch = 0

    def __call__(self, record: EpochRecord) -> None:
        for key, value in finite_numbers(record.values).items():
            if key not in NOT_LOGGED:
                self.writer.add_scalar(tensorboard_tag(key), value, record.epoch)
        self.writer.flush()  # an interrupted run keeps its epochs
        self.last_epoch = record.epoch

    def finish(self, test_scores: Mapping[str, object], fold_values: Mapping[str, float], files: list[Path]) -> None:
        from torch.utils.tensorboard.summary import hparams

        metrics = {**{f"test/{k}": v for k, v in finite_numbers(test_scores).items()}, **finite_numbers(fold_values)}
        events = self.writer.file_writer
        assert events is not None  # SummaryWriter opens it in its constructor
        # the hparams summaries in the fold's own event files: one HParams session per fold model
        for summary in hparams(self.hparams, metrics):
            events.add_summary(summary, self.last_epoch)
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, self.last_epoch)
        self.writer.close()


def fold_trackers(target: TrackingTarget, fold_dir: Path, fold: int, cell: str) -> list[FoldTracker]:
    """The trackers the ``tracking`` section turns on for one fold (none by default)."""
    trackers: list[FoldTracker] = []
    if target.settings.tensorboard:
        trackers.append(TensorBoardTracker(target, fold_dir, fold, cell))
    if target.settings.mlflow:
        trackers.append(MlflowTracker(target, fold_dir, fold, cell))
    return trackers
