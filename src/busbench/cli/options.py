"""Options and arguments more than one command takes, typed once: a wrong choice is refused by the
command line with the allowed values, before any work.

Also what the config argument accepts: a YAML file, or the name of a config shipped with busbench.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from busbench.errors import BusbenchError

SHIPPED_CONFIGS = Path(__file__).parent.parent / "configs"

MissingCases = Literal["error", "empty"]  # ScoreOptions.missing
Engine = Literal["pytorch", "onnxruntime"]  # busbench.deploy.onnx_runtime.ENGINES

ConfigArgument = Annotated[str, typer.Argument(help="Experiment YAML file, or the name of a shipped config.")]
SetOption = Annotated[list[str], typer.Option("--set", help="Override a setting, e.g. train.epochs=5.")]
DataDirArgument = Annotated[
    Path, typer.Argument(help="The prepared dataset folder: manifest.csv and split-*.json.")
]
SplitFileOption = Annotated[Optional[Path], typer.Option(help="Split file, when DATA_DIR holds several.")]
DeviceOption = Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")]


def shipped_configs() -> dict[str, Path]:
    """The configs shipped with busbench, by name."""
    return {p.stem: p for p in sorted(SHIPPED_CONFIGS.glob("*.yaml"))}


def config_path(name_or_path: str) -> Path:
    """The YAML file of a config argument: a file, else a shipped config's name."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_configs()
    if name_or_path in shipped:
        return shipped[name_or_path]
    raise BusbenchError(f"config {name_or_path!r}: no such file, nor a shipped config ({', '.join(shipped)})")
