"""What busbench offers: `models` (with parameters and papers), `configs` (the shipped experiment
configs) and `profile` (cost and speed of models at one input size)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
import yaml

from busbench.cli.options import DeviceOption, Engine, shipped_configs
from busbench.console import console, print_frame
from busbench.errors import BusbenchError
from busbench.log import counted

if TYPE_CHECKING:
    import torch

    from busbench.models.profile import Report, Timing


def models(
    name: Annotated[list[str], typer.Argument(help="Only these models; an import path module:attribute too.")] = [],  # noqa: B006
) -> None:
    """List the models with their parameters, the published reference and, for outside code, its origin.

    That is busbench's own models, MONAI's when it is installed (busbench[monai]), and those installed
    plugin packages register (entry point group busbench.models).
    """
    import pandas as pd

    from busbench.models import build_model, count_parameters, model_names, resolve_model

    rows = []
    chosen = name or model_names()
    console.print(f"Building {counted(len(chosen), 'model')} to count their parameters ...", highlight=False)
    for model_name in chosen:
        entry = resolve_model(model_name, "busbench models NAME")
        ours = count_parameters(build_model(model_name)) / 1e6
        reference = f"{entry.reference_params_m:.2f}" if entry.reference_params_m else "-"
        rows.append((model_name, f"{ours:.2f}", reference, entry.paper, entry.origin or "busbench"))
    print_frame(pd.DataFrame(rows, columns=["model", "params (M)", "published (M)", "paper", "origin"]),
                "Models (3-channel input, as the papers count them; a run's default input.channels 1 makes the first "
                "layer smaller; 1 output class)", index=False)


def configs() -> None:
    """List the shipped experiment configs (usable by name in `busbench run`)."""
    shipped = shipped_configs()
    width = max(map(len, shipped), default=0)
    for name, path in shipped.items():
        console.print(f"{name:{width}s}  {path}", highlight=False)


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
    kwargs: Annotated[str, typer.Option(help="Model arguments, as a config's model.kwargs (YAML or JSON), e.g. "
                                             "'{base_channels: 8}': the variant a run trained.")] = "",
    run: Annotated[Optional[Path], typer.Option(help="A run folder, one cell, or an experiment config: profile "
                                                     "each cell as its inference runs it (fold model and ensemble "
                                                     "rows, with the run's TTA views, input and train.amp on "
                                                     "--device) into cost_profile.csv, which the report's cost "
                                                     "table reads.")] = None,
) -> None:
    """Parameters, MACs, GFLOPs, images/s and peak memory of models at one input size.

    Each throughput figure stops after --iterations runs or --seconds, whichever comes first, so a model
    takes about 2 x --seconds plus one batch for memory and one image for FLOPs: a 256 px U-Net takes
    under a minute on 2 CPU cores. A line is printed per measurement as it is taken.
    """
    from busbench.deploy.engines import with_onnxruntime_speed
    from busbench.layout.atomic import write_csv, write_text
    from busbench.markdown import markdown_table
    from busbench.models import available_models
    from busbench.models.profile import ProfileInput, Timing, profile_models
    from busbench.train.device import choose_precision, log_precision, resolve_device

    torch_device = resolve_device(device, "--device")

    def report(line: str) -> None:
        console.print(line, markup=False, highlight=False)

    timing = Timing(iterations=iterations, seconds=seconds)
    if run is not None:
        given = bool(model or kwargs) or engine != "pytorch" or amp != "auto" or (size, batch, channels) != (256, 8, 3)
        _profile_run(run, torch_device, timing, report, out, given)
        return
    names = model or sorted(available_models())
    precision = choose_precision(amp, torch_device, "--amp")
    log_precision(precision)
    shape = ProfileInput(size, batch, channels, model_kwargs(kwargs, model))
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


def model_kwargs(text: str, models: list[str]) -> dict[str, object]:
    """``--kwargs``: a mapping of model arguments, as YAML (JSON is YAML too), for one ``--model``."""
    if text and len(models) != 1:
        raise BusbenchError(f"--kwargs {text!r} needs one --model (they are that model's arguments); "
                            f"given {len(models)}")
    try:
        parsed = yaml.safe_load(text) if text else {}
    except yaml.YAMLError as exc:
        raise BusbenchError(f"--kwargs {text!r}: not YAML ({str(exc).splitlines()[0]}); "
                            "give a mapping such as '{base_channels: 8}'") from exc
    if not isinstance(parsed, dict):
        raise BusbenchError(f"--kwargs {text!r}: not a mapping of model arguments; give one such as "
                            "'{base_channels: 8}'")
    return parsed


def _profile_run(path: Path, device: torch.device, timing: Timing, report: Report, out: Path | None,
                 given: bool) -> None:
    """``--run``: each trained cell's rows as its inference runs them, into ``out/cost_profile.csv``."""
    from busbench.evaluate.run_cost import COST_PROFILE_CSV, profile_run
    from busbench.layout.atomic import write_csv

    if given:
        raise BusbenchError("--run profiles each cell as its config built it: leave out --model, --kwargs, "
                            "--engine, --amp, --size, --batch and --channels (its config gives the input, batch and "
                            "train.amp)")
    table = profile_run(path, device, timing, report)
    print_frame(table.drop(columns=["model_kwargs", "cell"]).round(3), f"Rows of {path} as run", index=False)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_csv(table, out / COST_PROFILE_CSV, float_format="%.6g")
        console.print(f"written: {out / COST_PROFILE_CSV}")
