"""Loading pretrained weights from a local file (nothing is ever downloaded).

Accepted: a bare state dict, or a checkpoint holding one under ``state_dict``, ``model`` or
``model_state_dict`` (PyTorch Lightning, busbench, common training scripts); a ``module.``
prefix (DataParallel) and an ``encoder.`` or ``backbone.`` prefix are removed. Every parameter
and buffer of the target must be found with its shape; checkpoint entries the target does not
have (a classifier head) are ignored and counted. A 3-channel first convolution loaded into a
1-channel model is summed over its input channels, the usual way to reuse ImageNet weights on
grey images.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from busbench.errors import BusbenchError

CONTAINER_KEYS = ("state_dict", "model", "model_state_dict")
PREFIXES = ("module.", "encoder.", "backbone.")


def read_state_dict(path: Path) -> dict[str, Tensor]:
    path = Path(path)
    if not path.is_file():
        raise BusbenchError(f"{path}: weights file not found; give the path of a local .pth/.pt file")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or corrupt files
        raise BusbenchError(f"{path}: not a PyTorch checkpoint readable with weights_only=True ({exc})") from exc
    for key in CONTAINER_KEYS:
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
            break
    if not isinstance(loaded, dict) or not all(isinstance(v, Tensor) for v in loaded.values()):
        raise BusbenchError(f"{path}: no state dict found (looked at the top level and {', '.join(CONTAINER_KEYS)})")
    state = dict(loaded)
    for prefix in PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def load_weights(module: nn.Module, path: Path) -> int:
    """Load ``path`` into ``module``; returns how many checkpoint entries were not used."""
    state = read_state_dict(path)
    target = module.state_dict()
    missing = [k for k in target if k not in state]
    if missing:
        raise BusbenchError(
            f"{path}: weights missing: {len(missing)} of the model's {len(target)}, e.g. {missing[:3]}; "
            f"the file holds e.g. {list(state)[:3]}. Use weights of the same architecture"
        )
    adapted = {}
    for key, value in target.items():
        source = state[key]
        if source.shape != value.shape and source.ndim == 4 and source.shape[1] == 3 and value.shape[1] == 1:
            source = source.sum(dim=1, keepdim=True)
        if source.shape != value.shape:
            raise BusbenchError(f"{path}: {key} has shape {tuple(source.shape)}, the model needs {tuple(value.shape)}")
        adapted[key] = source
    module.load_state_dict(adapted)
    return len(set(state) - set(target))
