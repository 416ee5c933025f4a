"""The precision a fold trains in, kept across a resume on another kind of device.

``train.amp: auto`` picks the precision from the device (bf16 on an A100/H100, fp16 with a gradient
scaler on a V100/T4, fp32 on a CPU without native bf16), and a fold requeued on a mixed cluster
(``sbatch --requeue``) may resume on another kind. Changing precision half-way would mix two
numerics in one fold model (and an fp16 scaler has no state to resume from a bf16 ``last.pt``), and
``train.amp`` cannot be changed for one fold (a cell's folds share their settings). So ``last.pt``
records its precision and a resumed fold continues in it wherever the device computes it: any
precision on a GPU (bf16 on a V100/T4 only emulated, so slower), fp32 or natively supported bf16 on
a CPU. Where it cannot (fp16 on a CPU; bf16 on a CPU without native bf16, ~300x slower), the resume
is refused with the two ways on: resume on a device of the first kind, or restart the fold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from busbench.errors import BusbenchError
from busbench.log import logger
from busbench.models.precision import precision_name
from busbench.train import device as devices
from busbench.train.device import NATIVE_CPU_BF16, Precision, choose_precision

DTYPES = {precision_name(dtype): dtype for dtype in (None, torch.bfloat16, torch.float16)}


def recorded_precision(saved: dict[str, Any]) -> str | None:
    """The precision ``last.pt`` was trained in. A ``last.pt`` of a busbench that did not record it
    tells fp16 only (the one precision whose gradient scaler holds a state): None otherwise."""
    if "precision" in saved:
        return str(saved["precision"])
    return "fp16" if saved.get("scaler") else None


def _cannot_compute(name: str, device: torch.device) -> str | None:
    """Why ``device`` cannot train in precision ``name``; None where it can."""
    if device.type == "cuda" or name == "fp32":
        return None
    if name == "fp16":
        return "the CPU has no fast fp16"
    if not devices.cpu_bf16_features():
        return f"the CPU lacks native bf16 (none of {', '.join(NATIVE_CPU_BF16)}), where bf16 runs ~300x slower"
    return None


def fold_precision(amp: str, device: torch.device, saved: dict[str, Any] | None, path: Path) -> Precision:
    """The precision of a fold on ``device``: ``amp``'s choice for a new fold, the recorded one for a
    fold resumed from ``saved`` (``path``, its ``last.pt``); a warning says when they differ."""
    chosen = choose_precision(amp, device)
    if saved is None:
        return chosen
    restart = f"delete {path.parent} to restart the fold from its first epoch in {chosen.name}"
    recorded = recorded_precision(saved)
    if recorded is None:
        if chosen.dtype != torch.float16:
            return chosen
        raise BusbenchError(f"{path}: saved by an older busbench, which did not record the precision; its gradient "
                            f"scaler was off, so the fold trained in bf16 or fp32, not in fp16 ({chosen.reason}, "
                            f"{device}); resume it on the kind of device it started on, or {restart}")
    if recorded not in DTYPES:
        raise BusbenchError(f"{path}: records an unknown precision {recorded!r}; {restart}")
    if recorded == chosen.name:
        return chosen
    why_not = _cannot_compute(recorded, device)
    if why_not is not None:
        raise BusbenchError(f"{path}: the fold trains in {recorded}, which {device} cannot continue ({why_not}); "
                            f"resume it on a device that computes {recorded} (a GPU), or {restart}")
    reason = f"{path} was trained in {recorded}, and a fold keeps its precision ({chosen.reason} for a new fold)"
    logger.warning(f"warning: continuing in {recorded}: {reason}")
    return Precision(DTYPES[recorded], reason)
