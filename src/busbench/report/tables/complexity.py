"""Params, GFLOPs and FPS of each reported model, for the table's cost columns, and where its code came from.

Parameters and GFLOPs (torch's FLOP counter, 2 x MACs, one image at the run's input size) are
computed from the run's configuration, and so are the MACs at 1 x C x 224 x 224 that published BUS
tables print as "GFLOPs" (thop's count at the seeds' input), for comparison with them. FPS comes
from ``profile.csv`` files that ``busbench profile --out`` wrote under the results folder, when one
lists the model at the run's input; measuring speed is left to that command, on the machine whose
speed matters, and a row without it says why. ``row_cost`` scales one network's figures to what a
table row runs: an ensemble of k fold models with v test-time views is k * v forward passes. The
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
from busbench.models import build_model, count_parameters, resolve_model
from busbench.models.profile import count_flops, published_macs
from busbench.records import read_environment


@cache
def _params_and_gflops(name: str, kwargs_json: str, channels: int, size: int) -> tuple[float, float]:
    """Cached by the model's arguments as JSON: they may hold lists (MONAI's ``features``)."""
    model = build_model(name, in_channels=channels, num_classes=1, **json.loads(kwargs_json)).eval()
    flops = count_flops(model, torch.zeros(1, channels, size, size))
    return count_parameters(model) / 1e6, flops / 1e9


@cache
def _published_macs(name: str, kwargs_json: str, channels: int) -> tuple[float, int]:
    return published_macs(name, channels, **json.loads(kwargs_json))


NO_COST: dict[str, object] = {"params_m": None, "gflops": None, "macs_g_224": None, "size_224": None, "fps": None,
                               "fps_note": "outside method: predictions scored, no network to count"}


def _profiled_fps(config: ExperimentConfig, profiles: pd.DataFrame) -> tuple[float | None, str]:
    """Batch-1 throughput of the model as the run built it, or why there is none."""
    name, size, channels = config.model.name, config.input.size, config.input.channels
    command = f"`busbench profile --model {name} --size {size} --channels {channels} --out <results folder>/profile`"
    if config.model.kwargs:  # profiles measure the default model of each name
        return None, f"not profiled: `busbench profile` measures {name}'s default arguments, not model.kwargs"
    if profiles.empty or "model" not in profiles:
        return None, f"not profiled: run {command}"
    match = profiles[profiles["model"] == name]
    if "input" in match:  # profile.csv files older than the input column: any input
        match = match[match["input"] == f"{channels}x{size}x{size}"]
    if match.empty:
        return None, f"not profiled at {channels}x{size}x{size}: run {command}"
    device = match["device"].iloc[0] if "device" in match else "device not recorded"
    return float(match["fps_batch1"].iloc[0]), f"busbench profile, batch 1, {device}"


def model_cost(config: ExperimentConfig, profiles: pd.DataFrame) -> dict[str, object]:
    """One network's cost at the run's input: parameters, GFLOPs and throughput (one forward pass)."""
    kwargs = json.dumps({k: v for k, v in config.model.kwargs.items() if k != "encoder_weights"}, sort_keys=True)
    params, gflops = _params_and_gflops(config.model.name, kwargs, config.input.channels, config.input.size)
    macs_224, size_224 = _published_macs(config.model.name, kwargs, config.input.channels)
    fps, fps_note = _profiled_fps(config, profiles)
    return {"params_m": params, "gflops": gflops, "macs_g_224": macs_224, "size_224": size_224, "fps": fps,
            "fps_note": fps_note}


def row_cost(single: dict[str, object], networks: int, views: int) -> dict[str, object]:
    """What a row runs: ``networks`` models (1, or the k fold models of an ensemble) on ``views``
    test-time views each, so ``networks * views`` forward passes per image. Parameters scale with
    the networks held, GFLOPs with the passes, throughput divides by them (no measurement of the
    combination itself: the single model's, scaled)."""
    passes = networks * views
    scaled = dict(single, networks=networks, views=views, forward_passes=passes)
    for column in ("gflops", "macs_g_224"):
        scaled[column] = None if single[column] is None else float(single[column]) * passes  # type: ignore[arg-type]
    scaled["params_m"] = None if single["params_m"] is None else float(single["params_m"]) * networks  # type: ignore[arg-type]
    scaled["fps"] = None if single["fps"] is None else float(single["fps"]) / passes  # type: ignore[arg-type]
    return scaled


def model_origin(run_dir: Path, config: ExperimentConfig) -> str:
    """The origin recorded when the run trained; for runs older than that record, today's."""
    recorded = read_environment(run_dir).model_origin
    return recorded if recorded is not None else resolve_model(config.model.name).origin


def find_profiles(results_dir: Path) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in sorted(Path(results_dir).rglob("profile.csv"))]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
