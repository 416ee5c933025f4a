"""The inference engine of `predict` and `profile`: PyTorch (default) or ONNX Runtime."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch

from busbench.deploy.onnx_export import export_checked, load_onnx_run
from busbench.deploy.onnx_runtime import OnnxRuntimeModel, check_engine
from busbench.evaluate.predict import TrainedRun, load_run
from busbench.models.profile import ProfileInput, Report, Timing, images_per_second, profiled_model


def load_trained(run: Path, engine: str, device: torch.device, allow_partial: bool = False) -> TrainedRun:
    """A run folder's fold models in PyTorch, or an exported folder's in ONNX Runtime (always of a
    finished run: ``export onnx`` refuses an unfinished one, so ``allow_partial`` is PyTorch's)."""
    check_engine(engine)
    return load_run(run, device, allow_partial) if engine == "pytorch" else load_onnx_run(run, device)


def with_onnxruntime_speed(table: pd.DataFrame, shape: ProfileInput, device: torch.device, timing: Timing,
                           report: Report) -> pd.DataFrame:
    """``profile``'s table with ONNX Runtime's images/s (fp32) beside PyTorch's (in the ``precision``
    column's), for the same seeded models and inputs, the ratio ONNX Runtime / PyTorch, and the
    execution providers the ONNX Runtime session runs with (``onnxruntime_providers``)."""
    table, size, channels = table.copy(), shape.size, shape.channels
    for row, name in enumerate(table["model"]):
        model = profiled_model(str(name), size, channels, torch.device("cpu"))
        exported, _ = export_checked(model, channels, size, str(name))
        runtime = OnnxRuntimeModel(exported, device)  # refuses a CPU session when device is a GPU
        table.loc[row, "onnxruntime_providers"] = ",".join(runtime.providers)
        for images in (1, shape.batch):
            x = torch.rand(images, channels, size, size, device=device)
            speed = images_per_second(runtime, x, replace(timing, warmup=1), report, f"{name} (onnxruntime)")
            table.loc[row, f"onnxruntime_fps_batch{images}"] = speed
            pytorch_speed = float(table[f"fps_batch{images}"].iloc[row])
            table.loc[row, f"onnxruntime_speedup_batch{images}"] = speed / pytorch_speed
    return table
