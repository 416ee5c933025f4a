"""Running benchmarks: `run` in this process, `jobs` as one command line per (cell, fold) for a
cluster, and `demo` on the embedded synthetic dataset."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from busbench import interrupt
from busbench.cli.options import ConfigArgument, SetOption, config_path, shipped_configs
from busbench.console import console, err_console, print_frame
from busbench.errors import BusbenchError
from busbench.log import progress_to_stderr

if TYPE_CHECKING:
    import pandas as pd

    from busbench.config import ExperimentConfig
    from busbench.pipeline.resources import JobResources

# How job lines call busbench: a bare `busbench` is on PATH only inside the activated environment.
BUSBENCH = f"{shlex.quote(sys.executable)} -m busbench"
FOLDS_KEPT = "What is finished is kept (folds, scores, the ensemble); a fold in training restarts from its last epoch."
SLURM_MEMORY = re.compile(r"[1-9][0-9]*[KMGT]?")  # sbatch --mem: megabytes, or with a unit


def print_summary(summary: pd.DataFrame, cfg: ExperimentConfig) -> None:
    """The held-out test table of a finished run, with the legend of its keys."""
    import pandas as pd

    from busbench.evaluate.aggregate import formatted
    from busbench.pipeline import key_legend

    if summary.empty:
        console.print("Not every fold is finished yet: the summary is written when the last one is.")
        return
    rows = [{"dataset": r["dataset"], "model": r["model"], **formatted(r)} for _, r in summary.iterrows()]
    print_frame(pd.DataFrame(rows), f"Held-out test set, mean ± std over fold models ({cfg.output_dir / cfg.name})",
                index=False)
    for line in key_legend(cfg):
        console.print(f"  {line}", markup=False, highlight=False)
    console.print("Conventions and per-image metrics: summary.md and per_image_metrics.csv in each run folder.")


def job_plan(config: str, set_: list[str]) -> tuple[list[str], JobResources]:
    """One `busbench run` line per (cell, fold) of the config with these overrides, and what each needs."""
    from busbench.config import load_config
    from busbench.pipeline import plan_jobs

    cfg = load_config(config_path(config), set_)
    overrides = " ".join(f"--set {shlex.quote(item)}" for item in set_)
    jobs, needs = plan_jobs(cfg)
    return [" ".join(f"{BUSBENCH} run {shlex.quote(config)} {overrides} --cell {shlex.quote(cell_name)} "
                     f"--fold {fold}".split()) for cell_name, fold in jobs], needs


def job_lines(config: str, set_: list[str]) -> list[str]:
    return job_plan(config, set_)[0]


def slurm_recipe(jobs: int, needs: JobResources, cpus: int | None = None, memory: str | None = None) -> list[str]:
    """The `sbatch --array` line for ``jobs`` lines saved as jobs.txt, each task asking for its cores and
    memory (without --mem, a cluster that counts memory gives each task the whole node: they run one by one)."""
    cpus_text = f"{cpus} (--cpus-per-task)" if cpus else needs.cpus_estimate
    memory_text = f"{memory} (--mem)" if memory else needs.memory_estimate
    return [f"{jobs} job line(s). Saved as jobs.txt, a SLURM array runs them, one fold per task:",
            f"  sbatch --array=1-{jobs} --cpus-per-task={cpus or needs.cpus} --mem={memory or f'{needs.memory_gib}G'} "
            """--output=slurm-%A_%a.out --wrap 'sed -n "${SLURM_ARRAY_TASK_ID}p" jobs.txt | bash'""",
            f"cores: {cpus_text}; memory: {memory_text}. Change them with busbench jobs --cpus-per-task N --mem 16G; "
            "on GPU nodes add your site's GPU request (e.g. --gpus=1)."]


def run(
    config: ConfigArgument,
    set_: SetOption = [],  # noqa: B006
    fold: Annotated[list[int], typer.Option("--fold", help="Run only this fold (repeatable); for cluster jobs.")] = [],  # noqa: B006
    cell: Annotated[list[str], typer.Option("--cell", help="Run only this DATASET/MODEL cell (repeatable).")] = [],  # noqa: B006
) -> None:
    """Run a benchmark: prepare, split, cache, train every fold, score on the test set, aggregate."""
    from busbench.config import load_config
    from busbench.config.checks import run_warnings
    from busbench.pipeline import run_experiment

    cfg = load_config(config_path(config), set_)
    for line in run_warnings(cfg):
        err_console.print(line, markup=False, highlight=False)
    interrupt.on_stop(FOLDS_KEPT)
    print_summary(run_experiment(cfg, fold or None, cell or None), cfg)


def jobs(
    config: ConfigArgument,
    set_: SetOption = [],  # noqa: B006
    cpus_per_task: Annotated[Optional[int], typer.Option(
        min=1, help="Cores per job in the SLURM line (default: train.threads + loader workers).")] = None,
    mem: Annotated[Optional[str], typer.Option(
        help="Memory per job in the SLURM line, e.g. 16G (default: estimated from the data and settings).")] = None,
) -> None:
    """Prepare the data once, then print one `busbench run` command per (cell, fold) for a cluster.

    Each line starts with this Python's absolute path and `-m busbench`, so it runs without the virtual
    environment on PATH.

    Feed the lines to any scheduler: a SLURM array (the `sbatch` line printed on standard error, which
    asks for each job's cores and memory), GNU parallel (`parallel < jobs.txt`) or a Snakemake rule.
    Finished folds are skipped on reruns, and the job that finishes a cell's last fold writes its tables.
    """
    if mem is not None and not SLURM_MEMORY.fullmatch(mem):
        raise BusbenchError(f"--mem {mem}: not a SLURM memory size; write a whole number with an optional unit "
                            "K, M, G or T, e.g. --mem 16G")
    if mem is not None and mem.isdigit() and int(mem) < 1024:  # no unit: SLURM reads megabytes
        raise BusbenchError(f"--mem {mem}: SLURM reads a number without a unit as megabytes ({mem} MB), too little for "
                            f"a fold; write the unit, e.g. --mem {mem}G")
    progress_to_stderr()
    lines, needs = job_plan(config, set_)
    for line in lines:
        print(line)
    for line in slurm_recipe(len(lines), needs, cpus_per_task, mem):
        err_console.print(line, markup=False, highlight=False)


def demo(
    out: Annotated[Path, typer.Option(help="Folder for everything the demo writes.")] = Path("busbench-demo"),
    set_: Annotated[list[str], typer.Option("--set", help="Override a demo setting.")] = [],  # noqa: B006
) -> None:
    """The main job on the embedded synthetic dataset: a small 3-fold U-Net benchmark."""
    from busbench.config import load_config
    from busbench.pipeline import run_experiment

    cfg = load_config(shipped_configs()["demo"], [*set_, f"output_dir={out}"])
    interrupt.on_stop(FOLDS_KEPT)
    print_summary(run_experiment(cfg), cfg)
