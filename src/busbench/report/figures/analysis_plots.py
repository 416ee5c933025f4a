"""Figures of the analyses beyond the main table: Dice by subgroup, the reliability diagram, and the
train-on x test-on heat map."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from busbench.report.figures.plots import outside_legend, save, set_title  # sets the Agg backend first
from busbench.report.figures.style import current
from busbench.report.tables.train_test_matrix import matrix_axes


def subgroup_figure(rows: pd.DataFrame, title: str, path: Path) -> Path:
    """Mean Dice with its 95 % CI per subgroup (one panel per factor), one marker colour per model."""
    factors = list(dict.fromkeys(rows["factor"]))
    models = list(dict.fromkeys(rows["model"]))
    levels = [rows.loc[rows["factor"] == factor, "subgroup"].nunique() for factor in factors]
    style = current()
    width = style.width(max(4.0, sum(1.0 + 1.1 * n for n in levels)) + 1.6)  # + the legend beside
    figure, axes = plt.subplots(1, len(factors), figsize=(width, 3.2 if style.paper else 3.8), squeeze=False,
                                sharey=True,
                                gridspec_kw={"width_ratios": levels})
    offsets = np.linspace(-0.25, 0.25, len(models)) if len(models) > 1 else np.zeros(1)
    colours = plt.get_cmap("tab20" if len(models) > 10 else "tab10").colors  # type: ignore[attr-defined]
    labels: list[list[str]] = []
    for axis, factor in zip(axes[0], factors):
        part = rows[rows["factor"] == factor]
        subgroups = list(dict.fromkeys(part["subgroup"]))
        for offset, model, colour in zip(offsets, models, colours):
            points = part[part["model"] == model].set_index("subgroup").reindex(subgroups)
            x = np.arange(len(subgroups)) + offset
            errors = np.vstack([points["dice_mean"] - points["dice_ci_low"],
                                points["dice_ci_high"] - points["dice_mean"]])
            axis.errorbar(x, points["dice_mean"], yerr=errors, fmt="o", markersize=4, capsize=2, label=model,
                          color=colour)
        sizes = part.groupby("subgroup", observed=True)["images"].max()
        labels.append([f"{str(name).replace(' (', chr(10) + '(')}\nn={int(sizes[name])}" for name in subgroups])
        axis.set_xticks(range(len(subgroups)), labels[-1])
        axis.set_xlim(-0.6, len(subgroups) - 0.4)
        axis.set_title(factor, fontsize=style.small if style.paper else style.text)
        axis.set_ylim(0, 1.02)
    axes[0, 0].set_ylabel("Dice (mean, 95 % CI)")
    handles = axes[0, 0].get_legend_handles_labels()[0]
    if style.paper:  # above the panels, centred on the figure
        figure.legend(handles, models, loc="outside upper center", ncol=min(2 if len(models) > 6 else 3, len(models)),
                      frameon=False)
    else:
        outside_legend(axes[0, -1], handles, models)
    set_title(figure, f"Lesion images by subgroup: {title}", width)
    if style.paper:
        figure.set_layout_engine("constrained")  # places the figure legend outside; tight_layout would not
    else:
        figure.tight_layout()
    fit_tick_labels(figure, list(axes[0]), labels)
    return save(figure, path, layout=False)


TICK_GAP = 4.0  # points between two tick labels, the width of a space or so


def fit_tick_labels(figure: Figure, axes: list[Axes], labels: list[list[str]]) -> None:
    """Wrap the x tick labels of ``axes`` (``labels``: each axis's) to fewer characters a line, words kept
    whole, until no two touch: a subgroup's range ("(5628-21649 px)") is wider than its slot in a
    one-column panel."""
    for characters in (None, 14, 10, 8, 6):
        if characters is not None:
            for axis, texts in zip(axes, labels):
                axis.set_xticks(axis.get_xticks(), [_wrapped(text, characters) for text in texts])
            if figure.get_layout_engine() is None:
                figure.tight_layout()  # room for the taller labels
        figure.canvas.draw()  # a layout engine places the axes as it draws
        boxes = sorted((t.get_window_extent() for axis in axes for t in axis.get_xticklabels() if t.get_text()),
                       key=lambda box: box.x0)
        if all(a.x1 + TICK_GAP * figure.dpi / 72 <= b.x0 for a, b in zip(boxes, boxes[1:])):
            return


def _wrapped(text: str, characters: int) -> str:
    """Each line of ``text`` broken at spaces and after hyphens into lines of at most ``characters`` where the
    words allow ("(1733-5560 px)" -> "(1733-" "5560 px)"); spaces that stay inside a line are kept."""
    lines = []
    for part in text.split("\n"):
        line = ""
        for space, piece in re.findall(r"(\s*)([^\s-]+-?|-)", part):  # each word with the hyphen that ends it
            joiner = " " if space and line else ""
            if line and len(line) + len(joiner) + len(piece) > characters:
                lines.append(line)
                line = piece
            else:
                line += joiner + piece
        lines.append(line)
    return "\n".join(lines)


def reliability_diagram(bins: pd.DataFrame, title: str, path: Path) -> Path:
    """Lesion share against mean probability per bin, one line per model, with the diagonal of
    perfect calibration and each bin's share of the pixels below (log scale: most pixels are ~0)."""
    style = current()
    width = style.width(4.2)
    figure, (curve, counts) = plt.subplots(2, 1, figsize=(width, 4.4 if style.paper else 5.0), height_ratios=[3, 1],
                                           sharex=True)
    curve.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    models = list(dict.fromkeys(bins["model"]))
    colours = plt.get_cmap("tab20" if len(models) > 10 else "tab10").colors  # type: ignore[attr-defined]
    for i, (model, part) in enumerate(bins.groupby("model", sort=False)):
        curve.plot(part["mean_probability"], part["lesion_share"], marker="o", markersize=4, label=str(model),
                   color=colours[i % len(colours)])
        bar = (part["bin_high"] - part["bin_low"]) / len(models)
        counts.bar(part["bin_low"] + bar * i, part["pixels"] / part["pixels"].sum(), width=bar, align="edge",
                   color=colours[i % len(colours)])
    curve.set(ylabel="lesion share of the pixels", xlim=(0, 1), ylim=(0, 1))
    set_title(curve, f"Reliability of the ensemble: {title}", width)
    outside_legend(curve, curve.get_legend_handles_labels()[0], columns=2)
    counts.set(xlabel="predicted lesion probability", ylabel="share of pixels", yscale="log")
    return save(figure, path)


def train_test_heatmap(entries: pd.DataFrame, path: Path) -> Path:
    """The train-on x test-on matrix as a heat map of mean Dice (rows: model and training data, columns:
    test sets), each cell annotated with its mean, 95 % CI, n and images dropped as seen; an empty cell
    was not scored."""
    rows, columns = matrix_axes(entries)
    values = ("dice_mean", "dice_ci_low", "dice_ci_high", "images", "seen_dropped")
    dice, low, high, images, seen = (entries.pivot_table(index=["model", "trained_on"], columns="tested_on",
                                                         values=value).reindex(
        index=pd.MultiIndex.from_tuples(rows), columns=columns).to_numpy(dtype=float) for value in values)
    labels = [f"{model}: {trained}" for model, trained in rows]
    style = current()
    width, height = style.width(2.4 + 1.6 * len(columns)), 1.8 + (0.45 if style.paper else 0.7) * len(rows)
    figure, axis = plt.subplots(figsize=(width, height))
    shown = axis.imshow(dice, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    for (i, j), value in np.ndenumerate(dice):
        if np.isfinite(value):
            dropped = f" ({seen[i, j]:.0f} seen)" if seen[i, j] else ""
            text = (f"{value:.3f}\nn={images[i, j]:.0f}{dropped.replace(' (', chr(10) + '(')}" if style.paper else
                    f"{value:.3f}\n[{low[i, j]:.3f}, {high[i, j]:.3f}]\nn={images[i, j]:.0f}{dropped}")  # paper: no CI
            axis.text(j, i, text, ha="center", va="center", fontsize=style.small,
                      color="white" if value < 0.6 else "black")
    axis.set_xticks(range(len(columns)), columns, rotation=45 if style.paper else 30, ha="right",
                    rotation_mode="anchor")
    axis.set_yticks(range(len(rows)), labels)
    axis.set_xlabel("tested on")
    axis.set_ylabel("trained on")
    if style.paper:  # no room beside the matrix in a column
        figure.colorbar(shown, ax=axis, label="mean Dice", location="top", fraction=0.04, pad=0.02)
    else:
        figure.colorbar(shown, ax=axis, label="mean Dice")
    set_title(axis, "Dice across sources: trained on (rows) x tested on (columns)", width)
    return save(figure, path)
