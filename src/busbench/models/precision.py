"""Autocast as a context and as a module wrapper, and the names of the precisions.

Below ``train`` and ``evaluate``, so that profiling (``models.profile``) times a model in the
precision the pipeline trains and infers in.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import torch
from torch import nn


def precision_name(dtype: torch.dtype | None) -> str:
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def autocast(device: torch.device, dtype: torch.dtype | None) -> AbstractContextManager:
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


class AutocastForward(nn.Module):
    """``module`` whose forward runs under the configured autocast.

    ``nn.DataParallel`` runs each replica in a thread of its own and re-enters autocast there
    without the dtype; autocast's dtype is per thread and defaults to fp16 on CUDA, so a bf16 run
    would train its replicas in fp16 without a gradient scaler. Entering autocast inside the
    replicated forward gives every replica the configured dtype.
    """

    def __init__(self, module: nn.Module, dtype: torch.dtype | None) -> None:
        super().__init__()
        self.module, self.dtype = module, dtype

    def forward(self, x: torch.Tensor) -> object:
        with autocast(x.device, self.dtype):
            return self.module(x)
