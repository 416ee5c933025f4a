"""Params, GFLOPs and images/s of each reported row, for the table's cost columns, and where its code came from.

Parameters and GFLOPs (torch's FLOP counter, 2 x MACs, one image at the run's input size) are
computed from the run's configuration, its trained variant (``model.kwargs``), and so are the MACs
of one pass at 1 x C x 224 x 224 that published BUS tables print as "GFLOPs" (thop's count at the
seeds' input), for comparison with them: that column is never multiplied by a row's passes. A row
runs ``networks`` models (1, or the k fold models of an ensemble) on ``views`` test-time views each:
its parameters are the networks held, its GFLOPs per image those of its ``networks * views`` passes.
Its images/s is never scaled: it comes from the ``cost_profile.csv`` that ``busbench profile --run``
wrote under the results folder, which measured that row's computation (the ensemble with its TTA
views) in the precision and on the device the file names; a row without one says why. The origin
of code from outside busbench (a plugin's module and version or source sha256, MONAI's version) is
the one the run recorded in its ``environment.json`` when it trained.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pandas as pd
import torch

from busbench.config import ExperimentConfig
from busbench.evaluate.aggregate import ENSEMBLE, FOLD_MODELS
from busbench.evaluate.run_cost import COST_PROFILE_CSV, input_key, model_kwargs_key
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


MEASURED = ("fps", "fps_ensemble", "ensemble_networks", "fps_precision", "fps_device")
NO_COST: dict[str, object] = {"params_m": None, "gflops": None, "macs_g_224": None, "size_224": None, "fps": None,
                               "fps_precision": None, "fps_device": None,
                               "fps_note": "outside method: predictions scored, no network to count"}
PROFILE_COMMAND = "`busbench profile --run <run folder> --out <results folder>/profile`"


def _measured(config: ExperimentConfig, profiles: pd.DataFrame) -> dict[str, object]:
    """The throughput ``busbench profile --run`` measured for this trained variant's fold-model and
    ensemble rows (its TTA views, input and arguments), or why there is none."""
    missing: dict[str, object] = {**dict.fromkeys(MEASURED), "fps_note": f"not measured: run {PROFILE_COMMAND}"}
    if profiles.empty or "row" not in profiles:
        return missing
    match = profiles[(profiles["model"] == config.model.name) & (profiles["input"] == input_key(config))
                     & (profiles["model_kwargs"].fillna("{}") == model_kwargs_key(config))
                     & (profiles["tta"].fillna("") == ",".join(config.eval.tta))]
    fold, ensemble = match[match["row"] == FOLD_MODELS], match[match["row"] == ENSEMBLE]
    if fold.empty:
        return missing
    first = fold.iloc[-1]  # the last profile read (files in path order) stands
    last_ensemble = ensemble.iloc[-1] if not ensemble.empty else None
    return {"fps": float(first["fps"]), "fps_precision": str(first["precision"]), "fps_device": str(first["device"]),
            "fps_ensemble": None if last_ensemble is None else float(last_ensemble["fps"]),
            "ensemble_networks": None if last_ensemble is None else int(last_ensemble["networks"]),
            "fps_note": (f"measured by busbench profile --run at batch {int(first['batch'])} (eval.batch_size), "
                         f"{first['precision']}, {first['device']} ({first['device_name']})")}


def model_cost(config: ExperimentConfig, profiles: pd.DataFrame) -> dict[str, object]:
    """One network's size and compute at the run's input, and the throughput measured of its rows."""
    kwargs = model_kwargs_key(config)
    params, gflops = _params_and_gflops(config.model.name, kwargs, config.input.channels, config.input.size)
    macs_224, size_224 = _published_macs(config.model.name, kwargs, config.input.channels)
    return {"params_m": params, "gflops": gflops, "macs_g_224": macs_224, "size_224": size_224,
            **_measured(config, profiles)}


def _times(value: object, factor: int) -> float | None:
    return None if value is None else float(value) * factor  # type: ignore[arg-type]


def row_cost(single: dict[str, object], networks: int, views: int) -> dict[str, object]:
    """What a row runs: ``networks`` models on ``views`` test-time views each, ``networks * views``
    forward passes per image. Parameters are the networks held, GFLOPs those of every pass; the
    published MACs stay one pass's; images/s is the measured one of that row's computation (a fold
    model's, or the ensemble of the same number of networks), never scaled."""
    passes = networks * views
    row = {key: value for key, value in single.items() if key not in MEASURED}
    row.update(networks=networks, views=views, forward_passes=passes, params_m=_times(single["params_m"], networks),
               gflops=_times(single["gflops"], passes), fps_precision=single.get("fps_precision"),
               fps_device=single.get("fps_device"))
    if networks == 1:
        row["fps"] = single.get("fps")
    elif single.get("ensemble_networks") == networks:
        row["fps"] = single.get("fps_ensemble")
    else:
        row["fps"] = None
        if single.get("fps") is not None:
            row["fps_note"] = (f"not measured: the profile's ensemble holds {single.get('ensemble_networks')} "
                               f"networks, this row {networks}; run {PROFILE_COMMAND}")
    return row


def throughput_title(table: pd.DataFrame) -> str:
    """The images/s column's title, with the precision and device every measured row shares."""
    measured = table[pd.to_numeric(table["fps"], errors="coerce").notna()] if "fps" in table else table.iloc[:0]
    shared = [measured[c].dropna().unique() for c in ("fps_precision", "fps_device") if c in measured]
    words = [str(values[0]) for values in shared if len(values) == 1]
    return f"Images/s (measured{''.join(', ' + w for w in words)})"


def model_origin(run_dir: Path, config: ExperimentConfig) -> str:
    """The origin recorded when the run trained; for runs older than that record, today's."""
    recorded = read_environment(run_dir).model_origin
    return recorded if recorded is not None else resolve_model(config.model.name).origin


def find_profiles(results_dir: Path) -> pd.DataFrame:
    """Every ``cost_profile.csv`` that ``busbench profile --run --out`` wrote under ``results_dir``."""
    frames = [pd.read_csv(p, dtype={"model_kwargs": str, "tta": str})
              for p in sorted(Path(results_dir).rglob(COST_PROFILE_CSV))]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
