"""The fold trainer: checkpoints, early stopping, and exact resume after an interruption."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pandas as pd
import pytest
import torch

from busbench.augment import PairAugmentation
from busbench.config import ExperimentConfig, TrainConfig, load_config
from busbench.data.access import DevelopmentSplit, development_split
from busbench.data.cache import Cache, build_cache
from busbench.data.manifest import Manifest
from busbench.data.split.split_file import SplitSettings, plan_split, write_split
from busbench.data.torch_dataset import CachedSegmentationDataset, RepeatedSampler
from busbench.errors import BusbenchError
from busbench.layout.folders import LOG_CSV
from busbench.train import checkpoint, trainer
from busbench.train.callbacks import BUDGET, EPOCHS, PATIENCE, EpochRecord
from busbench.train.seeding import seed_everything
from busbench.train.trainer import FoldJob, _score, build_fold_model, train_fold, validate


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
    full = train_fold(cfg.training_recipe(), FoldJob(development, cache, 1, tmp_path / "full"), torch.device("cpu"))
    assert full.epoch == 3 and full.finished

    def stop_after_two(record: EpochRecord) -> None:
        if record.epoch == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        train_fold(cfg.training_recipe(), FoldJob(development, cache, 1, tmp_path / "resumed"), torch.device("cpu"),
                   [stop_after_two])
    assert checkpoint.load(tmp_path / "resumed" / checkpoint.LAST)["state"]["epoch"] == 2
    resumed = train_fold(cfg.training_recipe(), FoldJob(development, cache, 1, tmp_path / "resumed"),
                         torch.device("cpu"))
    assert resumed.epoch == 3
    for name in (checkpoint.LAST, checkpoint.BEST):
        a, b = _weights(tmp_path / "full" / name), _weights(tmp_path / "resumed" / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    logs = [pd.read_csv(tmp_path / d / LOG_CSV).drop(columns="seconds") for d in ("full", "resumed")]
    pd.testing.assert_frame_equal(*logs)


def test_logs_checkpoints_and_selection(fold_inputs, tmp_path: Path) -> None:
    development, cache = fold_inputs
    state = train_fold(tiny_config(epochs=2).training_recipe(), FoldJob(development, cache, 2, tmp_path),
                       torch.device("cpu"))
    log = pd.read_csv(tmp_path / LOG_CSV)
    assert list(log.columns) == ["epoch", "lr", "train_loss", "val_loss", "val_dice", "val_iou", "val_lesion_dice",
                                 "seconds"]
    assert log["epoch"].tolist() == [1, 2]
    best = checkpoint.load(tmp_path / checkpoint.BEST)
    assert best["epoch"] == state.best_epoch == int(log["val_lesion_dice"].idxmax()) + 1
    assert best["score"] == pytest.approx(log["val_lesion_dice"].max())
    assert best["model_config"] == {"name": "unet", "kwargs": {"base_channels": 4}, "init_from": None,
                                   "init_from_test_overlap": "refuse", "label": None}


def test_bf16_and_channels_last_train(fold_inputs, tmp_path: Path, cpu_bf16) -> None:
    cpu_bf16(True)  # bf16 only where the CPU has it natively
    development, cache = fold_inputs
    state = train_fold(tiny_config(epochs=1, amp="bf16", channels_last="true").training_recipe(),
                       FoldJob(development, cache, 1, tmp_path), torch.device("cpu"))
    assert state.finished and pd.read_csv(tmp_path / LOG_CSV)["train_loss"].notna().all()


def test_encoder_stays_frozen_for_the_configured_epochs(fold_inputs, tmp_path: Path) -> None:
    development, cache = fold_inputs
    cfg = load_config(None, ["model.name=unet_resnet18", "input.size=32", "train.batch_size=8", "train.epochs=1",
                             "train.freeze_encoder_epochs=1", "train.augmentation=none"])
    train_fold(cfg.training_recipe(), FoldJob(development, cache, 1, tmp_path), torch.device("cpu"))
    seed_everything(cfg.train.seed * 1000 + 1)  # the trainer's seed for fold 1: the initial weights again
    initial = build_fold_model(cfg.model, cfg.input).state_dict()
    trained = _weights(tmp_path / checkpoint.LAST)
    assert all(torch.equal(trained[k], v) for k, v in initial.items() if k.startswith("encoder."))
    assert not all(torch.equal(trained[k], v) for k, v in initial.items() if k.startswith("decoder."))


def test_early_stopping_after_patience(fold_inputs, tmp_path: Path) -> None:
    development, cache = fold_inputs
    cfg = tiny_config(epochs=6, patience=2, augmentation="none", elastic="false")
    cfg = cfg.model_copy(update={"optimizer": cfg.optimizer.model_copy(update={"lr": 1e-12})})
    state = train_fold(cfg.training_recipe(), FoldJob(development, cache, 1, tmp_path), torch.device("cpu"))
    assert state.stopped_early and state.epoch == 3 and state.best_epoch == 1 and state.stop_reason == PATIENCE
    again = train_fold(cfg.training_recipe(), FoldJob(development, cache, 1, tmp_path), torch.device("cpu"))
    assert again.epoch == 3  # a finished fold is not trained further


class _FixedPrediction(torch.nn.Module):
    """Logits that put a lesion wherever ``predict(image)`` is true."""

    def __init__(self, predict) -> None:
        super().__init__()
        self.predict = predict

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.where(self.predict(image), 10.0, -10.0)


def _mostly_normal_validation() -> list[dict[str, torch.Tensor]]:
    """8 normal 8x8 images and 2 with a 4x4 lesion (pixels 2..5); image = mask, plus a bright
    artefact at pixel (0, 0) of 2 normal images."""
    batch = []
    for i in range(10):
        mask = torch.zeros(1, 8, 8)
        if i >= 8:
            mask[:, 2:6, 2:6] = 1
        image = mask.clone()
        if i in (0, 1):
            image[:, 0, 0] = 1
        batch.append({"image": image, "mask": mask})
    return batch


def test_an_empty_predictor_loses_the_default_selection_on_mostly_normal_validation() -> None:
    loader = torch.utils.data.DataLoader(_mostly_normal_validation(), batch_size=4)
    loss, cpu = torch.nn.BCEWithLogitsLoss(), torch.device("cpu")
    empty = validate(_FixedPrediction(lambda x: torch.zeros_like(x, dtype=torch.bool)), loader, loss, cpu, None, False)
    # the real model finds the lesion's upper half (8 of 16 pixels: Dice 2*8/24) and falls for both artefacts
    real = validate(_FixedPrediction(lambda x: (x > 0.5) & (torch.arange(8).view(8, 1) < 4)), loader, loss, cpu,
                    None, False)
    assert empty["val_dice"] == pytest.approx(8 / 10) and empty["val_lesion_dice"] == 0.0
    assert real["val_dice"] == pytest.approx((6 + 2 * 16 / 24) / 10)
    assert real["val_lesion_dice"] == pytest.approx(16 / 24)
    assert TrainConfig().select_metric == "lesion_dice"
    assert _score(real, TrainConfig().select_metric, 1) > _score(empty, TrainConfig().select_metric, 1)
    assert _score(empty, "image_dice", 1) > _score(real, "image_dice", 1)  # what the old default chose


def test_select_metric_plumbing() -> None:
    metrics = {"val_loss": 0.3, "val_dice": 0.5, "val_iou": 0.4, "val_lesion_dice": math.nan}
    assert (_score(metrics, "loss", 1), _score(metrics, "image_dice", 1), _score(metrics, "image_iou", 1)) == (
        -0.3, 0.5, 0.4)
    with pytest.raises(BusbenchError, match="select_metric=lesion_dice: fold 2's validation cases hold no lesion"):
        _score(metrics, "lesion_dice", 2)
    # run folders written before the rename load with the meaning they had
    assert TrainConfig(select_metric="dice").select_metric == "image_dice"
    assert TrainConfig(select_metric="iou").select_metric == "image_iou"


def test_fixed_length_epochs_repeat_cases_with_fresh_augmentations(fold_inputs, tmp_path: Path) -> None:
    sampler = RepeatedSampler(5, 12, torch.Generator().manual_seed(0))
    order = list(sampler)
    assert len(order) == len(sampler) == 12 and len(set(order)) == 12  # every repeat has an index of its own
    assert sorted(i % 5 for i in order[:10]) == sorted(list(range(5)) * 2)  # whole passes over the cases
    development, cache = fold_inputs
    dataset = CachedSegmentationDataset(cache, development.train_ids(1)[:5], PairAugmentation("strong"), seed=1)
    first, again = dataset[2], dataset[7]  # case 2 and its repeat
    assert first["case_id"] == again["case_id"] and not torch.equal(first["image"], again["image"])

    steps = []
    cfg = tiny_config(epochs=2, iterations_per_epoch=3, batch_size=2)
    train_fold(cfg.training_recipe(), FoldJob(development, cache, 1, tmp_path), torch.device("cpu"),
               callbacks=[lambda record: steps.append(record.epoch)])
    assert steps == [1, 2]
    saved = checkpoint.load(tmp_path / checkpoint.LAST)
    assert saved["scheduler"]["last_epoch"] == 6  # 2 epochs x 3 batches, however many training images


@pytest.fixture
def minute_epochs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake trainer clock that moves 60 s at each reading: every epoch (started, ended) lasts 60 s."""
    ticks = itertools.count(step=60.0)
    monkeypatch.setattr(trainer, "clock", lambda: next(ticks))


@pytest.mark.parametrize(("minutes", "epochs"), [(2.9, 2), (3.0, 3), (3.5, 3), (100, 4)])
def test_a_time_budget_stops_before_the_epoch_that_would_pass_it(fold_inputs, tmp_path: Path, minute_epochs,
                                                                 minutes: float, epochs: int) -> None:
    development, cache = fold_inputs
    cfg = tiny_config(epochs=4, max_minutes=minutes, augmentation="none", elastic="false")
    state = train_fold(cfg.training_recipe(), FoldJob(development, cache, 1, tmp_path), torch.device("cpu"))
    assert state.epoch == epochs and state.finished and state.seconds_spent() == 60.0 * epochs
    assert state.stop_reason == (EPOCHS if epochs == 4 else BUDGET)
    assert state.seconds_spent() <= minutes * 60  # the budget is kept
    assert checkpoint.load(tmp_path / checkpoint.LAST)["state"]["stop_reason"] == state.stop_reason


def test_a_first_epoch_longer_than_the_budget_still_gives_a_model(fold_inputs, tmp_path: Path,
                                                                  minute_epochs) -> None:
    development, cache = fold_inputs
    cfg = tiny_config(epochs=4, max_minutes=0.5, augmentation="none", elastic="false")
    state = train_fold(cfg.training_recipe(), FoldJob(development, cache, 1, tmp_path), torch.device("cpu"))
    assert state.epoch == 1 and state.stop_reason == BUDGET and (tmp_path / checkpoint.BEST).is_file()


def test_a_resumed_fold_counts_the_time_spent_before(fold_inputs, tmp_path: Path, minute_epochs) -> None:
    development, cache = fold_inputs
    cfg = tiny_config(epochs=6, max_minutes=3.5, augmentation="none", elastic="false")

    def stop_after_two(record: EpochRecord) -> None:
        if record.epoch == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        train_fold(cfg.training_recipe(), FoldJob(development, cache, 1, tmp_path), torch.device("cpu"),
                   [stop_after_two])
    saved = checkpoint.load(tmp_path / checkpoint.LAST)["state"]
    assert saved["epoch"] == 2 and [row["seconds"] for row in saved["history"]] == [60.0, 60.0]
    records: list[EpochRecord] = []
    resumed = train_fold(cfg.training_recipe(), FoldJob(development, cache, 1, tmp_path), torch.device("cpu"),
                         [records.append])
    assert resumed.epoch == 3 and resumed.stop_reason == BUDGET and resumed.seconds_spent() == 180.0
    # the progress line's ETA sees the budget and the time spent before the resume
    assert [(r.epoch, r.max_seconds, r.seconds_spent, r.stop_reason) for r in records] == [(3, 210.0, 180.0, BUDGET)]


@pytest.mark.parametrize("bad", ["0", "-1"])
def test_the_time_budget_must_be_positive(bad: str) -> None:
    assert load_config(None, ["train.max_minutes=0.25"]).train.max_minutes == 0.25
    assert TrainConfig().max_minutes is None  # no budget by default
    with pytest.raises(BusbenchError, match=r"train.max_minutes: Input should be greater than 0"):
        load_config(None, [f"train.max_minutes={bad}"])
