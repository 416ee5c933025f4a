"""What the trainer tells the outside world after each epoch.

The trainer hands one ``EpochRecord`` to every ``EpochCallback`` it was given (the progress line
first), so the progress line, TensorBoard, MLflow and a test's interrupt all read the same values
and the training loop holds no tracker calls of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from busbench.log import duration, logger


@dataclass(frozen=True)
class EpochRecord:
    """One finished epoch of one fold model, as written to ``log.csv``."""

    fold: int
    epoch: int
    epochs: int
    # the log.csv row: epoch, lr, train_loss, val_loss, val_dice, val_iou, val_lesion_dice, seconds
    values: dict[str, float]
    best_score: float
    best_epoch: int
    finished: bool
    stopped_early: bool
    # mean wall time of the epochs run since this fold (re)started, for the remaining-time estimate
    seconds_per_epoch: float


EpochCallback = Callable[[EpochRecord], None]


def log_progress(record: EpochRecord) -> None:
    """One line per epoch: losses, validation metrics, lr, time and the fold's remaining time
    (an upper bound: early stopping may end it sooner)."""
    last = record.values
    metrics = " ".join(f"{k} {v:.4f}" for k, v in last.items() if k.startswith("val_"))
    remaining = ("done" if record.finished
                 else f"ETA {duration(record.seconds_per_epoch * (record.epochs - record.epoch))} (at most)")
    logger.info(f"fold {record.fold} epoch {record.epoch}/{record.epochs} train_loss {last['train_loss']:.4f} "
                f"{metrics} lr {last['lr']:.2e} {last['seconds']:.1f}s best {record.best_score:.4f} "
                f"(epoch {record.best_epoch}) {remaining}{' (stopped early)' if record.stopped_early else ''}")
