"""What busbench offers: `models` (with parameters and papers), `configs` (the shipped experiment
configs) and `profile` (cost and speed of models at one input size)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from busbench.cli.options import DeviceOption, Engine, shipped_configs
from busbench.console import console, print_frame
from busbench.layout.atomic import write_csv, write_text
from busbench.markdown import markdown_table
from busbench.models import available_models, build_model, count_parameters, model_names, resolve_model
from busbench.models.profile import ProfileInput, Timing, profile_models
from busbench.train.device import choose_precision, log_precision, resolve_device


def models(
    name: Annotated[list[str], typer.Argument(help="Only these models; an import path module:attribute too.")] = [],  # noqa: B006
) -> None:
    """List the models with their parameters, the published reference and, for outside code, its origin.

    That is busbench's own models, MONAI's when it is installed (busbench[monai]), and those installed
    plugin packages register (entry point group busbench.models).
    """
    rows = []
    for model_name in name or model_names():
        entry = resolve_model(model_name, "busbench models NAME")
        ours = count_parameters(build_model(model_name)) / 1e6
        reference = f"{entry.reference_params_m:.2f}" if entry.reference_params_m else "-"
        rows.append((model_name, f"{ours:.2f}", reference, entry.paper, entry.origin or "busbench"))
    print_frame(pd.DataFrame(rows, columns=["model", "params (M)", "published (M)", "paper", "origin"]),
                "Models (3-channel input, 1 output class)", index=False)


def configs() -> None:
    """List the shipped experiment configs (usable by name in `busbench run`)."""
    for name, path in shipped_configs().items():
        console.print(f"{name:10s} {path}", highlight=False)


def profile(
    model: Annotated[list[str], typer.Option("--model", help="Model to profile (repeatable), or module:attribute "
                                                      "(default: all but plugins).")] = [],  # noqa: B006
    size: Annotated[int, typer.Option(help="Input side, px (checked against each model's valid sizes).")] = 256,
    batch: Annotated[int, typer.Option(help="Batch size of the second throughput and memory figure.")] = 8,
    channels: Annotated[int, typer.Option(help="Input channels.")] = 3,
    device: DeviceOption = "auto",
    iterations: Annotated[int, typer.Option(help="Most timed iterations per throughput figure.")] = 10,
    seconds: Annotated[float, typer.Option(help="Most seconds per throughput figure, warm-up included.")] = 10.0,
    out: Annotated[Optional[Path], typer.Option(help="Folder for profile.csv and profile.md.")] = None,
    amp: Annotated[str, typer.Option(help="Precision of the speed and memory figures, as train.amp: auto (what a run "
                                          "computes in on this device), off (fp32), bf16 or fp16; in the "
                                          "precision column.")] = "auto",
    engine: Annotated[Engine, typer.Option(help="pytorch, or onnxruntime: also measure ONNX Runtime's images/s (fp32), "
                                                "its ratio to PyTorch's (in --amp's precision) and the providers it "
                                                "ran on (the onnx extra).")] = "pytorch",
) -> None:
    """Parameters, MACs, GFLOPs, images/s and peak memory of models at one input size.

    Each throughput figure stops after --iterations runs or --seconds, whichever comes first, so a model
    takes about 2 x --seconds plus one batch for memory and one image for FLOPs: a 256 px U-Net takes
    under a minute on 2 CPU cores. A line is printed per measurement as it is taken.
    """
    from busbench.deploy.engines import with_onnxruntime_speed

    names = model or sorted(available_models())
    torch_device = resolve_device(device)

    def report(line: str) -> None:
        console.print(line, markup=False, highlight=False)

    precision = choose_precision(amp, torch_device, "--amp")
    log_precision(precision)
    shape, timing = ProfileInput(size, batch, channels), Timing(iterations=iterations, seconds=seconds)
    table = profile_models(names, shape, torch_device, timing, report, precision.dtype)
    if engine == "onnxruntime":
        table = with_onnxruntime_speed(table, shape, torch_device, timing, report)
    shown = table.round(3)
    print_frame(shown, f"Profile at {channels}x{size}x{size}", index=False)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_csv(table, out / "profile.csv", float_format="%.4f")
        write_text(markdown_table(shown), out / "profile.md")
        console.print(f"written: {out / 'profile.csv'}, {out / 'profile.md'}")
