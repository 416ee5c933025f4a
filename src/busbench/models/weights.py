"""Loading pretrained weights from a local file (nothing is ever downloaded).

Accepted: a bare state dict, or a checkpoint holding one under ``state_dict``, ``model`` or
``model_state_dict`` (PyTorch Lightning, busbench, common training scripts); a ``module.``
prefix (DataParallel) and an ``encoder.`` or ``backbone.`` prefix are removed. Every parameter
and buffer of the target must be found with its shape; checkpoint entries the target does not
have (a classifier head) are ignored and counted. A 3-channel first convolution loaded into a
1-channel model is summed over its input channels, the usual way to reuse ImageNet weights on
grey images.

Every failure is one line naming the file, the setting that gave it and the fix: a file that
would run code to load (a crafted pickle) is refused unread, and an unreadable one (text,
truncated, another format) is named as such, never torch's multi-line explanation.
"""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from busbench.errors import BusbenchError

CONTAINER_KEYS = ("state_dict", "model", "model_state_dict")
PREFIXES = ("module.", "encoder.", "backbone.")


def load_tensors(path: Path, what: str, fix: str) -> Any:
    """``torch.load(weights_only=True)`` on the CPU: tensors and plain data only. A file that would
    run code to load is refused, a truncated, damaged or foreign one is one line; both end in ``fix``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on the pickle protocol of files it did not write
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # weights_only met something other than tensors and plain data
        named = re.search(r"GLOBAL ([\w.]+)", str(exc))
        names = f", here {named.group(1)}" if named else ""
        raise BusbenchError(f"{path}: refused, it holds Python objects beyond tensors and plain data, which could "
                            f"run code when loaded (a crafted file, or one saved with whole objects{names}); "
                            f"{fix}") from exc
    except Exception as exc:  # a truncated or garbage file fails in zipfile or torch, each its own way
        raise BusbenchError(f"{path}: not a readable {what} (truncated, damaged or not a PyTorch file: "
                            f"{type(exc).__name__}); {fix}") from exc


def _weights_fix(setting: str) -> str:
    return (f"point {setting} at a local .pth/.pt file saved with torch.save(model.state_dict(), path) from the "
            "same architecture")


def read_state_dict(path: Path, setting: str) -> dict[str, Tensor]:
    """The state dict in ``path`` (``setting`` names where the path was given, for the errors)."""
    path = Path(path)
    if not path.is_file():
        raise BusbenchError(f"{path}: weights file not found; {_weights_fix(setting)}")
    loaded = load_tensors(path, "weights file", _weights_fix(setting))
    for key in CONTAINER_KEYS:
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
            break
    if not isinstance(loaded, dict) or not all(isinstance(v, Tensor) for v in loaded.values()):
        raise BusbenchError(f"{path}: no state dict found (looked at the top level and {', '.join(CONTAINER_KEYS)}); "
                            f"{_weights_fix(setting)}")
    state = dict(loaded)
    for prefix in PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def load_weights(module: nn.Module, path: Path, setting: str) -> int:
    """Load ``path`` (given by ``setting``) into ``module``; returns how many checkpoint entries were not used."""
    state = read_state_dict(path, setting)
    target = module.state_dict()
    missing = [k for k in target if k not in state]
    if missing:
        raise BusbenchError(
            f"{path}: {len(missing)} of the model's {len(target)} weights are missing, e.g. {missing[:3]}; "
            f"the file holds e.g. {list(state)[:3]}; {_weights_fix(setting)}"
        )
    adapted = {}
    for key, value in target.items():
        source = state[key]
        if source.shape != value.shape and source.ndim == 4 and source.shape[1] == 3 and value.shape[1] == 1:
            source = source.sum(dim=1, keepdim=True)
        if source.shape != value.shape:
            raise BusbenchError(f"{path}: {key} has shape {tuple(source.shape)}, the model needs {tuple(value.shape)}; "
                                f"{_weights_fix(setting)}")
        adapted[key] = source
    module.load_state_dict(adapted)
    return len(set(state) - set(target))
