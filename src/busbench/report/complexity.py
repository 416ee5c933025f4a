"""Params, GFLOPs and FPS of each reported model, for the table's cost columns, and where its code came from.

Parameters and GFLOPs (torch's FLOP counter, 2 x MACs, one image at the run's input size) are
computed from the run's configuration, and so are the MACs at 1 x C x 224 x 224 that published BUS
tables print as "GFLOPs" (thop's count at the seeds' input), for comparison with them. FPS comes
from ``profile.csv`` files that ``busbench profile --out`` wrote under the results folder, when one
lists the model; measuring speed is left to that command, on the machine whose speed matters. The
origin of code from outside busbench (a plugin's module and version or source sha256, MONAI's
version) is the one the run recorded in its ``environment.json`` when it trained.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pandas as pd
import torch

from busbench.config import ExperimentConfig
from busbench.layout import ENVIRONMENT_JSON
from busbench.models import build_model, count_parameters, resolve_model
from busbench.models.profile import count_flops, published_macs


@cache
def _params_and_gflops(name: str, kwargs_json: str, channels: int, size: int) -> tuple[float, float]:
    """Cached by the model's arguments as JSON: they may hold lists (MONAI's ``features``)."""
    model = build_model(name, in_channels=channels, num_classes=1, **json.loads(kwargs_json)).eval()
    flops = count_flops(model, torch.zeros(1, channels, size, size))
    return count_parameters(model) / 1e6, flops / 1e9


@cache
def _published_macs(name: str, kwargs_json: str, channels: int) -> tuple[float, int]:
    return published_macs(name, channels, **json.loads(kwargs_json))


NO_COST: dict[str, float | None] = {"params_m": None, "gflops": None, "macs_g_224": None, "size_224": None,
                                    "fps": None}  # an outside method's predictions: no network to count


def model_cost(config: ExperimentConfig, profiles: pd.DataFrame) -> dict[str, float | None]:
    kwargs = json.dumps({k: v for k, v in config.model.kwargs.items() if k != "encoder_weights"}, sort_keys=True)
    params, gflops = _params_and_gflops(config.model.name, kwargs, config.input.channels, config.input.size)
    macs_224, size_224 = _published_macs(config.model.name, kwargs, config.input.channels)
    fps = None
    if not profiles.empty and not config.model.kwargs:  # profiles measure the default model of each name
        match = profiles[profiles["model"] == config.model.name]
        if not match.empty:
            fps = float(match["fps_batch1"].iloc[0])
    return {"params_m": params, "gflops": gflops, "macs_g_224": macs_224, "size_224": size_224, "fps": fps}


def model_origin(run_dir: Path, config: ExperimentConfig) -> str:
    """The origin recorded when the run trained; for runs older than that record, today's."""
    environment = Path(run_dir) / ENVIRONMENT_JSON
    recorded = json.loads(environment.read_text()).get("model_origin") if environment.is_file() else None
    return str(recorded) if recorded is not None else resolve_model(config.model.name).origin


def find_profiles(results_dir: Path) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in sorted(Path(results_dir).rglob("profile.csv"))]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
