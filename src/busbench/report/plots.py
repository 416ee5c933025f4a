"""Report figures (matplotlib, Agg backend), each saved as PNG and PDF."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from busbench.evaluate.metrics import dice_score  # noqa: E402
from busbench.layout import atomic_path  # noqa: E402

DPI = 150
MARKED_POINTS = 20  # curves with this many points or fewer show a marker at each: one epoch is a dot
TITLE_CHARS_PER_INCH = 9  # at the default title size, to wrap titles inside narrow figures
FILL_ALPHA = 0.35


def wrapped(title: str, width_inches: float) -> str:
    """``title`` broken into lines that fit a figure ``width_inches`` wide."""
    return "\n".join(textwrap.wrap(title, max(8, int(width_inches * TITLE_CHARS_PER_INCH)))) or title


def save(figure: plt.Figure, path: Path) -> Path:
    """Write ``path``.png and ``path``.pdf; returns the PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    for suffix, dpi in ((".png", DPI), (".pdf", "figure")):
        with atomic_path(path.with_suffix(suffix)) as tmp:
            figure.savefig(tmp, format=suffix[1:], dpi=dpi)
    plt.close(figure)
    return path.with_suffix(".png")


def dice_boxplot(scores: pd.DataFrame, title: str, path: Path) -> Path:
    """Per-image Dice (columns: models) as box plots."""
    width = max(3.2, 1.2 + 0.9 * scores.shape[1])
    figure, axis = plt.subplots(figsize=(width, 3.6))
    axis.boxplot([scores[c].to_numpy() for c in scores.columns], showmeans=True)
    axis.set_xticks(range(1, scores.shape[1] + 1), scores.columns, rotation=30, ha="right")
    axis.set_ylabel("Dice per test image")
    axis.set_ylim(-0.02, 1.02)
    axis.set_title(wrapped(title, width - 0.8))
    return save(figure, path)


def training_curves(logs: dict[int, pd.DataFrame], title: str, path: Path) -> Path:
    """Training loss and validation Dice per epoch, one line per fold."""
    figure, (loss_axis, dice_axis) = plt.subplots(1, 2, figsize=(8, 3.2))
    for fold, log in sorted(logs.items()):
        marker = "o" if len(log) <= MARKED_POINTS else None
        loss_axis.plot(log["epoch"], log["train_loss"], marker=marker, markersize=4, label=f"fold {fold}")
        dice_axis.plot(log["epoch"], log["val_dice"], marker=marker, markersize=4, label=f"fold {fold}")
    loss_axis.set(xlabel="epoch", ylabel="training loss", title=wrapped(title, 3.4))
    dice_axis.set(xlabel="epoch", ylabel="validation Dice", ylim=(0, 1))
    dice_axis.legend(fontsize=7)
    return save(figure, path)


def accuracy_vs_cost(table: pd.DataFrame, title: str, path: Path) -> Path:
    """Mean Dice against GFLOPs and against parameters (log scales), one point per model."""
    figure, axes = plt.subplots(1, 2, figsize=(8, 3.4))
    for axis, column, label in ((axes[0], "gflops", "GFLOPs"), (axes[1], "params_m", "parameters (M)")):
        axis.scatter(table[column], table["dice_mean"])
        for _, row in table.iterrows():
            axis.annotate(row["model"], (row[column], row["dice_mean"]), fontsize=7, xytext=(3, 3),
                          textcoords="offset points")
        axis.set(xscale="log", xlabel=label, ylabel="Dice (mean over fold models)", title=title)
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
    axis.set_title("Average rank by mean Dice (Friedman; Nemenyi CD at 0.05)", fontsize=9)
    return save(figure, path)


def draw_mask(axis: plt.Axes, mask: np.ndarray, colour: str) -> None:
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
