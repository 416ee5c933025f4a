"""Results that travel: `bundle` writes a run folder's results as one small file, `leaderboard`
merges bundles made on different machines into one ranked table and page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from busbench.console import console
from busbench.log import counted, logger


def bundle(
    run: Annotated[Path, typer.Argument(help="A run folder (<output_dir>/<name>) or one of its cells.")],
    out: Annotated[Path, typer.Option(help="The bundle file to write (.json).")],
    registry: Annotated[Optional[str], typer.Option(
        help="A run split before registries: match its test cases to this registry (a shipped name or a file) by "
             "content and key them by its case ids; refused unless its test set is the registry's.")] = None,
) -> None:
    """One self-describing file of a run's per-image results, configs and environment: no images."""
    logger.info(f"bundle: reading {run}, each cell checked against its split and data, its cost measured")
    from busbench.report.bundle.make import make_bundle, write_bundle

    made = make_bundle(run, registry)
    write_bundle(made, out)
    cells = ", ".join(f"{c.title} on {c.dataset_title} ({c.test_set.identity()})" for c in made.cells)
    console.print(f"bundle: {out} ({counted(len(made.cells), 'cell')}: {cells}; run identity {made.identity[:12]})",
                  markup=False, highlight=False)


def leaderboard(
    bundles: Annotated[list[Path], typer.Argument(help="Bundle files written by `busbench bundle`.")],
    out: Annotated[Path, typer.Option(help="Folder for leaderboard.csv/.md/.tex, leaderboard.html and the rest.")],
) -> None:
    """One table and page of bundles from several machines, with CIs and paired tests on one test set."""
    logger.info(f"leaderboard: merging {counted(len(bundles), 'bundle')}, with bootstrap CIs and paired tests")
    from busbench.report.bundle.files import write_leaderboard
    from busbench.report.bundle.leaderboard import build_leaderboard

    page = write_leaderboard(build_leaderboard(bundles), out)
    console.print(f"leaderboard: {page} (tables beside it)", markup=False, highlight=False)
