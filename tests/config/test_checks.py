"""Warnings before a run: a near-empty config's multi-day default run, and a warm-up that never ends."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run_cli

from busbench.config import load_config
from busbench.config.checks import default_run_warning, run_warnings, warmup_warning

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "busbench" / "configs"


def test_an_empty_config_warns_with_the_estimated_work(tmp_path: Path) -> None:
    line = default_run_warning(load_config(None, [f"output_dir={tmp_path}"]))
    assert line is not None
    # the synthetic default: 120 images, 96 of them for development
    assert "input.size, model.name, train.epochs, split.folds not set" in line
    assert "full U-Net at 256 px on 96 images x 100 epochs x 5 folds = 48,000 image passes" in line


def test_a_near_empty_config_on_a_real_dataset_counts_its_images(tmp_path: Path) -> None:
    root = tmp_path / "Dataset" / "benign"
    root.mkdir(parents=True)
    for i in range(10):
        (root / f"benign ({i}).png").touch()
        (root / f"benign ({i})_mask.png").touch()
    line = default_run_warning(load_config(None, ["data.dataset=busi", f"data.root={tmp_path / 'Dataset'}",
                                                  "input.size=256"]))
    assert line is not None and "model.name, train.epochs, split.folds not set" in line
    assert "8 images x 100 epochs x 5 folds = 4,000 image passes" in line


@pytest.mark.parametrize("overrides", [["input.size=128"], ["train.epochs=10"], ["model.kwargs.base_channels=8"]])
def test_a_config_that_changes_the_heavy_defaults_does_not_warn(overrides: list[str]) -> None:
    assert default_run_warning(load_config(None, overrides)) is None


def test_a_shipped_config_that_sets_every_size_does_not_warn() -> None:
    assert run_warnings(load_config(SHIPPED / "busi.yaml")) == []


def test_a_warmup_as_long_as_training_warns() -> None:
    line = warmup_warning(load_config(SHIPPED / "busi.yaml", ["train.epochs=2"]))
    assert line is not None and "schedule.warmup_epochs 2 >= train.epochs 2" in line
    assert "never reaches optimizer.lr 0.0003" in line
    assert warmup_warning(load_config(SHIPPED / "busi.yaml", ["train.epochs=3"])) is None


def test_run_prints_the_warnings_before_it_starts(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    overrides = [f"output_dir={tmp_path}", "data.options.count=20", "data.options.size=40", "split.folds=2",
                 "input.size=32", "model.kwargs.base_channels=4", "train.epochs=1", "schedule.warmup_epochs=1"]
    assert run_cli(monkeypatch, "--quiet", "run", "demo", *[a for o in overrides for a in ("--set", o)]) == 0
    assert "warning: schedule.warmup_epochs 1 >= train.epochs 1" in capsys.readouterr().err
