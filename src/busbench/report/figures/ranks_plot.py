"""The critical-difference diagram (Demšar 2006): average ranks on an axis, each model's name beyond the
axis's end (the better half left, the worse half right) joined to its rank by an elbow line, so no line
crosses a name; thick bars join the models whose average ranks differ by less than the Nemenyi critical
difference (no significant difference among them)."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from busbench.report.figures.plots import save, wrapped  # sets the Agg backend before any figure is made
from busbench.report.figures.style import current

ROW = 0.2  # inches between two names' lines
LINE = 0.13  # inches more for each further line of a wrapped name
MIN_AXIS = 1.6  # inches the rank axis keeps at least, the names beside it
CLIQUE_ROW = 0.08  # inches between two clique bars
GAP = 0.06  # inches between a line's end and its name
TOP = 0.62  # inches above the axis: tick numbers and the CD bar


def cliques(ranks: pd.Series, cd: float) -> list[tuple[int, int]]:
    """Maximal runs ``(first, last)`` of the models sorted by rank whose ranks differ by less than ``cd``
    (positions in ``ranks.sort_values()``; runs of one model left out)."""
    values = ranks.sort_values().to_numpy()
    runs: list[tuple[int, int]] = []
    for first in range(len(values)):
        last = max(j for j in range(first, len(values)) if values[j] - values[first] < cd)
        if last > first and not (runs and runs[-1][1] >= last):
            runs.append((first, last))
    return runs


def _fitted_names(figure: Figure, ordered: pd.Series, fontsize: float) -> tuple[list[str], float]:
    """Each model's name as printed beside the axis, and the inches kept for the names on each side: with
    its rank where the axis keeps ``MIN_AXIS`` inches, else without, else wrapped onto lines."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg's canvas has one
    room = (figure.get_size_inches()[0] - MIN_AXIS) / 2 - 2 * GAP - 0.15  # inches for the widest name

    def widest(names: list[str]) -> float:
        texts = [figure.text(0, 0, name, fontsize=fontsize) for name in names]
        inches = max(t.get_window_extent(renderer).width for t in texts) / figure.dpi
        for text in texts:
            text.remove()
        return inches

    names = [f"{model} ({rank:.2f})" for model, rank in ordered.items()]
    if widest(names) > room:
        names = [str(model) for model in ordered.index]
        chars = max(len(n) for n in names)
        while chars > 4 and widest(names) > room:
            chars -= 1
            names = ["\n".join(textwrap.wrap(str(model), chars)) for model in ordered.index]
    return names, widest(names) + 2 * GAP + 0.15


def critical_difference_diagram(ranks: pd.Series, cd: float | None, n_datasets: int, path: Path) -> Path:
    """Average ranks (1 = best) with the Nemenyi critical difference drawn above the axis and the cliques
    of models it cannot tell apart as bars below."""
    style = current()
    ordered = ranks.sort_values()
    k = len(ordered)
    groups = cliques(ordered, cd) if cd is not None else []
    left = math.ceil(k / 2)  # the better half's names go left
    title_room = 0.0 if style.paper else 0.45
    width = style.width(7.0)
    figure = plt.figure(figsize=(width, 1.0))  # its height set once the names are fitted
    names, margin = _fitted_names(figure, ordered, style.text)
    lines = [name.count("\n") for name in names]
    below = 0.12 + len(groups) * CLIQUE_ROW + max(left * ROW + LINE * sum(lines[:left]),
                                                  (k - left) * ROW + LINE * sum(lines[left:])) + 0.1
    figure.set_size_inches(width, TOP + title_room + below)
    axis = figure.add_axes((0, 0, 1, 1))
    axis.axis("off")
    per_rank = (width - 2 * margin) / max(k - 1, 1)  # inches per rank unit
    axis.set_xlim(1 - margin / per_rank, k + margin / per_rank)
    axis.set_ylim(-below, TOP + title_room)  # y in inches: 0 is the axis line
    axis.plot([1, k], [0, 0], color="black", linewidth=1)
    step = max(1, math.ceil(0.22 / per_rank))  # tick numbers at least 0.22 in apart
    for tick in range(1, k + 1):
        axis.plot([tick, tick], [0, 0.05], color="black", linewidth=1)
        if (tick - 1) % step == 0:
            axis.text(tick, 0.08, str(tick), ha="center", va="bottom", fontsize=style.small)
    if cd is not None:
        axis.plot([1, 1 + cd], [0.42, 0.42], color="tab:red", linewidth=2, solid_capstyle="butt")
        axis.text(1 + cd / 2 if 1 + cd <= k else 1, 0.46, f"CD = {cd:.2f} ({n_datasets} datasets)",
                  ha="center" if 1 + cd <= k else "left", va="bottom", fontsize=style.small)
    for row, (first, last) in enumerate(groups):
        y = -0.1 - row * CLIQUE_ROW
        axis.plot([ordered.iloc[first] - 0.03, ordered.iloc[last] + 0.03], [y, y], color="black", linewidth=3,
                  solid_capstyle="butt")
    top_name = -0.12 - len(groups) * CLIQUE_ROW - ROW / 2
    gap = GAP / per_rank
    heights = [ROW + LINE * name.count("\n") for name in names]
    for i, (name, rank) in enumerate(zip(names, ordered)):
        on_left = i < left
        # the outermost ranks nearest the axis: no line crosses another
        above = heights[:i] if on_left else heights[i + 1:]
        y = top_name - sum(above) - (heights[i] - ROW) / 2
        end = 1 - 2 * gap if on_left else k + 2 * gap
        axis.plot([rank, rank], [0, y], color="tab:blue", linewidth=0.8)  # two segments: tests see each
        axis.plot([rank, end], [y, y], color="tab:blue", linewidth=0.8)
        axis.text(end - gap if on_left else end + gap, y, name, ha="right" if on_left else "left", va="center",
                  fontsize=style.text)
    if not style.paper:
        axis.text((1 + k) / 2, TOP + title_room - 0.05, wrapped(
            "Average rank by mean Dice on lesion images (Friedman; Nemenyi CD at 0.05; bars: no significant "
            "difference)", width - 0.4, style.text), ha="center", va="top", fontsize=style.text)
    return save(figure, path, layout=False)
