"""Device choice, mixed precision and the data-loader workers that feed a device.

``amp: auto`` means bf16 autocast on CUDA devices with native bf16 (compute capability 8.0 and
later), fp16 with a gradient scaler on older ones (T4, V100, RTX 20xx emulate bf16, slowly), and
full precision on the CPU; ``bf16`` forces bf16 autocast, which also speeds up convolutions on
recent x86 CPUs.
"""

from __future__ import annotations

import os

import torch

from busbench.errors import BusbenchError

AMP_MODES = ("auto", "off", "bf16", "fp16")
MAX_AUTO_WORKERS = 8  # beyond this, more processes rarely feed one GPU faster and cost memory


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BusbenchError(f"train.device={name} but this machine has no CUDA device; set train.device=cpu")
    return device


def native_bf16(device: torch.device) -> bool:
    """Whether CUDA ``device`` computes bf16 natively; emulation (``including_emulation``) does not count."""
    with torch.cuda.device(device):
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))


def autocast_dtype(amp: str, device: torch.device, setting: str = "train.amp") -> torch.dtype | None:
    """The autocast dtype for training with ``amp`` on ``device``; None for full precision."""
    if amp not in AMP_MODES:
        raise BusbenchError(f"{setting}={amp}: unknown precision; choose from {', '.join(AMP_MODES)}")
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "bf16" or (amp == "auto" and native_bf16(device)):
        return torch.bfloat16
    if device.type != "cuda":
        raise BusbenchError(f"{setting}=fp16 needs a CUDA device; use {setting}=bf16 (or off) on the CPU")
    return torch.float16


def inference_dtype(amp: str, device: torch.device, setting: str = "train.amp") -> torch.dtype | None:
    """The autocast dtype for inference: as in training, except that a run trained in fp16 is
    predicted in full precision on the CPU, which has no fast fp16 (fp32 holds every fp16 value)."""
    if amp == "fp16" and device.type != "cuda":
        return None
    return autocast_dtype(amp, device, setting)


def replica_devices(device: torch.device, gpus: int) -> list[int]:
    """GPU indices for ``nn.DataParallel``: the training device first (it holds the weights and
    gathers the outputs), then every other visible GPU."""
    first = device.index or 0
    return [first, *(i for i in range(gpus) if i != first)]


def resolve_workers(workers: int | str, device: torch.device) -> int:
    """``train.workers``: a number, or ``auto``: on CUDA the cores this process may use less one for
    the training loop (at most ``MAX_AUTO_WORKERS``), so augmentation runs beside the GPU; on the
    CPU 0, as the cores already compute the network."""
    if workers != "auto":
        return int(workers)
    if device.type != "cuda":
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores - 1, MAX_AUTO_WORKERS))
