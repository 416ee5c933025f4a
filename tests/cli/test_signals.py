"""SIGTERM, what SLURM sends at a time limit or pre-emption (and `kill`'s default), stops a run
like Ctrl-C: one line saying what was saved and the command that resumes, exit code 143. The line
fits the step: only training keeps folds and epochs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_runner import run_cli

from busbench.cli.running import BUSBENCH, FOLDS_KEPT

TINY = ["name=tiny", "data.dataset=synthetic", "data.options.count=30", "data.options.size=40", "split.folds=2",
        "input.size=32", "model.kwargs.base_channels=4", "train.epochs=500", "train.batch_size=8"]


def test_sigterm_mid_run_says_what_was_saved_and_how_to_resume(tmp_path: Path) -> None:
    config = tmp_path / "experiment.yaml"
    config.write_text("{}\n")
    command = [sys.executable, "-m", "busbench", "run", str(config), "--fold", "1",
               *[a for item in [*TINY, f"output_dir={tmp_path / 'out'}"] for a in ("--set", item)]]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    job = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 300
    while not list((tmp_path / "out").rglob("last.pt")):
        assert job.poll() is None and time.monotonic() < deadline, "the run ended before saving an epoch"
        time.sleep(0.2)
    job.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    _, err = job.communicate(timeout=60)
    assert job.returncode == 143, err
    assert time.monotonic() - sent < 30
    assert "Traceback" not in err
    message = " ".join(err.split())
    assert "stopped by SIGTERM" in message and "The last thing saved:" in message and "last.pt" in message
    assert "Resume with the same command:" in message and "--fold 1" in message
    assert not list((tmp_path / "out").rglob("*.tmp"))


def _stop(*_args: object, **_kwargs: object) -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize("step", ["prepare", "split"])
def test_an_interrupted_data_step_says_to_run_it_again_not_what_folds_keep(
        step: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "data"
    if step == "split":
        assert run_cli(monkeypatch, "prepare", "synthetic", "--out", str(out), "-o", "count=12", "-o", "size=32") == 0
    monkeypatch.setattr("busbench.data.prepare.prepare_dataset" if step == "prepare"
                        else "busbench.data.registry.planning.plan", _stop)
    args = ["prepare", "synthetic", "--out", str(out)] if step == "prepare" else ["split", str(out)]
    capsys.readouterr()
    assert run_cli(monkeypatch, *args) == 130
    assert " ".join(capsys.readouterr().err.split()) == (
        "interrupted. Files are written whole or not at all, so none is left half-written; run the same command "
        f"again: {BUSBENCH} {' '.join(args)}")


@pytest.mark.parametrize("command", ["run", "demo"])
def test_an_interrupted_run_says_what_its_folds_keep(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "experiment.yaml"
    config.write_text("{}\n")
    monkeypatch.setattr("busbench.pipeline.run_experiment", _stop)
    args = ["run", str(config), "--set", f"output_dir={tmp_path}"] if command == "run" else ["demo", "--out",
                                                                                             str(tmp_path)]
    assert run_cli(monkeypatch, *args) == 130
    message = " ".join(capsys.readouterr().err.split())
    assert "interrupted. The last thing saved: " in message or "interrupted. Nothing had been saved yet." in message
    assert message.endswith(f"{FOLDS_KEPT} Resume with the same command: {BUSBENCH} {' '.join(args)}")
