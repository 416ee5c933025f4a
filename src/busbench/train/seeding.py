"""Seeding every random generator, and the choice between deterministic and fast kernels.

On the CPU, deterministic kernels make a run repeat bit for bit. On CUDA they cost speed and still
do not make a run repeatable: bilinear upsampling's backward, adaptive pooling's backward and the
``cumsum`` of the Lovász loss have no deterministic CUDA kernel (torch only warns), so CUDA runs
default to cuDNN's benchmark mode, which picks the fastest convolution algorithms instead.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def deterministic_default(setting: bool | None, device: torch.device) -> bool:
    """``train.deterministic``: as set, or (unset) on for the CPU and off for CUDA."""
    return device.type != "cuda" if setting is None else setting


def seed_everything(seed: int, deterministic: bool = True) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = not deterministic
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
