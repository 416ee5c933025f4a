"""Device choice, mixed precision and the data-loader workers that feed a device.

``amp: auto`` means bf16 autocast where the device computes bf16 natively: CUDA devices of compute
capability 8.0 and later, and CPUs with AVX-512 BF16, AMX or Arm's BF16 extension (``NATIVE_CPU_BF16``);
fp16 with a gradient scaler on older GPUs (T4, V100, RTX 20xx emulate bf16, slowly); fp32 on other
CPUs. ``bf16`` forces bf16 on a GPU, but never on a CPU without native bf16: there oneDNN emulates it
and a large bf16 matmul ran ~300x slower than in fp32 (0.29 against 84-91 GFLOP/s on an AVX2-only AMD
EPYC, the demo 7.5 min instead of 40 s), so such a run computes in fp32 and says so once.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from busbench.errors import BusbenchError
from busbench.log import logger
from busbench.models.precision import precision_name

AMP_MODES = ("auto", "off", "bf16", "fp16")
MAX_AUTO_WORKERS = 8  # beyond this, more processes rarely feed one GPU faster and cost memory
# CPU features with bf16 arithmetic, as torch and Linux name them: Intel AMX, AVX-512 BF16 (Cooper Lake,
# Sapphire Rapids, AMD Zen 4 and later), Arm's BF16 extension (Graviton 3, Neoverse V1/N2, Apple M2).
NATIVE_CPU_BF16 = ("amx_bf16", "avx512_bf16", "bf16")
CPUINFO = Path("/proc/cpuinfo")


def resolve_device(name: str, setting: str = "train.device") -> torch.device:
    """The device ``name`` names (``setting``: ``train.device``, ``--device``, the API's ``device``, for the
    errors). A numbered GPU (``cuda:1``) is made
    the current one (``torch.cuda.set_device``) before any loader starts: the pin-memory thread of a
    data loader, and every CUDA call not given a device, use the current GPU, which is otherwise GPU 0,
    where they would make a context and pinned buffers of their own."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise BusbenchError(f"{setting} {name!r} is not a device; use auto, cpu, cuda or cuda:N (a GPU's number)"
                            ) from exc
    if device.type != "cuda":
        return device
    if not torch.cuda.is_available():
        raise BusbenchError(f"{setting} {name!r} but this machine has no CUDA device; set {setting} to cpu")
    if device.index is not None:
        count = torch.cuda.device_count()
        if device.index >= count:
            raise BusbenchError(f"{setting} {name!r} but this machine shows {count} CUDA device(s), numbered from 0 "
                                f"(after CUDA_VISIBLE_DEVICES); set {setting} to cuda:0 to cuda:{count - 1}, or cuda")
        torch.cuda.set_device(device)
    return device


def native_bf16(device: torch.device) -> bool:
    """Whether CUDA ``device`` computes bf16 natively; emulation (``including_emulation``) does not count."""
    with torch.cuda.device(device):
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))


def _cpu_capabilities() -> dict[str, object]:
    """torch's view of this CPU (``torch.cpu.get_capabilities``, recent torch); else, on Linux, the
    flags and model name that /proc/cpuinfo lists; else nothing known."""
    probe = getattr(torch.cpu, "get_capabilities", None)
    if probe is not None:
        return dict(probe())
    try:
        lines = CPUINFO.read_text().splitlines()
    except OSError:
        return {}
    found: dict[str, object] = {}
    for line in lines:
        key, _, value = (part.strip() for part in line.partition(":"))
        if key in ("flags", "Features"):  # x86, Arm
            found.update(dict.fromkeys(value.split(), True))
        elif key == "model name":
            found.setdefault("cpu_name", value)
    return found


def cpu_bf16_features() -> list[str]:
    """The features of this CPU that compute bf16 natively; empty where bf16 would be emulated."""
    capabilities = _cpu_capabilities()
    return [name for name in NATIVE_CPU_BF16 if capabilities.get(name) is True]


def cpu_name() -> str:
    return str(_cpu_capabilities().get("cpu_name") or platform.processor() or platform.machine() or "this CPU")


@dataclass(frozen=True)
class Precision:
    """The autocast dtype (None: fp32) a precision setting gives on a device, and why; runs record it
    in environment.json and print it as they start."""

    dtype: torch.dtype | None
    reason: str
    overridden: bool = False  # the setting asked for bf16 on a CPU that would emulate it

    @property
    def name(self) -> str:
        return precision_name(self.dtype)


def choose_precision(amp: str, device: torch.device, setting: str = "train.amp") -> Precision:
    """The precision of training with ``amp`` on ``device``."""
    if amp not in AMP_MODES:
        raise BusbenchError(f"{setting}={amp}: unknown precision; choose from {', '.join(AMP_MODES)}")
    if amp == "off":
        return Precision(None, f"{setting}=off")
    if device.type == "cuda":
        if amp != "auto":
            return Precision(torch.bfloat16 if amp == "bf16" else torch.float16, f"{setting}={amp}")
        if native_bf16(device):
            return Precision(torch.bfloat16, f"{setting}=auto: the GPU has native bf16")
        return Precision(torch.float16, f"{setting}=auto: the GPU only emulates bf16, so fp16 with a gradient scaler")
    if amp == "fp16":
        raise BusbenchError(f"{setting}=fp16 needs a CUDA device; use {setting}=auto (or off) on the CPU")
    features = cpu_bf16_features()
    if features:
        return Precision(torch.bfloat16, f"{setting}={amp}: the CPU has native bf16 ({', '.join(features)})")
    lacking = f"the CPU ({cpu_name()}) lacks native bf16 (none of {', '.join(NATIVE_CPU_BF16)})"
    if amp == "auto":
        return Precision(None, f"{setting}=auto: {lacking}, so fp32")
    return Precision(None, f"{setting}=bf16 ignored: {lacking}, where emulated bf16 matmuls run ~300x slower than "
                           f"fp32; computing in fp32 instead (set {setting}=auto or off to silence this)", True)


def inference_precision(amp: str, device: torch.device, setting: str = "train.amp") -> Precision:
    """The precision of inference: as in training, except that a run trained in fp16 is predicted
    in fp32 on the CPU, which has no fast fp16 (fp32 holds every fp16 value)."""
    if amp == "fp16" and device.type != "cuda":
        return Precision(None, f"{setting}=fp16: fp32 on the CPU, which has no fast fp16")
    return choose_precision(amp, device, setting)


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for training with ``amp`` (``train.amp``) on ``device``; None for full precision."""
    return choose_precision(amp, device, "train.amp").dtype


def log_precision(precision: Precision) -> None:
    """One line as a run starts: a warning where bf16 was asked for and fp32 is used instead."""
    if precision.overridden:
        logger.warning(f"warning: {precision.reason}")
    else:
        logger.info(f"precision: {precision.name} ({precision.reason})")


def place_model(model: nn.Module, device: torch.device, channels_last: bool) -> nn.Module:
    """``model`` on ``device``, in the channels-last memory format where ``train.channels_last`` asks
    for it, for training and inference alike: a convolution whose weights are channels-last gives a
    channels-last output, so the format holds through the network whatever the input's."""
    model = model.to(device)
    if channels_last:
        # Module.to accepts and documents memory_format, but torch's overloads of it leave it out
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return model


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
