"""`busbench profile --run`: what each row of a run's tables costs, measured as the run's inference runs it
(or as a config's would, before it has run).

A report row runs one fold model (a "fold models" row) or the k fold models of its cell (an
"ensemble" row), each on the plain image and every ``eval.tta`` view, averaging the probabilities
(``inference.ensemble_probabilities``). Each cell is profiled that way: its trained variant
(``model.kwargs``, ``input.size``, ``input.channels``) built k times with seeded weights (the cost does
not depend on the values), placed as training places it (``train.channels_last``), timed under the
autocast ``train.amp`` resolves to on the given device, as inference resolves it
(``train.device.autocast_dtype``), at batch 1 and at ``eval.batch_size``; its FLOPs are counted on the
whole row's computation for one image, not scaled from one pass. The rows land in
``cost_profile.csv``, one per (cell, row type), which the report's cost table reads directly
(``report.tables.complexity``). Post-processing (ens. + PP) is not timed: it runs on the CPU after
the ensemble's probabilities, so that row shows the ensemble's figures.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
import yaml
from torch import nn

from busbench.config import ExperimentConfig, load_config
from busbench.errors import BusbenchError
from busbench.evaluate.aggregate import ENSEMBLE, FOLD_MODELS
from busbench.evaluate.inference import ensemble_probabilities
from busbench.layout.folders import CONFIG_YAML, CellFolder
from busbench.models import count_parameters
from busbench.models.precision import precision_name
from busbench.models.profile import (
    Report,
    Timing,
    count_flops,
    cudnn_benchmark,
    images_per_second,
    profiled_model,
    published_macs,
)
from busbench.train.device import autocast_dtype, cpu_name, place_model

COST_PROFILE_CSV = "cost_profile.csv"


def model_kwargs_key(config: ExperimentConfig) -> str:
    """The trained variant's arguments as canonical JSON (a weights file to start from changes no cost)."""
    return json.dumps({k: v for k, v in config.model.kwargs.items() if k != "encoder_weights"}, sort_keys=True)


def input_key(config: ExperimentConfig) -> str:
    return f"{config.input.channels}x{config.input.size}x{config.input.size}"


def device_name(device: torch.device) -> str:
    """The processor's name, as the cost table's notes give it."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()


class RowComputation(nn.Module):
    """What a row computes per batch: ``models`` on the plain and ``tta`` views, probabilities averaged."""

    def __init__(self, models: Sequence[nn.Module], tta: Sequence[str], dtype: torch.dtype | None) -> None:
        super().__init__()
        self.networks, self.tta, self.dtype = nn.ModuleList(models), tuple(tta), dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ensemble_probabilities(list(self.networks), x, self.tta, self.dtype)


@dataclass(frozen=True)
class TrainedCell:
    """A cell to profile: its id, resolved config and how many fold models its ensemble averages."""

    id: str
    config: ExperimentConfig
    networks: int


def trained_cells(path: Path) -> list[TrainedCell]:
    """Every trained cell at or under ``path`` (a cell, a run folder or a results folder): those with a
    ``config.yaml``, the ensemble's size its fold folders (``split.folds`` before any); or, ``path``
    an experiment file, each cell it would run, with ``split.folds`` fold models."""
    if Path(path).is_file():
        return [TrainedCell(f"{c.data.key()}/{c.cell_key()}", c, c.split.folds) for c in load_config(path).cells()]
    configs = [path / CONFIG_YAML] if (path / CONFIG_YAML).is_file() else sorted(Path(path).rglob(CONFIG_YAML))
    if not configs:
        raise BusbenchError(f"--run {path}: no trained cell ({CONFIG_YAML}) there; give a run folder that "
                            "`busbench run` wrote, one of its cells, or an experiment config")
    cells = []
    for config_yaml in configs:
        cell = CellFolder(config_yaml.parent)
        config = ExperimentConfig.model_validate(yaml.safe_load(config_yaml.read_text()))
        cells.append(TrainedCell(cell.id, config, len(cell.folds()) or config.split.folds))
    return cells


def _row(cell: TrainedCell, variant: str, models: list[nn.Module], device: torch.device, timing: Timing,
         report: Report) -> dict[str, object]:
    config = cell.config
    dtype, tta, batch = autocast_dtype(config.train.amp, device), config.eval.tta, config.eval.batch_size
    size, channels = config.input.size, config.input.channels
    label = f"{cell.id} {variant} ({len(models)} x {1 + len(tta)} passes)"
    one = torch.rand(1, channels, size, size, device=device)
    many = torch.rand(batch, channels, size, size, device=device)
    timed = RowComputation(models, tta, dtype)
    flops = count_flops(RowComputation(models, tta, None), one)  # counted the same in any precision
    report(f"{label}: {flops / 1e9:.3f} GFLOPs per image")
    return {
        "cell": cell.id, "model": config.model.name, "model_kwargs": model_kwargs_key(config),
        "input": input_key(config), "tta": ",".join(tta), "row": variant, "networks": len(models),
        "views": 1 + len(tta), "forward_passes": len(models) * (1 + len(tta)),
        "params_m_held": sum(count_parameters(m) for m in models) / 1e6, "gflops_per_image": flops / 1e9,
        "precision": precision_name(dtype), "device": device.type, "device_name": device_name(device),
        "channels_last": config.train.channels_last, "batch": batch,
        "fps_batch1": images_per_second(timed, one, timing, report, label),
        "fps": images_per_second(timed, many, timing, report, label),
    }


def profile_cell(cell: TrainedCell, device: torch.device, timing: Timing, report: Report) -> list[dict[str, object]]:
    """The cell's fold-model row and ensemble row, each measured as run."""
    config = cell.config
    kwargs = json.loads(model_kwargs_key(config))
    size, channels = config.input.size, config.input.channels
    models = [place_model(profiled_model(config.model.name, size, channels, device, **kwargs), device,
                          config.train.channels_last) for _ in range(cell.networks)]
    macs_224, side_224 = published_macs(config.model.name, channels, **kwargs)
    rows = [_row(cell, FOLD_MODELS, models[:1], device, timing, report)]
    if cell.networks > 1:
        rows.append(_row(cell, ENSEMBLE, models, device, timing, report))
    return [{**row, "gmacs_224_one_pass": macs_224, "size_224": side_224} for row in rows]


def _computation(cell: TrainedCell) -> tuple[object, ...]:
    """What decides a cell's cost: two cells alike in it (the seeds of one model) are measured once."""
    config = cell.config
    return (config.model.name, model_kwargs_key(config), input_key(config), tuple(config.eval.tta), cell.networks,
            config.train.amp, config.train.channels_last, config.eval.batch_size)


def profile_run(path: Path, device: torch.device, timing: Timing, report: Report) -> pd.DataFrame:
    """The rows of every trained cell under ``path`` (one cell of those that compute alike), each cell's
    config read before any is timed."""
    distinct: dict[tuple[object, ...], TrainedCell] = {}
    for cell in trained_cells(path):
        distinct.setdefault(_computation(cell), cell)
    with cudnn_benchmark(device):
        return pd.DataFrame([row for cell in distinct.values() for row in profile_cell(cell, device, timing, report)])
