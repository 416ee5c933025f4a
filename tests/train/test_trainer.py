"""The fold trainer: checkpoints, early stopping, and exact resume after an interruption."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from busbench.config import ExperimentConfig, load_config
from busbench.data.access import DevelopmentSplit, development_split
from busbench.data.cache import Cache, build_cache
from busbench.data.manifest import Manifest
from busbench.data.split import SplitSettings, plan_split, write_split
from busbench.train import checkpoint
from busbench.train.seeding import seed_everything
from busbench.train.trainer import LOG_CSV, build_fold_model, train_fold


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def fold_inputs(synthetic_manifest: Manifest, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[DevelopmentSplit, Cache]:
    base = tmp_path_factory.mktemp("trainer")
    write_split(plan_split(synthetic_manifest, SplitSettings(folds=2)), base / "split.json")
    cache = build_cache(synthetic_manifest, 32, cache_root=base)
    return development_split(base / "split.json", synthetic_manifest), cache


def tiny_config(**train: object) -> ExperimentConfig:
    overrides = ["model.kwargs.base_channels=4", "input.size=32", "train.batch_size=8", "train.epochs=3",
                 "train.augmentation=standard", "train.elastic=true", "schedule.warmup_epochs=1"]
    return load_config(None, overrides + [f"train.{k}={v}" for k, v in train.items()])


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return checkpoint.load(path)["model"]


def test_resumed_training_ends_with_the_same_weights(fold_inputs, tmp_path: Path) -> None:
    development, cache = fold_inputs
    cfg = tiny_config()
    full = train_fold(cfg, development, cache, 1, tmp_path / "full", torch.device("cpu"))
    assert full.epoch == 3 and full.finished

    def stop_after_two(epoch: int) -> None:
        if epoch == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        train_fold(cfg, development, cache, 1, tmp_path / "resumed", torch.device("cpu"), stop_after_two)
    assert checkpoint.load(tmp_path / "resumed" / checkpoint.LAST)["state"]["epoch"] == 2
    resumed = train_fold(cfg, development, cache, 1, tmp_path / "resumed", torch.device("cpu"))
    assert resumed.epoch == 3
    for name in (checkpoint.LAST, checkpoint.BEST):
        a, b = _weights(tmp_path / "full" / name), _weights(tmp_path / "resumed" / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    logs = [pd.read_csv(tmp_path / d / LOG_CSV).drop(columns="seconds") for d in ("full", "resumed")]
    pd.testing.assert_frame_equal(*logs)


def test_logs_checkpoints_and_selection(fold_inputs, tmp_path: Path) -> None:
    development, cache = fold_inputs
    state = train_fold(tiny_config(epochs=2), development, cache, 2, tmp_path, torch.device("cpu"))
    log = pd.read_csv(tmp_path / LOG_CSV)
    assert list(log.columns) == ["epoch", "lr", "train_loss", "val_loss", "val_dice", "val_iou", "seconds"]
    assert log["epoch"].tolist() == [1, 2]
    best = checkpoint.load(tmp_path / checkpoint.BEST)
    assert best["epoch"] == state.best_epoch == int(log["val_dice"].idxmax()) + 1
    assert best["score"] == pytest.approx(log["val_dice"].max())
    assert best["model_config"] == {"name": "unet", "kwargs": {"base_channels": 4}, "init_from": None}


def test_bf16_and_channels_last_train(fold_inputs, tmp_path: Path) -> None:
    development, cache = fold_inputs
    state = train_fold(tiny_config(epochs=1, amp="bf16", channels_last="true"), development, cache, 1, tmp_path,
                       torch.device("cpu"))
    assert state.finished and pd.read_csv(tmp_path / LOG_CSV)["train_loss"].notna().all()


def test_encoder_stays_frozen_for_the_configured_epochs(fold_inputs, tmp_path: Path) -> None:
    development, cache = fold_inputs
    cfg = load_config(None, ["model.name=unet_resnet18", "input.size=32", "train.batch_size=8", "train.epochs=1",
                             "train.freeze_encoder_epochs=1", "train.augmentation=none"])
    train_fold(cfg, development, cache, 1, tmp_path, torch.device("cpu"))
    seed_everything(cfg.train.seed * 1000 + 1)  # the trainer's seed for fold 1: the initial weights again
    initial = build_fold_model(cfg).state_dict()
    trained = _weights(tmp_path / checkpoint.LAST)
    assert all(torch.equal(trained[k], v) for k, v in initial.items() if k.startswith("encoder."))
    assert not all(torch.equal(trained[k], v) for k, v in initial.items() if k.startswith("decoder."))


def test_early_stopping_after_patience(fold_inputs, tmp_path: Path) -> None:
    development, cache = fold_inputs
    cfg = tiny_config(epochs=6, patience=2, augmentation="none", elastic="false")
    cfg = cfg.model_copy(update={"optimizer": cfg.optimizer.model_copy(update={"lr": 1e-12})})
    state = train_fold(cfg, development, cache, 1, tmp_path, torch.device("cpu"))
    assert state.stopped_early and state.epoch == 3 and state.best_epoch == 1
    again = train_fold(cfg, development, cache, 1, tmp_path, torch.device("cpu"))
    assert again.epoch == 3  # a finished fold is not trained further
