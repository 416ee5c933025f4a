"""Checkpoints, written atomically so an interruption never leaves a half-written file.

``last.pt`` holds everything needed to continue exactly where training stopped (model,
optimiser, schedule, scaler, the trainer's counters and every random generator's state);
``best.pt`` holds the selected weights with what is needed to rebuild the model.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from busbench.errors import BusbenchError
from busbench.layout import BEST as BEST
from busbench.layout import LAST as LAST
from busbench.layout import atomic_path


def save_atomic(payload: dict[str, Any], path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        # One state per GPU visible when saved; a run resumed with fewer (CUDA_VISIBLE_DEVICES
        # changed) restores those it has, as set_rng_state_all would fail on the missing ones.
        for index, cuda_state in enumerate(state["cuda"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, index)


def load(path: Path) -> dict[str, Any]:
    """A checkpoint with every tensor on the CPU: the RNG states must be CPU byte tensors
    (``torch.set_rng_state`` refuses others), and ``load_state_dict`` moves weights and optimiser
    state to wherever the model is."""
    # Our own files hold numpy RNG state and plain Python objects besides tensors.
    path = Path(path)
    if not path.is_file():
        raise BusbenchError(f"{path}: checkpoint missing; {_fix(path)}")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a truncated or garbage file fails in zipfile, pickle or torch, each its own way
        raise BusbenchError(f"{path}: not a readable checkpoint (truncated or damaged: {type(exc).__name__}); "
                            f"{_fix(path)}") from exc
    if not isinstance(saved, dict):
        raise BusbenchError(f"{path}: not a busbench checkpoint; {_fix(path)}")
    return saved


def _fix(path: Path) -> str:
    """How to recover a fold whose checkpoint is missing or damaged: train it again (``last.pt``
    lost only costs the epochs since the start; ``best.pt`` needs the fold retrained)."""
    if path.name == LAST:
        return f"delete it to restart fold {path.parent.name} from its first epoch, then run the same command again"
    return (f"delete the folder {path.parent} to train that fold again (or restore the file from a copy), "
            "then run the same command again")
