"""Checkpoints, written atomically so an interruption never leaves a half-written file.

``last.pt`` holds everything needed to continue exactly where training stopped (model, optimiser,
schedule, scaler, precision, the trainer's counters and every random generator's state);
``best.pt`` holds the selected weights with what is needed to rebuild the model.

Both hold only tensors and plain data (numbers, strings, lists, tuples, dicts), and every
checkpoint is read with ``torch.load(weights_only=True)``: trained runs are shared (a colleague's
fold models for ``predict``, ``model.init_from``), and a full unpickler would run whatever code a
crafted file names the moment it is loaded. Such a file is refused instead.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from busbench.data.integrity import file_sha256
from busbench.errors import BusbenchError
from busbench.layout.atomic import atomic_path
from busbench.layout.folders import BEST, FOLD_PREFIX, LAST, FoldFolder
from busbench.models.weights import load_tensors


def save_atomic(payload: dict[str, Any], path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def rng_state() -> dict[str, Any]:
    """Every generator's state as tensors and plain data (loadable with ``weights_only=True``)."""
    numpy_state = np.random.get_state(legacy=False)
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {"bit_generator": numpy_state["bit_generator"], "pos": int(numpy_state["state"]["pos"]),
                  "key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)),
                  "has_gauss": int(numpy_state["has_gauss"]), "gauss": float(numpy_state["gauss"])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])  # first: a state loaded off the CPU fails here, with torch's message
    saved = state["numpy"]
    np.random.set_state({"bit_generator": saved["bit_generator"], "has_gauss": saved["has_gauss"],
                         "gauss": saved["gauss"],
                         "state": {"key": saved["key"].numpy().astype(np.uint32), "pos": saved["pos"]}})
    if "cuda" in state and torch.cuda.is_available():
        # One state per GPU visible when saved; a run resumed with fewer (CUDA_VISIBLE_DEVICES
        # changed) restores those it has, as set_rng_state_all would fail on the missing ones.
        for index, cuda_state in enumerate(state["cuda"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, index)


def load(path: Path) -> dict[str, Any]:
    """A checkpoint's tensors and plain data, every tensor on the CPU: the RNG states must be CPU byte
    tensors (``torch.set_rng_state`` refuses others), and ``load_state_dict`` moves weights and optimiser
    state to wherever the model is. A file that would need to run code to load is refused; a missing,
    truncated or garbage one is one line saying how to recover."""
    path = Path(path)
    if not path.is_file():
        raise BusbenchError(f"{path}: checkpoint missing; {_fix(path)}")
    saved = load_tensors(path, "checkpoint", _fix(path))
    if not isinstance(saved, dict):
        raise BusbenchError(f"{path}: not a busbench checkpoint; {_fix(path)}")
    return saved


def _fix(path: Path) -> str:
    """How to recover a fold whose checkpoint is missing or damaged: train it again (``last.pt``
    lost only costs the epochs since the start; ``best.pt`` needs the fold retrained)."""
    if path.name == LAST and path.parent.name.startswith(FOLD_PREFIX):
        return (f"delete it to restart fold {FoldFolder(path.parent).number} from its first epoch, then run the same "
                "command again")
    return (f"delete the folder {path.parent} to train that fold again (or restore the file from a copy), "
            "then run the same command again")


def checkpoint_digests(fold_dir: Path) -> dict[str, str]:
    """SHA-256 of a finished fold's ``best.pt``, recorded in its ``done.json``."""
    return {BEST: file_sha256(FoldFolder(fold_dir).best_pt)}


def verify_checkpoints(fold_dir: Path, recorded: dict[str, str] | None, record: Path, fix: str) -> None:
    """Refuse a finished fold whose ``best.pt`` is missing or differs from the hash recorded when it
    finished (a corrupt copy, a disk error, a file replaced by hand). Older records without hashes pass."""
    for name, sha256 in (recorded or {}).items():
        path = fold_dir / name
        if not path.is_file():
            raise BusbenchError(f"{path}: missing, though {record} records it as the fold's model. {fix}")
        if file_sha256(path) != sha256:
            raise BusbenchError(f"{path}: differs from the checkpoint {record} recorded when the fold finished "
                                f"(corrupt or replaced). {fix}")
