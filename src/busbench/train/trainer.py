"""The fold trainer: a plain PyTorch loop for one fold model.

It trains on the fold's training cases and validates on its validation cases (both from a
``DevelopmentSplit``, so never on test cases), keeps the best checkpoint by the configured
validation metric and the last one every epoch, stops early after ``patience`` epochs without
improvement or when ``train.max_minutes`` would pass (``stop_reason``), and resumes from ``last.pt``,
in the precision the fold started in (``fold_precision``), with the time already spent counted.
Shuffling is seeded per epoch and augmentation per sample, and all generator states are
checkpointed, so on the CPU a resumed run ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from busbench.augment import PairAugmentation
from busbench.config import InputConfig, ModelConfig, TrainConfig, TrainingRecipe
from busbench.data.access import DevelopmentSplit
from busbench.data.cache import Cache
from busbench.data.provenance import Provenance
from busbench.data.torch_dataset import fold_datasets
from busbench.errors import BusbenchError
from busbench.interrupt import raise_if_interrupted
from busbench.layout.atomic import write_csv
from busbench.layout.folders import FoldFolder
from busbench.log import logger, note_saved
from busbench.losses import build_loss
from busbench.metrics.overlap import batch_overlap
from busbench.models import build_model, check_plugin_input
from busbench.models.precision import AutocastForward, autocast, precision_name
from busbench.models.weights import load_weights
from busbench.progress import progress
from busbench.train import checkpoint
from busbench.train.callbacks import BUDGET, EPOCHS, PATIENCE, EpochCallback, EpochRecord, log_progress
from busbench.train.compile import compile_network
from busbench.train.deep_supervision import DeepSupervisionLoss
from busbench.train.device import place_model, replica_devices
from busbench.train.fold_precision import fold_precision
from busbench.train.loaders import training_loader, validation_loader
from busbench.train.optim import build_optimizer, lr_factor
from busbench.train.seeding import deterministic_default, seed_everything

clock = time.perf_counter  # the trainer's clock: epoch times, the time budget (tests give it a fake one)


@dataclass
class TrainingState:
    """The trainer's counters, saved in ``last.pt``."""

    epoch: int = 0
    best_score: float = -math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    finished: bool = False
    stopped_early: bool = False
    history: list[dict[str, float]] = field(default_factory=list)
    stop_reason: str = ""  # EPOCHS, PATIENCE or BUDGET once finished; "" before (and in older last.pt files)
    precision: str = ""  # what the fold trains in (``fold_precision``), set as it starts or resumes

    def seconds_spent(self) -> float:
        """The training time of every epoch run so far, those before a resume included (``log.csv``'s
        seconds, saved in ``last.pt``); an epoch cut by an interruption is run again and counted once."""
        return sum(row["seconds"] for row in self.history)


def stop_reason(tc: TrainConfig, state: TrainingState) -> str:
    """Why training ends after the epoch just logged, or "" to go on: the last epoch reached, the
    patience spent, or ``train.max_minutes`` passed if one more epoch took as long as the last one did
    (so a fold keeps its budget; only a first epoch longer than the whole budget passes it)."""
    if state.epoch >= tc.epochs:
        return EPOCHS
    if state.stopped_early:
        return PATIENCE
    if tc.max_minutes is not None and state.seconds_spent() + state.history[-1]["seconds"] > tc.max_minutes * 60:
        return BUDGET
    return ""


def build_fold_model(model: ModelConfig, input: InputConfig) -> nn.Module:
    """The configured architecture, starting from ``model.init_from`` weights when given; a plugin
    first passes its one forward-pass check (``check_plugin_input``)."""
    check_plugin_input(model.name, input.size, input.channels, model.kwargs)
    network = build_model(model.name, in_channels=input.channels, num_classes=1, **model.kwargs)
    if model.init_from is not None:
        load_weights(network, model.init_from, "model.init_from")
    return network


def spread_over_gpus(model: nn.Module, device: torch.device, dtype: torch.dtype | None) -> nn.Module:
    """``model`` replicated over every visible GPU, ``device`` first, each replica taking a share of
    the batch under the configured autocast (``AutocastForward``)."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device.type != "cuda" or gpus < 2:
        raise BusbenchError(f"train.multi_gpu needs at least 2 CUDA devices and train.device=cuda (found {gpus} "
                            f"GPU(s), device {device}); set train.multi_gpu=false")
    ids = replica_devices(device, gpus)
    return nn.DataParallel(AutocastForward(model, dtype), device_ids=ids, output_device=ids[0])


def set_encoder_frozen(model: nn.Module, frozen: bool) -> None:
    """Freeze (or release) the ``encoder`` of an encoder-decoder model, statistics included."""
    encoder = getattr(model, "encoder", None)
    if not isinstance(encoder, nn.Module):
        raise BusbenchError(f"train.freeze_encoder_epochs needs a model with a pretrained encoder "
                            f"(unet_<encoder>, linknet_<encoder>); {type(model).__name__} has none")
    for parameter in encoder.parameters():
        parameter.requires_grad_(not frozen)
    if frozen:
        encoder.eval()


def _to_device(batch: dict[str, torch.Tensor], device: torch.device,
               channels_last: bool) -> tuple[torch.Tensor, torch.Tensor]:
    image = batch["image"].to(device, non_blocking=True)
    mask = batch["mask"].to(device, non_blocking=True)
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    return image, mask


@dataclass(frozen=True)
class Update:
    """How one training step changes the weights: the loss, the optimiser and its gradient scaler,
    the autocast precision (None: fp32) and the gradient-norm clip (None: none)."""

    loss_fn: nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    dtype: torch.dtype | None
    grad_clip: float | None


def train_step(network: nn.Module, image: torch.Tensor, mask: torch.Tensor, update: Update) -> torch.Tensor:
    """One optimiser step on a batch; its own function so benchmarks/train_speed.py times this very code."""
    update.optimizer.zero_grad(set_to_none=True)
    with autocast(image.device, update.dtype):
        logits = network(image)
    loss: torch.Tensor = update.loss_fn(logits, mask)  # a DeepSupervisionLoss: a tensor or a list, in float32
    update.scaler.scale(loss).backward()
    if update.grad_clip is not None:
        update.scaler.unscale_(update.optimizer)
        nn.utils.clip_grad_norm_(network.parameters(), update.grad_clip)
    update.scaler.step(update.optimizer)
    update.scaler.update()
    return loss.detach()


@torch.no_grad()
def validate(model: nn.Module, loader: DataLoader, loss_fn: nn.Module, device: torch.device,
             dtype: torch.dtype | None, channels_last: bool) -> dict[str, float]:
    """Mean loss, Dice and IoU over validation images at the network's resolution, and the Dice
    over the images with a lesion only (NaN without any), which an empty prediction cannot win."""
    model.eval()
    losses, dices, ious, has_lesion = [], [], [], []
    for batch in loader:
        image, mask = _to_device(batch, device, channels_last)
        with autocast(device, dtype):
            logits = model(image)
        losses.append(float(loss_fn(logits.float(), mask)) * len(image))
        dice, iou = batch_overlap(logits > 0, mask > 0.5)
        dices.append(dice)
        ious.append(iou)
        has_lesion.append((mask > 0.5).flatten(1).any(1).cpu())
    n = sum(len(d) for d in dices)
    dice, lesion = torch.cat(dices).cpu(), torch.cat(has_lesion)
    return {"val_loss": sum(losses) / n, "val_dice": float(dice.mean()), "val_iou": float(torch.cat(ious).mean()),
            "val_lesion_dice": float(dice[lesion].mean()) if lesion.any() else math.nan}


# train.select_metric -> the ``validate`` value it maximises (the loss is minimised)
SELECTED_VALUE = {"lesion_dice": "val_lesion_dice", "image_dice": "val_dice", "image_iou": "val_iou"}


def _score(metrics: dict[str, float], select: str, fold: int) -> float:
    if select == "loss":
        return -metrics["val_loss"]
    score = metrics[SELECTED_VALUE[select]]
    if math.isnan(score):
        raise BusbenchError(f"train.select_metric={select}: fold {fold}'s validation cases hold no lesion image, so "
                            "it cannot be scored; split with fewer folds or set train.select_metric=loss")
    return score


@dataclass(frozen=True)
class FoldJob:
    """What one fold model is trained on and where it goes.

    ``provenance`` is written into both checkpoints and a ``last.pt`` made on another split is
    refused; ``training_images`` goes into ``best.pt`` for later ``model.init_from`` checks.
    """

    development: DevelopmentSplit
    cache: Cache
    fold: int
    folder: Path
    provenance: Provenance | None = None
    training_images: dict[str, object] | None = None
    folds_after: int = 0  # folds this process trains after this one: the progress line's ETA covers them

    def recorded_provenance(self) -> dict[str, str] | None:
        return self.provenance.as_dict() if self.provenance else None

    @property
    def files(self) -> FoldFolder:
        """The fold folder's artefacts by name (``last_pt``, ``best_pt``, ``log_csv``): ``layout.folders``'."""
        return FoldFolder(self.folder)


@dataclass
class _Session:
    """The objects one fold's training works with."""

    model: nn.Module
    network: nn.Module  # ``model``, maybe spread over GPUs and compiled; checkpoints keep ``model``
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    loss_fn: nn.Module
    dtype: torch.dtype | None
    train_loader: DataLoader  # built once per fold: persistent workers live as long as it does
    val_loader: DataLoader


def _session(cfg: TrainingRecipe, job: FoldJob, device: torch.device, dtype: torch.dtype | None) -> _Session:
    tc = cfg.train
    seed_everything(tc.seed * 1000 + job.fold, deterministic_default(tc.deterministic, device))
    model = place_model(build_fold_model(cfg.model, cfg.input), device, tc.channels_last)
    network = spread_over_gpus(model, device, dtype) if tc.multi_gpu else model  # checkpoints keep ``model``
    network = compile_network(network, tc.compile, device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    loss_fn = DeepSupervisionLoss(build_loss(cfg.loss.name, **cfg.loss.kwargs))  # a model may return a list
    augmentation = None
    if tc.augmentation != "none" or tc.elastic:
        augmentation = PairAugmentation(tc.augmentation, tc.elastic)
    train_set, val_set = fold_datasets(job.development, job.cache, job.fold, augmentation,
                                       seed=tc.seed * 1000 + job.fold)
    train_loader = training_loader(train_set, tc, device, seed=tc.seed * 100_003 + job.fold * 1009)
    optimizer = build_optimizer(cfg.optimizer, model)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg.schedule, len(train_loader), tc.epochs))
    return _Session(model, network, optimizer, scheduler, scaler, loss_fn, dtype, train_loader,
                    validation_loader(val_set, tc, device))


def _saved_last(job: FoldJob) -> dict[str, Any] | None:
    """``last.pt`` of an interrupted fold, checked to be of the current split; None for a new fold."""
    last_path = job.files.last_pt
    if not last_path.is_file():
        return None
    saved = checkpoint.load(last_path)  # on the CPU: RNG states must stay CPU tensors; load_state_dict moves the rest
    if job.provenance is not None:
        job.provenance.check(saved.get("provenance"), last_path,
                             f"Delete {job.folder} to train fold {job.fold} again on the current split")
    return saved


def _resume(session: _Session, saved: dict[str, Any] | None) -> TrainingState:
    """The state saved in ``last.pt`` (every object of ``session`` restored), or a fresh one."""
    if saved is None:
        return TrainingState()
    session.model.load_state_dict(saved["model"])
    session.optimizer.load_state_dict(saved["optimizer"])
    session.scheduler.load_state_dict(saved["scheduler"])
    session.scaler.load_state_dict(saved["scaler"])
    checkpoint.restore_rng(saved["rng"])
    return TrainingState(**saved["state"])


def _train_epoch(cfg: TrainingRecipe, session: _Session, fold: int, epoch: int, device: torch.device) -> float:
    """One pass over the fold's training images; returns the mean training loss."""
    tc = cfg.train
    session.model.train()
    if tc.freeze_encoder_epochs:
        set_encoder_frozen(session.model, epoch <= tc.freeze_encoder_epochs)
    loader = session.train_loader
    loader.sampler.set_epoch(epoch)  # type: ignore[attr-defined]
    # summed on the device, read once per epoch: reading a loss every step would make the CPU wait for the GPU
    total, seen = torch.zeros((), dtype=torch.float64, device=device), 0
    update = Update(session.loss_fn, session.optimizer, session.scaler, session.dtype, tc.grad_clip)
    for batch in progress(loader, f"fold {fold} epoch {epoch}/{tc.epochs}", total=len(loader)):
        image, mask = _to_device(batch, device, tc.channels_last)
        loss = train_step(session.network, image, mask, update)
        session.scheduler.step()
        total += loss.double() * len(image)
        seen += len(image)
        raise_if_interrupted()
    return float(total) / seen


def _save_last(session: _Session, job: FoldJob, state: TrainingState) -> None:
    write_csv(pd.DataFrame(state.history), job.files.log_csv, float_format=None)
    checkpoint.save_atomic({"model": session.model.state_dict(), "optimizer": session.optimizer.state_dict(),
                            "scheduler": session.scheduler.state_dict(), "scaler": session.scaler.state_dict(),
                            "precision": precision_name(session.dtype),  # a resumed fold keeps it: fold_precision
                            "state": asdict(state), "rng": checkpoint.rng_state(),
                            "provenance": job.recorded_provenance()}, job.files.last_pt)


def train_fold(cfg: TrainingRecipe, job: FoldJob, device: torch.device,
               callbacks: Sequence[EpochCallback] = ()) -> TrainingState:
    """Train (or resume) fold model ``job.fold`` in ``job.folder``; returns the final state.

    After each epoch, the progress line and then each of ``callbacks`` receive its ``EpochRecord``.
    """
    job.folder.mkdir(parents=True, exist_ok=True)
    tc, fold = cfg.train, job.fold
    saved = _saved_last(job)
    precision = fold_precision(tc.amp, device, saved, job.files.last_pt)
    session = _session(cfg, job, device, precision.dtype)
    state = _resume(session, saved)
    state.precision = precision.name
    val_loader = session.val_loader
    fold_started, resumed_at = clock(), state.epoch
    if resumed_at and not state.finished:
        logger.info(f"fold {fold}: resuming after epoch {resumed_at} from {job.files.last_pt}")
    for epoch in range(state.epoch + 1, tc.epochs + 1):
        if state.finished:
            break
        started = clock()
        train_loss = _train_epoch(cfg, session, fold, epoch, device)
        metrics = validate(session.network, val_loader, session.loss_fn, device, session.dtype, tc.channels_last)
        score = _score(metrics, tc.select_metric, fold)
        state.epoch = epoch
        if score > state.best_score:
            state.best_score, state.best_epoch, state.bad_epochs = score, epoch, 0
            checkpoint.save_atomic({"model": session.model.state_dict(), "epoch": epoch, "score": score,
                                    "model_config": cfg.model.model_dump(mode="json"),
                                    "input": cfg.input.model_dump(mode="json"),
                                    "provenance": job.recorded_provenance(), "training_images": job.training_images},
                                   job.files.best_pt)
        else:
            state.bad_epochs += 1
        state.history.append({"epoch": epoch, "lr": session.optimizer.param_groups[0]["lr"], "train_loss": train_loss,
                              **metrics, "seconds": clock() - started})
        state.stopped_early = tc.patience is not None and state.bad_epochs >= tc.patience
        state.stop_reason = stop_reason(tc, state)
        state.finished = bool(state.stop_reason)
        _save_last(session, job, state)
        note_saved(f"{job.files.last_pt} (fold {fold}, epoch {epoch} of {tc.epochs})")
        record = EpochRecord(fold, epoch, tc.epochs, dict(state.history[-1]), state.best_score, state.best_epoch,
                             state.finished, state.stopped_early,
                             (clock() - fold_started) / (epoch - resumed_at), job.folds_after, state.stop_reason,
                             tc.max_minutes * 60 if tc.max_minutes is not None else None, state.seconds_spent())
        for callback in (log_progress, *callbacks):
            callback(record)
    return state
