"""What a user sees with stdout redirected to a file (CI, nohup, SLURM): a line per epoch and per
fold, progress for caching, scoring and post-processing, and after Ctrl-C what was saved and the
command that resumes. Run as a real process, as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

BUSBENCH = Path(sys.executable).parent / "busbench"


def _config(tmp_path: Path, epochs: int) -> Path:
    config = {"name": "tiny", "output_dir": str(tmp_path / "runs"),
              "data": {"dataset": "synthetic", "options": {"count": 30, "size": 40, "seed": 1}},
              "split": {"folds": 2}, "input": {"size": 32}, "model": {"kwargs": {"base_channels": 4}},
              "train": {"epochs": epochs, "batch_size": 8, "threads": 1}}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _run(*args: str, stdout: Path) -> subprocess.CompletedProcess[str]:
    with open(stdout, "w") as out:
        return subprocess.run([str(BUSBENCH), *args], stdout=out, stderr=subprocess.PIPE, text=True, timeout=600,
                              check=False)


def test_a_redirected_run_prints_a_line_per_epoch_and_fold(tmp_path: Path) -> None:
    log = tmp_path / "stdout.txt"
    done = _run("run", str(_config(tmp_path, 2)), stdout=log)
    assert done.returncode == 0, done.stderr
    text = log.read_text()
    for fold in (1, 2):
        for epoch in (1, 2):
            line = next(x for x in text.splitlines() if f"fold {fold} epoch {epoch}/2 " in x)
            for part in ("train_loss", "val_dice", "lr ", "s best", "ETA" if epoch == 1 else "done"):
                assert part in line, (part, line)
        assert f"fold {fold}/2 done: 2 epochs, test Dice" in text
    for step in ("preparing synthetic", "splitting 30 images", "caching 30 images", "scoring the best model",
                 "choosing post-processing on", "post-processing chosen:", "scoring the 2-model ensemble"):
        assert step in text, step
    assert "Held-out test set" in text  # the final table follows the lines


def test_quiet_prints_no_progress_and_log_file_keeps_it(tmp_path: Path) -> None:
    log = tmp_path / "stdout.txt"
    done = _run("--quiet", "--log-file", str(tmp_path / "busbench.log"), "run", str(_config(tmp_path, 1)),
                stdout=log)
    assert done.returncode == 0, done.stderr
    assert "epoch 1/1" not in log.read_text() and "Held-out test set" in log.read_text()
    assert "fold 2 epoch 1/1 train_loss" in (tmp_path / "busbench.log").read_text()


def _interrupt_after(args: list[str], line: str, log: Path) -> tuple[int, str]:
    """Start ``busbench ARGS``, press Ctrl-C once ``line`` is printed; exit code and stderr."""
    with open(log, "w") as out:
        process = subprocess.Popen([str(BUSBENCH), *args], stdout=out, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while line not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, f"{line!r} never appeared"
            time.sleep(0.2)
        os.kill(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=120)
    return process.returncode, " ".join(err.split())


def test_ctrl_c_says_what_was_saved_and_how_to_resume(tmp_path: Path) -> None:
    config = _config(tmp_path, 200)
    log = tmp_path / "stdout.txt"
    code, message = _interrupt_after(["run", str(config)], "fold 1 epoch 2/200", log)
    assert code == 130
    assert "interrupted." in message and "fold-1/last.pt (fold 1, epoch" in message
    assert f"Resume with the same command: {sys.executable} -m busbench run {config}" in message
    code, _ = _interrupt_after(["run", str(config)], "fold 1 epoch ", log)
    assert code == 130
    assert "fold 1: resuming after epoch" in log.read_text()


def test_a_swallowed_interrupt_still_stops_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from busbench import interrupt, pipeline
    from busbench.config import load_config

    cfg = load_config(_config(tmp_path, 3))
    monkeypatch.setattr(interrupt, "_received", [signal.SIGINT])  # Ctrl-C came, its first raise was lost
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_cell(cfg)
    assert not list((tmp_path / "runs").rglob("last.pt")), "training must stop within the first epoch"
