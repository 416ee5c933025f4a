"""The leaderboard's files: the table as CSV (every number), Markdown and LaTeX, the cost table, the
setup of each entry, the paired tests, and one self-contained HTML page in the report's style."""

from __future__ import annotations

import html
from pathlib import Path

from busbench.layout.atomic import write_text
from busbench.log import counted
from busbench.report.bundle.leaderboard import Leaderboard
from busbench.report.names import readable_header
from busbench.report.number_format import shown_frame
from busbench.report.page.html import STYLE, html_table
from busbench.report.tables.publication import (
    CI_BELOW,
    ROW_NAMES,
    cost_notes,
    cost_numbers,
    cost_table,
    display_table,
    notes,
)
from busbench.report.tables.writing import BOLD, publish, write_table

LEADERBOARD = "leaderboard"
PAGE = f"{LEADERBOARD}.html"
METHOD_NOTE = ("Each entry is one run's cell, bundled where it ran (`busbench bundle`) and scored on the held-out "
               "test set; all entries share that test set, paired by case key. Mean ± sample std over the fold models; "
               "95 % CIs: bootstrap of the per-image score, resampling whole patient/duplicate groups (the groups "
               "of every entry's split merged); the best value of each column in bold. Paired tests per row type: "
               "Wilcoxon signed-rank on per-group mean Dice of the lesion images, Holm-corrected across pairs; † "
               "marks a row whose lesion Dice differs from the best row's (Holm over the rows compared with it).")


def _comparisons_part(board: Leaderboard) -> list[str]:
    if board.comparisons.empty:
        return ["<p class='note'>No paired comparisons: they need two entries or more of one row type.</p>"]
    parts = []
    for variant, matrix in board.p_values.items():
        parts.append(f"<h3>Paired comparisons, {html.escape(ROW_NAMES[variant])} (Holm-adjusted p-values, "
                     "Dice on lesion images only)</h3>")
        shown = shown_frame(matrix, every_cell_a_p=True).rename_axis("Model")
        parts.append(html_table(shown, index=True, readable=False))
    parts.append(html_table(shown_frame(board.comparisons).rename(columns=readable_header), readable=False))
    return parts


def page_html(board: Leaderboard) -> str:
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>busbench leaderboard</title>"
             f"<style>{STYLE}</style></head><body><h1>busbench leaderboard</h1>",
             f"<p>{html.escape(board.title)}: {counted(len(board.entries), 'run cell')} from "
             f"{counted(len({e.source for e in board.entries}), 'bundle')}.</p>",
             f"<p class='note'>{html.escape(METHOD_NOTE)}</p>"]
    parts += [f"<p class='note'><b>Warning:</b> {html.escape(line)}.</p>" for line in board.warnings]
    parts += ["<h2>Accuracy</h2>", html_table(display_table(board.table, ("**", "**")), readable=False),
              f"<p class='note'>{html.escape(notes(board.table))}</p>",
              "<h2>Cost per test image</h2>", html_table(cost_table(board.table, ("**", "**")), readable=False),
              f"<p class='note'>{html.escape(cost_notes(board.table))}</p>", "<h2>Paired comparisons</h2>"]
    parts += _comparisons_part(board)
    setup = board.setup.astype(str).set_index("Model").T.rename_axis("Setting")  # one column per entry
    parts += ["<h2>Setup of each entry</h2>", html_table(setup, index=True, readable=False), "</body></html>"]
    return "\n".join(parts)


def write_leaderboard(board: Leaderboard, out: Path) -> Path:
    """leaderboard.csv/.md/.tex, cost.*, setup.*, comparisons.* and leaderboard.html under ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    warned = " ".join(f"WARNING: {line}." for line in board.warnings)
    publish(display_table(board.table, BOLD), board.table, f"Leaderboard on {board.title}: held-out test set",
            (warned + " " if warned else "") + notes(board.table), out / LEADERBOARD,
            below=CI_BELOW)
    publish(cost_table(board.table, BOLD), cost_numbers(board.table), f"Cost per test image on {board.title}",
            cost_notes(board.table), out / "cost")
    write_table(board.setup, out / "setup")
    if not board.comparisons.empty:
        write_table(board.comparisons, out / "comparisons")
    write_text(page_html(board), out / PAGE)
    return out / PAGE
