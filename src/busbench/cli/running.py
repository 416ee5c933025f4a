"""Running benchmarks: `run` in this process, `jobs` as one command line per (cell, fold) for a
cluster, and `demo` on the embedded synthetic dataset."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from busbench import interrupt
from busbench.cli.options import ConfigArgument, SetOption, config_path, shipped_configs
from busbench.config import ExperimentConfig, load_config
from busbench.config.checks import run_warnings
from busbench.console import console, err_console, print_frame
from busbench.evaluate.aggregate import formatted
from busbench.log import progress_to_stderr
from busbench.pipeline import key_legend, plan_jobs, run_experiment

# How job lines call busbench: a bare `busbench` is on PATH only inside the activated environment.
BUSBENCH = f"{shlex.quote(sys.executable)} -m busbench"
FOLDS_KEPT = "Finished folds are kept, and a running fold restarts from its last finished epoch."


def print_summary(summary: pd.DataFrame, cfg: ExperimentConfig) -> None:
    """The held-out test table of a finished run, with the legend of its keys."""
    if summary.empty:
        console.print("Not every fold is finished yet: the summary is written when the last one is.")
        return
    rows = [{"dataset": r["dataset"], "model": r["model"], **formatted(r)} for _, r in summary.iterrows()]
    print_frame(pd.DataFrame(rows), f"Held-out test set, mean ± std over fold models ({cfg.output_dir / cfg.name})",
                index=False)
    for line in key_legend(cfg):
        console.print(f"  {line}", markup=False, highlight=False)
    console.print("Conventions and per-image metrics: summary.md and per_image_metrics.csv in each run folder.")


def job_lines(config: str, set_: list[str]) -> list[str]:
    """One `busbench run` line per (cell, fold) of the config with these overrides."""
    cfg = load_config(config_path(config), set_)
    overrides = " ".join(f"--set {shlex.quote(item)}" for item in set_)
    return [" ".join(f"{BUSBENCH} run {shlex.quote(config)} {overrides} --cell {shlex.quote(cell_name)} "
                     f"--fold {fold}".split()) for cell_name, fold in plan_jobs(cfg)]


def run(
    config: ConfigArgument,
    set_: SetOption = [],  # noqa: B006
    fold: Annotated[list[int], typer.Option("--fold", help="Run only this fold (repeatable); for cluster jobs.")] = [],  # noqa: B006
    cell: Annotated[list[str], typer.Option("--cell", help="Run only this DATASET/MODEL cell (repeatable).")] = [],  # noqa: B006
) -> None:
    """Run a benchmark: prepare, split, cache, train every fold, score on the test set, aggregate."""
    cfg = load_config(config_path(config), set_)
    for line in run_warnings(cfg):
        err_console.print(line, markup=False, highlight=False)
    interrupt.on_stop(FOLDS_KEPT)
    print_summary(run_experiment(cfg, fold or None, cell or None), cfg)


def jobs(
    config: ConfigArgument,
    set_: SetOption = [],  # noqa: B006
) -> None:
    """Prepare the data once, then print one `busbench run` command per (cell, fold) for a cluster.

    Each line starts with this Python's absolute path and `-m busbench`, so it runs without the virtual
    environment on PATH.

    Feed the lines to any scheduler: a SLURM array (`sed -n "${SLURM_ARRAY_TASK_ID}p" jobs.txt | bash`),
    GNU parallel (`parallel < jobs.txt`) or a Snakemake rule. Finished folds are skipped on reruns, and
    the job that finishes a cell's last fold writes its tables.
    """
    progress_to_stderr()
    for line in job_lines(config, set_):
        print(line)


def demo(
    out: Annotated[Path, typer.Option(help="Folder for everything the demo writes.")] = Path("busbench-demo"),
    set_: Annotated[list[str], typer.Option("--set", help="Override a demo setting.")] = [],  # noqa: B006
) -> None:
    """The main job on the embedded synthetic dataset: a small 3-fold U-Net benchmark."""
    cfg = load_config(shipped_configs()["demo"], [*set_, f"output_dir={out}"])
    interrupt.on_stop(FOLDS_KEPT)
    print_summary(run_experiment(cfg), cfg)
