"""Report figures (matplotlib, Agg backend), each saved as PNG (for the page) and PDF (vector, for a paper)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogFormatter  # noqa: E402

from busbench.layout.atomic import atomic_path
from busbench.metrics.per_image import dice_score  # noqa: E402
from busbench.report.names import readable_header  # noqa: E402
from busbench.report.tables.publication import lesion_column  # noqa: E402

DPI = 150
MARKED_POINTS = 20  # curves with this many points or fewer show a marker at each: one epoch is a dot
TITLE_CHARS_PER_INCH = 9  # at the default title size, to wrap titles inside narrow figures
FILL_ALPHA = 0.35
FOLD_ROW = "fold models"
# the report table's row types (busbench.report.tables.publication.ROW_NAMES) and their colours
ROW_COLOURS = {FOLD_ROW: "tab:blue", "ensemble": "tab:red", "ens. + PP": "tab:purple"}


def wrapped(title: str, width_inches: float, fontsize: float = 12) -> str:
    """``title`` broken into lines that fit a figure ``width_inches`` wide at ``fontsize`` points."""
    per_inch = TITLE_CHARS_PER_INCH * 12 / fontsize
    return "\n".join(textwrap.wrap(title, max(8, int(width_inches * per_inch)), break_on_hyphens=False)) or title


def save(figure: Figure, path: Path) -> Path:
    """Write ``path``.png and ``path``.pdf; returns the PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    for suffix, dpi in ((".png", DPI), (".pdf", "figure")):
        with atomic_path(path.with_suffix(suffix)) as tmp:
            figure.savefig(tmp, format=suffix[1:], dpi=dpi)
    plt.close(figure)
    return path.with_suffix(".png")


def dice_boxplot(scores: pd.DataFrame, title: str, path: Path) -> Path:
    """Per-image Dice (columns: models; the report passes its lesion images) as box plots, with the mean
    and median named in a legend."""
    width = max(4.0, 1.6 + 0.9 * scores.shape[1])
    figure, axis = plt.subplots(figsize=(width, 3.8))
    axis.boxplot([scores[c].dropna().to_numpy() for c in scores.columns], showmeans=True,
                 medianprops={"color": "tab:orange"}, meanprops={"marker": "^", "markerfacecolor": "tab:green",
                                                                 "markeredgecolor": "tab:green"})
    axis.set_xticks(range(1, scores.shape[1] + 1), scores.columns, rotation=30, ha="right")
    axis.set_ylabel("Dice per lesion test image")
    axis.set_ylim(-0.02, 1.02)
    axis.legend(handles=[Line2D([], [], color="tab:orange", label="median"),
                         Line2D([], [], marker="^", linestyle="", color="tab:green", label="mean"),
                         Line2D([], [], marker="o", linestyle="", markerfacecolor="none", color="black",
                                label="outlier (> 1.5 IQR)")], fontsize=7, loc="lower left")
    axis.set_title(wrapped(title, width - 0.6, 9), fontsize=9)
    return save(figure, path)


def forest_plot(table: pd.DataFrame, title: str, path: Path) -> Path:
    """Mean lesion-image Dice with its 95 % CI, one line per model and row type (``table``: the report table)."""
    labels = [f"{m}, {r}" for m, r in zip(table["model"], table["row"])]
    height = 1.0 + 0.32 * len(table)
    figure, axis = plt.subplots(figsize=(6.0, height))
    y = np.arange(len(table))[::-1]
    for (row_type, colour), marker in zip(ROW_COLOURS.items(), "osD"):
        rows = (table["row"] == row_type).to_numpy()
        if not rows.any():
            continue
        part, dice = table[rows], lesion_column("dice")
        axis.errorbar(part[f"{dice}_mean"], y[rows], xerr=[part[f"{dice}_mean"] - part[f"{dice}_ci_low"],
                                                           part[f"{dice}_ci_high"] - part[f"{dice}_mean"]],
                      fmt=marker, color=colour, capsize=3, label=row_type)
    axis.set_yticks(y, labels, fontsize=8)
    axis.set_xlabel("Dice on lesion images (mean, 95 % CI)")
    axis.grid(axis="x", alpha=0.3)
    axis.legend(fontsize=7, loc="best")
    axis.set_title(wrapped(title, 5.0, 9), fontsize=9)
    return save(figure, path)


class PlainLogFormatter(LogFormatter):
    """Minor log-axis labels as plain numbers (0.3), shown only where a panel spans few decades."""

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return f"{x:g}"


def pareto_front(points: pd.DataFrame) -> pd.DataFrame:
    """The rows no other row beats on both cost (lower) and Dice (higher), by cost."""
    ordered = points.sort_values(["cost", "dice"], ascending=[True, False])
    return ordered[ordered["dice"] > ordered["dice"].cummax().shift(fill_value=-np.inf)]


def accuracy_vs_cost(table: pd.DataFrame, title: str, path: Path) -> Path:
    """Mean lesion-image Dice against GFLOPs per image and against parameters (log scales), single models and
    ensembles with their own markers; the Pareto front of each panel drawn as a step line."""
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
    for axis, column, label in ((axes[0], "gflops", "GFLOPs per image (what the row runs)"),
                                (axes[1], "params_m", "parameters (M, networks held)")):
        points = table.assign(cost=table[column], dice=table[f"{lesion_column('dice')}_mean"])
        points = points.dropna(subset=["cost", "dice"])
        for (row_type, colour), marker in zip(ROW_COLOURS.items(), "osD"):
            part = points[points["row"] == row_type]
            axis.scatter(part["cost"], part["dice"], color=colour, marker=marker, label=row_type, zorder=3)
        for _, group in points.groupby("model", sort=False):  # each ensemble joined to its fold models
            axis.plot(group["cost"], group["dice"], color="lightgrey", linewidth=0.8, zorder=1)
        front = pareto_front(points)
        axis.step(front["cost"], front["dice"], where="post", color="grey", linestyle="--", linewidth=1,
                  label="Pareto front", zorder=2)
        for _, row in points[points["row"] == FOLD_ROW].iterrows():
            axis.annotate(str(row["model"]), (row["cost"], row["dice"]), fontsize=7, xytext=(4, -9),
                          textcoords="offset points")
        axis.set(xscale="log", xlabel=label)
        axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # 0.5, not 5 x 10^-1
        axis.xaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("Dice on lesion images (mean)")
    axes[1].legend(fontsize=7, loc="lower right")
    figure.suptitle(wrapped(title, 8.5, 9), fontsize=9)
    return save(figure, path)


def training_curves(logs: dict[int, pd.DataFrame], selected: str, title: str, path: Path) -> Path:
    """Training loss and the selection metric per epoch, one line per fold; a star marks the epoch
    whose weights became best.pt (the best value of ``selected``, a log.csv column)."""
    figure, (loss_axis, metric_axis) = plt.subplots(1, 2, figsize=(8, 3.4))
    shown = selected if any(selected in log for log in logs.values()) else "val_dice"  # logs older than the metric
    for fold, log in sorted(logs.items()):
        marker = "o" if len(log) <= MARKED_POINTS else None
        line = loss_axis.plot(log["epoch"], log["train_loss"], marker=marker, markersize=3, label=f"fold {fold}")[0]
        if shown not in log:
            continue
        metric_axis.plot(log["epoch"], log[shown], marker=marker, markersize=3, color=line.get_color(),
                         label=f"fold {fold}")
        values = log[shown].dropna()
        if not values.empty and shown == selected:
            best = int(values.to_numpy().argmin() if selected == "val_loss" else values.to_numpy().argmax())
            metric_axis.plot(log["epoch"].loc[values.index[best]], values.iloc[best], marker="*", markersize=12,
                             color=line.get_color(), markeredgecolor="black", linestyle="")
    loss_axis.set(xlabel="epoch", ylabel="training loss")
    name, chosen = (readable_header(c.replace("val_", "validation_", 1)) for c in (shown, selected))
    metric_axis.set(xlabel="epoch", ylabel=f"{name} (selects best.pt)" if shown == selected else
                    f"{name} ({chosen}, which selected best.pt, not logged)")
    if shown != "val_loss":
        metric_axis.set_ylim(0, 1)
    handles, labels = metric_axis.get_legend_handles_labels()
    handles.append(Line2D([], [], marker="*", markersize=10, linestyle="", color="grey", markeredgecolor="black"))
    metric_axis.legend(handles, [*labels, "chosen epoch"], fontsize=7)
    figure.suptitle(wrapped(title, 7.5, 9), fontsize=9)
    return save(figure, path)


def critical_difference_diagram(ranks: pd.Series, cd: float | None, n_datasets: int, path: Path) -> Path:
    """Average ranks on a line (1 = best) with the Nemenyi critical difference drawn above."""
    k = len(ranks)
    figure, axis = plt.subplots(figsize=(7, 1.2 + 0.3 * k))
    axis.set_xlim(k + 0.3, 0.7)
    axis.set_ylim(-k - 0.5, 1.5)
    axis.axhline(0, color="black", linewidth=1)
    for tick in range(1, k + 1):
        axis.plot([tick, tick], [0, 0.1], color="black")
        axis.text(tick, 0.2, str(tick), ha="center", fontsize=8)
    for i, (model, rank) in enumerate(ranks.items()):
        axis.plot([rank, rank], [0, -i - 0.6], color="tab:blue")
        axis.text(rank, -i - 0.8, f"{model} ({rank:.2f})", ha="center", fontsize=8, va="top")
    if cd is not None:
        axis.plot([1, 1 + cd], [1.0, 1.0], color="tab:red", linewidth=2)
        axis.text(1 + cd / 2, 1.15, f"CD = {cd:.2f} ({n_datasets} datasets)", ha="center", fontsize=8)
    axis.axis("off")
    axis.set_title("Average rank by mean Dice on lesion images (Friedman; Nemenyi CD at 0.05)", fontsize=9)
    return save(figure, path)


def draw_mask(axis: Axes, mask: np.ndarray, colour: str) -> None:
    """A translucent fill and a solid outline: large and thin lesions both stay visible."""
    if not mask.any():
        return
    fill = np.zeros(mask.shape + (4,))
    fill[mask] = to_rgba(colour, FILL_ALPHA)
    axis.imshow(fill, interpolation="nearest")
    axis.contour(mask.astype(float), levels=[0.5], colors=colour, linewidths=1)


def qualitative_grid(rows: list[tuple[str, np.ndarray, np.ndarray, dict[str, np.ndarray]]], path: Path) -> Path:
    """Rows of (title, image, ground truth, {model: prediction}); each prediction panel shows its Dice."""
    models = list(rows[0][3])
    figure, axes = plt.subplots(len(rows), 2 + len(models), figsize=(2.2 * (2 + len(models)), 2.4 * len(rows)),
                                squeeze=False)
    for r, (title, image, truth, predictions) in enumerate(rows):
        panels = [("image", None), ("ground truth", truth)] + list(predictions.items())
        for c, (name, mask) in enumerate(panels):
            axis = axes[r, c]
            axis.imshow(image, cmap="gray", vmin=0, vmax=255)  # as stored, not stretched
            if mask is not None:
                draw_mask(axis, mask, "red" if c > 1 else "lime")
            axis.set_xticks([])
            axis.set_yticks([])
            if c > 1 and mask is not None:  # a model's prediction
                axis.set_xlabel(f"Dice {dice_score(mask, truth):.3f}", fontsize=8)
            if r == 0:
                axis.set_title(name, fontsize=8)
        axes[r, 0].set_ylabel(title, fontsize=8)
    return save(figure, path)
