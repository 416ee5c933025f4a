"""A cell run with stdout in a file: the epoch line's ETA counts the folds this process still
trains (not those already done), and the post-processing search and the scoring print progress."""

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
        if (epoch.fold, epoch.epoch) == (2, 1) and len(seen) == 3:
            raise _Stop  # interrupted in fold 2: the rerun resumes it, fold 1 is done

    with console_file(tmp_path / "first.txt", monkeypatch) as first:
        with pytest.raises(_Stop):
            pipeline.run_cell(cfg, callbacks=[record])
    with console_file(tmp_path / "second.txt", monkeypatch) as second:
        pipeline.run_cell(cfg, callbacks=[record])
    assert seen == [(1, 1, 2), (1, 2, 2), (2, 1, 1), (2, 2, 1), (3, 1, 0), (3, 2, 0)]
    text = first.read_text()
    assert "fold 1 epoch 1/2 " in text and " (this fold and 2 more folds, at most)" in text
    assert "fold done, ETA " in text and "(2 more folds, at most)" in text
    text = second.read_text()
    assert "fold 1: already done" in text
    assert "fold done, ETA " in text and "(1 more fold, at most)" in text
    assert "fold 3 epoch 2/2 " in text and text.count(") done\n") == 1
    for fold in (1, 2, 3):
        assert f"post-processing search: predicting fold {fold}'s validation images: " in text
    assert "post-processing search: fill_holes (2/5): " in text
    tests = len(pipeline.prepare_data(cfg).test_ids())
    assert f"scoring 3 model(s) on the test images: {tests}/{tests} (100 %)" in text  # the ensemble
