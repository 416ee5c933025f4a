"""A cell run with stdout in a file: the epoch line's ETA counts the folds this process still
trains (not those another job finished), and the post-processing search and the scoring print progress."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_file import console_file

from busbench import pipeline
from busbench.config import load_config
from busbench.train.callbacks import EpochRecord


class _Stop(Exception):
    pass


def test_the_eta_counts_the_folds_left_and_the_long_steps_print_lines(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(None, [
        "name=tiny", f"output_dir={tmp_path}", "data.dataset=synthetic", "data.options.count=30",
        "data.options.size=40", "data.options.seed=1", "split.folds=3", "input.size=32",
        "model.kwargs.base_channels=4", "train.epochs=2", "train.batch_size=8", "train.threads=1"])
    seen: list[tuple[int, int, int]] = []

    def record(epoch: EpochRecord) -> None:
        seen.append((epoch.fold, epoch.epoch, epoch.folds_after))
        if (epoch.fold, epoch.epoch) == (2, 1) and len(seen) == 5:
            raise _Stop  # interrupted in fold 2: the rerun resumes it

    with console_file(tmp_path / "first.txt", monkeypatch) as first:
        pipeline.run_cell(cfg, folds=[3], callbacks=[record])  # a job of the last fold alone
    with console_file(tmp_path / "second.txt", monkeypatch) as second:
        with pytest.raises(_Stop):
            pipeline.run_cell(cfg, callbacks=[record])
    with console_file(tmp_path / "third.txt", monkeypatch) as third:
        pipeline.run_cell(cfg, callbacks=[record])
    # fold 3 is done before folds 1 and 2 start: it is not counted; a resumed fold counts the folds after it
    assert seen == [(3, 1, 0), (3, 2, 0), (1, 1, 1), (1, 2, 1), (2, 1, 0), (2, 2, 0)]
    assert "fold 3 epoch 2/2 " in first.read_text() and ") done\n" in first.read_text()
    text = second.read_text()
    assert "fold 1 epoch 1/2 " in text and " (this fold and 1 more fold, at most)" in text
    assert "fold done, ETA " in text and "(1 more fold, at most)" in text
    text = third.read_text()
    assert "fold 1: already done" in text and "fold 2: resuming after epoch 1" in text
    assert "fold 2 epoch 2/2 " in text and text.count(") done\n") == 1
    for fold in (1, 2, 3):
        assert f"post-processing search: predicting fold {fold}'s validation images: " in text
    assert "post-processing search: fill_holes (2/5): " in text
    tests = len(pipeline.prepare_data(cfg).test_ids())
    assert f"scoring 3 model(s) on the test images: {tests}/{tests} (100 %)" in text  # the ensemble
