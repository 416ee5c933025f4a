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
    # folds this process trains after this one (``busbench run`` trains a cell's folds one by one)
    folds_after: int = 0
    stop_reason: str = ""  # why the fold ended after this epoch (``trainer.stop_reason``); "" while it goes on
    max_seconds: float | None = None  # each fold's time budget (train.max_minutes), None without one
    seconds_spent: float = 0.0  # this fold's training time so far, that before a resume included

    def seconds_left(self) -> float:
        """The training time left to this process: the rest of this fold and every epoch of the
        folds after it, at this fold's mean epoch time, and at most their time budgets (an upper
        bound: early stopping may end any fold sooner)."""
        epochs_left = (0 if self.finished else self.epochs - self.epoch) + self.folds_after * self.epochs
        if self.max_seconds is None:
            return self.seconds_per_epoch * epochs_left
        this_fold = 0.0 if self.finished else max(0.0, self.max_seconds - self.seconds_spent)
        return min(self.seconds_per_epoch * epochs_left, this_fold + self.folds_after * self.max_seconds)


EpochCallback = Callable[[EpochRecord], None]

# why a fold's training ended (``trainer.stop_reason``, ``done.json``'s ``stop_reason``)
EPOCHS, PATIENCE, BUDGET = "epochs", "patience", "budget"
# the progress line's note on a fold that ended before its last epoch
STOP_NOTES = {PATIENCE: " (stopped early)", BUDGET: " (stopped: train.max_minutes reached)"}


def _remaining(record: EpochRecord) -> str:
    """``done``, ``ETA 12m30s (at most)``, or with folds to come ``ETA 40m (this fold and 2 more
    folds, at most)`` / ``fold done, ETA 25m (2 more folds, at most)``."""
    eta = f"ETA {duration(record.seconds_left())}"
    if record.folds_after == 0:
        return "done" if record.finished else f"{eta} (at most)"
    folds = f"{record.folds_after} more fold{'s' if record.folds_after > 1 else ''}"
    if record.finished:
        return f"fold done, {eta} ({folds}, at most)"
    return f"{eta} (this fold and {folds}, at most)"


def log_progress(record: EpochRecord) -> None:
    """One line per epoch: losses, validation metrics, lr, time and the training time left to
    this process, over every fold it still trains (``EpochRecord.seconds_left``)."""
    last = record.values
    metrics = " ".join(f"{k} {v:.4f}" for k, v in last.items() if k.startswith("val_"))
    remaining = _remaining(record)
    logger.info(f"fold {record.fold} epoch {record.epoch}/{record.epochs} train_loss {last['train_loss']:.4f} "
                f"{metrics} lr {last['lr']:.2e} {last['seconds']:.1f}s best {record.best_score:.4f} "
                f"(epoch {record.best_epoch}) {remaining}{STOP_NOTES.get(record.stop_reason, '')}")
