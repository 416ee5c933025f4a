"""The epoch line's ETA covers the training left to the process: the rest of this fold and every
fold it trains after it, at the epoch time measured so far (fake times here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_file import console_file

from busbench.train.callbacks import EpochRecord, log_progress

VALUES = {"epoch": 3.0, "lr": 1e-3, "train_loss": 0.5, "val_loss": 0.4, "val_dice": 0.7, "seconds": 30.0}


def _record(epoch: int, folds_after: int, finished: bool = False) -> EpochRecord:
    return EpochRecord(fold=1, epoch=epoch, epochs=10, values=VALUES, best_score=0.7, best_epoch=epoch,
                       finished=finished, stopped_early=False, seconds_per_epoch=30.0, folds_after=folds_after)


@pytest.mark.parametrize(("epoch", "folds_after", "finished", "seconds", "shown"), [
    (3, 2, False, 30 * (7 + 2 * 10), "ETA 13m30s (this fold and 2 more folds, at most)"),
    (3, 1, False, 30 * (7 + 10), "ETA 8m30s (this fold and 1 more fold, at most)"),
    (3, 0, False, 30 * 7, "ETA 3m30s (at most)"),
    (4, 1, True, 30 * 10, "fold done, ETA 5m00s (1 more fold, at most)"),  # stopped early: the next fold is left
    (10, 0, True, 0, "done"),
])
def test_the_eta_covers_this_fold_and_the_folds_after_it(epoch: int, folds_after: int, finished: bool, seconds: int,
                                                         shown: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    record = _record(epoch, folds_after, finished)
    assert record.seconds_left() == seconds
    with console_file(tmp_path / "stdout.txt", monkeypatch) as out:
        log_progress(record)
    assert out.read_text().endswith(f"(epoch {epoch}) {shown}\n")


@pytest.mark.parametrize(("spent", "folds_after", "finished", "seconds"), [
    (100.0, 2, False, 20 + 2 * 120),  # the budgets, far below 997 + 2000 epochs of 30 s
    (130.0, 0, False, 0),  # past the budget by the last epoch: nothing left
    (120.0, 1, True, 120),
])
def test_the_eta_is_at_most_the_time_budgets_left(spent: float, folds_after: int, finished: bool,
                                                  seconds: float) -> None:
    record = EpochRecord(fold=1, epoch=3, epochs=1000, values=VALUES, best_score=0.7, best_epoch=3, finished=finished,
                         stopped_early=False, seconds_per_epoch=30.0, folds_after=folds_after, max_seconds=120.0,
                         seconds_spent=spent)
    assert record.seconds_left() == seconds
