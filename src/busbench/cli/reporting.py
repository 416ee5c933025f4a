"""Reading finished work: `report` on trained runs, `audit` on a prepared dataset, and `delta`, the
fairness delta between an image-level and a grouped split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from busbench.cli.options import ConfigArgument, SetOption, config_path
from busbench.cli.running import job_lines
from busbench.console import console, err_console, print_frame
from busbench.errors import BusbenchError
from busbench.log import progress_to_stderr
from busbench.report.figures.style import STYLES


def report(
    results: Annotated[Path, typer.Argument(help="A results folder: the output_dir of `busbench run`.")],
    out: Annotated[Path, typer.Option(help="Folder for tables/, statistics/, plots/ and report.html.")],
    qualitative: Annotated[bool, typer.Option(help="Predict the best/median/worst images for the grid.")] = True,
    style: Annotated[str, typer.Option(
        help="Figures for the screen (each as wide as it needs) or a paper (3.5 in column, 8 pt text, no title; "
             "PDFs with Type 42 fonts).", metavar="screen|paper")] = "screen",
) -> None:
    """Tables, confidence intervals, paired tests, plots and an HTML page from finished runs."""
    if style not in STYLES:
        raise BusbenchError(f"--style {style}: no such figure style; use one of: {', '.join(STYLES)}")
    from busbench.report.build import build_report  # matplotlib: loaded only for this command
    from busbench.report.tables.publication import display_table
    from busbench.report.tables.publication import notes as table_notes

    built = build_report(results, out, qualitative, style)
    for dataset, table in built.tables.items():
        print_frame(display_table(table, ("", "")), f"{built.titles.get(dataset, dataset)}: held-out test set",
                    index=False)
        console.print(table_notes(table), markup=False, highlight=False)
    for reason in built.skipped:
        err_console.print(f"skipped: {reason}", markup=False, highlight=False)
    console.print(f"report: {out / 'report.html'} (tables, statistics and plots beside it)")


def audit(
    data_dir: Annotated[Path, typer.Argument(help="A folder written by `busbench prepare` (manifest.csv).")],
    out: Annotated[
        Optional[Path], typer.Option(help="Folder for audit.html and the CSVs (default: DATA_DIR/audit).")
    ] = None,
) -> None:
    """Data-quality report: duplicates, label conflicts, overlays, mask quality, split balance."""
    from busbench.audit.build import run_audit  # scipy.ndimage and the drawing: loaded only for this command

    done = run_audit(data_dir, out)
    print_frame(done.summary[["finding", "count"]], "Audit", index=False)
    console.print(f"audit: {done.out / 'audit.html'} (CSVs beside it)")


def delta(
    config: ConfigArgument,
    set_: SetOption = [],  # noqa: B006
    jobs: Annotated[bool, typer.Option("--jobs", help="Print the runs of both protocols as job lines instead.")
                    ] = False,
) -> None:
    """The fairness delta: the same models under the image-level split of published benchmarks and
    under busbench's grouped split, with how many test images have a copy or same-patient image in
    training and the Dice on those images versus the rest.

    Runs both (finished folds are reused), then writes delta.csv and delta.md to OUTPUT_DIR/<name>-delta.
    With --jobs it prints the fold jobs of both instead (for GNU parallel or a cluster); run
    `busbench delta CONFIG` again when they are done.
    """
    from busbench.config import load_config
    from busbench.pipeline import run_experiment
    from busbench.report.tables.fairness_delta import fairness_delta, protocol_configs, write_delta

    cfg = load_config(config_path(config), set_)
    configs = protocol_configs(cfg)
    if jobs:
        progress_to_stderr()
        for variant in configs.values():
            for line in job_lines(config, [*set_, f"split.protocol={variant.split.protocol}", f"name={variant.name}"]):
                print(line)
        return
    for variant in configs.values():
        run_experiment(variant)
    table = fairness_delta(configs)
    out = cfg.output_dir / f"{cfg.name}-delta"
    write_delta(table, out)
    print_frame(table, "Fairness delta: image-level (leaky) vs grouped split", index=False)
    console.print(f"written: {out / 'delta.csv'}, {out / 'delta.md'}")
