"""benchmarks/gpu_table.sh: its plan (equal training minutes per model, folds as the budget allows), its arguments
and its config, checked without a GPU (the end-to-end toy run takes minutes: see the GPU section of the README)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from busbench.config import load_config
from busbench.models import resolve_model

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_table.sh"
SEED_MODELS = ["unet", "attention_unet", "unet_plus_plus", "unet3plus", "transunet", "medt", "unext", "swin_unet",
               "cmunet", "cmunext", "ukan"]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="gpu_table.sh is a bash script")


def _plan(*args: str, cwd: Path, busi: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The dry run's plan, from ``cwd``, with ``busi`` (default: ``cwd``) as the BUSI folder."""
    return subprocess.run(["bash", str(SCRIPT), "--dry-run", *args, "out", str(busi or cwd)], capture_output=True,
                          text=True, timeout=60, check=False, cwd=cwd)


@pytest.mark.parametrize(("minutes", "folds", "per_fold", "per_model"), [
    ("9", "fold 1", 0.17, 10), ("30", "folds 1-2", 1.00, 120), ("60", "folds 1-5", 0.90, 269)])
def test_each_model_gets_the_same_minutes_over_as_many_folds_as_they_allow(tmp_path: Path, minutes: str,
                                                                          folds: str, per_fold: float,
                                                                          per_model: int) -> None:
    done = _plan("--minutes", minutes, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"each model: {folds} of busi-v1's 5, train.max_minutes {per_fold:.2f} per fold model " \
           f"({per_model} s of training per model)" in done.stdout
    assert ("all 5 folds" in done.stdout) == (folds == "folds 1-5")
    assert not (tmp_path / "out").exists()  # a dry run writes nothing


def test_fewer_models_share_the_same_minutes_among_fewer(tmp_path: Path) -> None:
    two = _plan("--minutes", "9", "--models", "unext,cmunext", cwd=tmp_path)
    assert "2 models (unext, cmunext)" in two.stdout and "folds 1-3 of busi-v1's 5" in two.stdout
    assert "train.max_minutes 0.89 per fold model (160 s of training per model)" in two.stdout


@pytest.mark.parametrize(("args", "said"), [
    (["--minutes", "0"], "--minutes takes a number > 0, not '0'"),
    (["--minutes", "nine"], "--minutes takes a number > 0, not 'nine'"),
    (["--size", "100"], "--size takes a multiple of 32 px"),
    (["--device", "tpu"], "--device takes cuda or cpu"),
    (["--models", "unet;rm"], "--models takes names joined by commas"),
    (["--frobnicate"], "unknown option '--frobnicate'"),
])
def test_bad_arguments_stop_before_anything_runs(tmp_path: Path, args: list[str], said: str) -> None:
    done = _plan(*args, cwd=tmp_path)
    assert done.returncode == 2 and said in done.stderr


def test_a_missing_busi_folder_is_named(tmp_path: Path) -> None:
    done = _plan(cwd=tmp_path, busi=tmp_path / "nowhere")
    assert done.returncode == 2 and f"no BUSI folder {tmp_path / 'nowhere'}: give BUSI_ROOT" in done.stderr


def test_the_config_trains_the_eleven_seed_models_by_the_clock() -> None:
    cfg = load_config(str(ROOT / "benchmarks" / "gpu_table.yaml"), ["data.root=/nowhere"])
    assert [model.name for model in cfg.grid.models] == SEED_MODELS
    assert all(resolve_model(name).accepts(cfg.input.size) for name in SEED_MODELS)
    assert cfg.split.registry == "busi-v1" and cfg.train.patience is None and cfg.schedule.name == "constant"
