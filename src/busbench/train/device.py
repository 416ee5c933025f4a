"""Device choice and mixed precision.

``amp: auto`` means bf16 autocast on CUDA devices that support it (fp16 with a gradient scaler
otherwise) and full precision on the CPU; ``bf16`` forces bf16 autocast, which also speeds up
convolutions on recent x86 CPUs.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import torch

from busbench.errors import BusbenchError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BusbenchError(f"train.device={name} but this machine has no CUDA device; set train.device=cpu")
    return device


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` on ``device``; None for full precision."""
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "bf16" or (amp == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    if device.type != "cuda":
        raise BusbenchError("train.amp=fp16 needs a CUDA device; use train.amp=bf16 (or off) on the CPU")
    return torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None) -> AbstractContextManager:
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)
