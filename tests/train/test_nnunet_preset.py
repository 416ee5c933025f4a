"""The shipped nnunet_2d preset: nnU-Net's settings, and a one-epoch run of it and of nnunet_resenc_2d at 64 px."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from cli_runner import run_cli

from busbench.cli import SHIPPED_CONFIGS
from busbench.config import load_config
from busbench.train import trainer
from busbench.train.deep_supervision import DeepSupervisionLoss

PRESET = SHIPPED_CONFIGS / "nnunet_2d.yaml"


def test_preset_holds_nnunets_settings() -> None:
    cfg = load_config(PRESET)
    assert (cfg.model.name, cfg.model.kwargs) == ("nnunet_2d", {"img_size": 256, "deep_supervision": True})
    assert (cfg.optimizer.name, cfg.optimizer.lr, cfg.optimizer.momentum, cfg.optimizer.weight_decay) == \
        ("sgd", 0.01, 0.99, 3e-5)
    assert (cfg.schedule.name, cfg.schedule.power, cfg.schedule.warmup_epochs, cfg.schedule.min_lr_ratio) == \
        ("poly", 0.9, 0, 0.0)
    assert cfg.loss.name == "bce_dice" and cfg.loss.kwargs["batch_dice"] is True
    assert cfg.train.augmentation == "nnunet" and cfg.train.patience is None
    # 250,000 iterations as nnU-Net (1000 x 250): BUSI folds train on 499-500 images, 16 batches of 31
    assert (cfg.train.epochs, cfg.train.iterations_per_epoch) == (1000, 250)  # nnU-Net: 1000 epochs x 250 batches


@pytest.mark.parametrize(("preset", "name"), [("nnunet_2d", "nnunet-2d"), ("nnunet_resenc_2d", "nnunet-resenc-2d")])
def test_preset_runs_one_epoch_with_deep_supervision(preset: str, name: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []  # outputs per loss call: a list's length in training, 1 for a tensor

    class Recording(DeepSupervisionLoss):
        def forward(self, outputs: torch.Tensor | list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
            seen.append(1 if isinstance(outputs, torch.Tensor) else len(outputs))
            return super().forward(outputs, target)

    monkeypatch.setattr(trainer, "DeepSupervisionLoss", Recording)
    torch.set_num_threads(1)
    code = run_cli(monkeypatch, "--quiet", "run", preset, "--set", f"output_dir={tmp_path}",
                   "--set", "data.dataset=synthetic", "--set", "data.root=null",
                   "--set", "data.options={count: 24, size: 72, seed: 1}", "--set", "split.folds=2",
                   "--set", "input.size=64", "--set", "model.kwargs.img_size=64",
                   "--set", "model.kwargs.base_features=4", "--set", "model.kwargs.max_features=16",
                   "--set", "train.epochs=1", "--set", "train.batch_size=4", "--set", "train.iterations_per_epoch=8",
                   "--set", "eval.postprocess=false")
    assert code == 0
    assert 4 in seen and 1 in seen  # 64 px: 4 decoder outputs in training, one output in validation
    logs = sorted(tmp_path.glob(f"{name}/*/*/fold-*/log.csv"))
    assert len(logs) == 2
    for log in logs:
        row = pd.read_csv(log).iloc[0]
        assert row["epoch"] == 1 and torch.isfinite(torch.tensor(row["train_loss"]))
