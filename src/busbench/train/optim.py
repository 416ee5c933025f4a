"""Optimisers and learning-rate schedules (stepped every iteration)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from busbench.config import OptimizerConfig, ScheduleConfig


def build_optimizer(cfg: OptimizerConfig, model: nn.Module) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=True)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_factor(cfg: ScheduleConfig, steps_per_epoch: int, epochs: int) -> Callable[[int], float]:
    """Multiplier of the base learning rate at iteration ``step``: linear warm-up, then the schedule."""
    warmup = cfg.warmup_epochs * steps_per_epoch
    total = max(epochs * steps_per_epoch, 1)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min((step - warmup) / max(total - warmup, 1), 1.0)
        if cfg.name == "cosine":
            return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        if cfg.name == "poly":
            return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * math.pow(1 - progress, cfg.power)
        return 1.0

    return factor
