"""Report figures (matplotlib, Agg backend), each saved as PNG (for the page) and PDF (vector, for a paper)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogFormatter, MaxNLocator  # noqa: E402

from busbench.layout.atomic import atomic_path
from busbench.metrics.per_image import dice_score  # noqa: E402
from busbench.report.figures.labels import place_labels, step_boxes  # noqa: E402
from busbench.report.figures.style import FONT_TYPES, current  # noqa: E402
from busbench.report.tables.publication import lesion_column  # noqa: E402

DPI = 150
MARKED_POINTS = 20  # a curve shows at most this many markers (one per epoch where it has no more epochs)
FOLD_MARKERS = "osD^vP<>X"  # hollow, one shape per fold: overlapping folds stay apart
TITLE_CHARS_PER_INCH = 9  # at the default title size, to wrap titles inside narrow figures
FILL_ALPHA = 0.35
FOLD_ROW = "fold models"
# the report table's row types (busbench.report.tables.publication.ROW_NAMES) and their colours
ROW_COLOURS = {FOLD_ROW: "tab:blue", "ensemble": "tab:red", "ens. + PP": "tab:purple"}
LOG_NAMES = {"val_loss": "validation loss", "val_dice": "validation Dice", "val_iou": "validation IoU",
             "val_lesion_dice": "validation Dice,\nlesion images"}  # log.csv columns as axis labels


def wrapped(title: str, width_inches: float, fontsize: float = 12) -> str:
    """``title`` broken into lines that fit a figure ``width_inches`` wide at ``fontsize`` points."""
    per_inch = TITLE_CHARS_PER_INCH * 12 / fontsize
    return "\n".join(textwrap.wrap(title, max(8, int(width_inches * per_inch)), break_on_hyphens=False)) or title


def set_title(target: Axes | Figure, title: str, width: float) -> None:
    """The figure's title on screen; none on paper, where the caption says what it shows."""
    style = current()
    if style.paper:
        return
    text = wrapped(title, width - 0.6, style.text)
    if isinstance(target, Figure):
        target.suptitle(text, fontsize=style.text)
    else:
        target.set_title(text, fontsize=style.text)


def outside_legend(axis: Axes, handles: list[Artist], labels: list[str] | None = None, columns: int = 3) -> None:
    """A legend beside the axes on screen and above them on paper (a column has no room beside): never
    over what the axes show."""
    texts = labels if labels is not None else [str(h.get_label()) for h in handles]
    if current().paper:
        axis.legend(handles, texts, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=columns, frameon=False,
                    columnspacing=1.0, handletextpad=0.4)
    else:
        axis.legend(handles, texts, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def save(figure: Figure, path: Path, layout: bool = True) -> Path:
    """Write ``path``.png and ``path``.pdf (TrueType fonts, no creation date, so that a report built again
    from the same runs has the same bytes); returns the PNG. ``layout``: fit the axes to the figure first
    (off where labels were placed on the final layout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout:
        figure.tight_layout()
    with matplotlib.rc_context(FONT_TYPES):
        for suffix, dpi, metadata in ((".png", DPI, {}), (".pdf", "figure", {"CreationDate": None})):
            with atomic_path(path.with_suffix(suffix)) as tmp:
                figure.savefig(tmp, format=suffix[1:], dpi=dpi, metadata=metadata)
    plt.close(figure)
    return path.with_suffix(".png")


def dice_boxplot(scores: pd.DataFrame, title: str, path: Path) -> Path:
    """Per-image Dice (columns: models; the report passes its lesion images) as box plots, with the mean
    and median named in a legend outside the boxes."""
    style = current()
    width = style.width(max(4.0, 1.6 + 0.9 * scores.shape[1]) + 1.4)  # + the legend beside
    figure, axis = plt.subplots(figsize=(width, 2.9 if style.paper else 3.8))
    axis.boxplot([scores[c].dropna().to_numpy() for c in scores.columns], showmeans=True,
                 medianprops={"color": "tab:orange"}, flierprops={"markersize": 4},
                 meanprops={"marker": "^", "markerfacecolor": "tab:green", "markeredgecolor": "tab:green"})
    axis.set_xticks(range(1, scores.shape[1] + 1), scores.columns, rotation=45 if style.paper else 30, ha="right",
                    rotation_mode="anchor")
    axis.set_ylabel("Dice per lesion test image")
    axis.set_ylim(-0.02, 1.02)
    outside_legend(axis, [Line2D([], [], color="tab:orange", label="median"),
                          Line2D([], [], marker="^", linestyle="", color="tab:green", label="mean"),
                          Line2D([], [], marker="o", linestyle="", markerfacecolor="none", color="black",
                                 label="outlier (> 1.5 IQR)")])
    set_title(axis, title, width)
    return save(figure, path)


def forest_plot(table: pd.DataFrame, title: str, path: Path) -> Path:
    """Mean lesion-image Dice with its 95 % CI, one line per model and row type (``table``: the report table)."""
    style = current()
    several = table["row"].nunique() > 1  # the row type in the label only where the table has more than one
    labels = [f"{m}, {r}" if several else str(m) for m, r in zip(table["model"], table["row"])]
    width = style.width(7.4)
    figure, axis = plt.subplots(figsize=(width, 1.2 + 0.2 * len(table) if style.paper else 1.0 + 0.32 * len(table)))
    y = np.arange(len(table))[::-1]
    for (row_type, colour), marker in zip(ROW_COLOURS.items(), "osD"):
        rows = (table["row"] == row_type).to_numpy()
        if not rows.any():
            continue
        part, dice = table[rows], lesion_column("dice")
        axis.errorbar(part[f"{dice}_mean"], y[rows], xerr=[part[f"{dice}_mean"] - part[f"{dice}_ci_low"],
                                                           part[f"{dice}_ci_high"] - part[f"{dice}_mean"]],
                      fmt=marker, color=colour, capsize=2, markersize=4, label=row_type)
    axis.set_yticks(y, labels)
    axis.set_ylim(-0.7, len(table) - 0.3)
    axis.set_xlabel("Dice on lesion images" + ("\n" if style.paper else " ") + "(mean, 95 % CI)")
    axis.grid(axis="x", alpha=0.3)
    outside_legend(axis, axis.get_legend_handles_labels()[0])
    set_title(axis, title, width)
    return save(figure, path)


class PlainLogFormatter(LogFormatter):
    """Minor log-axis labels as plain numbers (0.3), shown only where a panel spans few decades."""

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return f"{x:g}"


def pareto_front(points: pd.DataFrame) -> pd.DataFrame:
    """The rows no other row beats on both cost (lower) and Dice (higher), by cost."""
    ordered = points.sort_values(["cost", "dice"], ascending=[True, False])
    return ordered[ordered["dice"] > ordered["dice"].cummax().shift(fill_value=-np.inf)]


def _padded_limits(axis: Axes, cost: pd.Series, dice: pd.Series) -> None:
    """Room around the points for their labels: a quarter decade of cost, 8 % of the Dice range."""
    low, high = np.log10(cost.min()), np.log10(cost.max())
    pad = max(0.25, 0.12 * (high - low))
    axis.set_xlim(10 ** (low - pad), 10 ** (high + pad))
    spread = max(float(dice.max() - dice.min()), 0.05)
    axis.set_ylim(dice.min() - 0.12 * spread, dice.max() + 0.12 * spread)


def accuracy_vs_cost(table: pd.DataFrame, title: str, path: Path) -> Path:
    """Mean lesion-image Dice against GFLOPs per image and against parameters (log scales), single models and
    ensembles with their own markers; the Pareto front of each panel drawn as a step line. Each fold-model
    point is labelled where no other label, marker or axis is (``labels.place_labels``)."""
    style = current()
    width = style.width(10.0)
    figure, axes = plt.subplots(*((2, 1) if style.paper else (1, 2)), figsize=(width, 5.6 if style.paper else 4.2))
    labelled = []
    for axis, column, label in ((axes[0], "gflops", "GFLOPs per image (what the row runs)"),
                                (axes[1], "params_m", "parameters (M, networks held)")):
        points = table.assign(cost=table[column], dice=table[f"{lesion_column('dice')}_mean"])
        points = points.dropna(subset=["cost", "dice"])
        for (row_type, colour), marker in zip(ROW_COLOURS.items(), "osD"):
            part = points[points["row"] == row_type]
            if part.empty:  # no legend entry for a row type the table lacks
                continue
            axis.scatter(part["cost"], part["dice"], color=colour, marker=marker, label=row_type, zorder=3,
                         s=16 if style.paper else 24)
        for _, group in points.groupby("model", sort=False):  # each ensemble joined to its fold models
            axis.plot(group["cost"], group["dice"], color="lightgrey", linewidth=0.8, zorder=1)
        front = pareto_front(points)
        axis.step(front["cost"], front["dice"], where="post", color="grey", linestyle="--", linewidth=1,
                  label="Pareto front", zorder=2)
        axis.set(xscale="log", xlabel=label, ylabel="Dice, lesion images" if style.paper else "")
        if not points.empty:
            _padded_limits(axis, points["cost"], points["dice"])
        axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # 0.5, not 5 x 10^-1
        minor = (0.8, 0.3) if style.paper else (2, 0.5)  # decades spanned below which minor ticks get labels
        axis.xaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False, minor_thresholds=minor))
        axis.grid(alpha=0.3)
        labelled.append((points, front))
    if not style.paper:
        axes[0].set_ylabel("Dice on lesion images (mean)")
    outside_legend(axes[0] if style.paper else axes[1], axes[0].get_legend_handles_labels()[0], columns=2)
    set_title(figure, title, width)
    figure.tight_layout()  # the final layout: the labels are placed on it
    for axis, (points, front) in zip(axes, labelled):
        folds = points[points["row"] == FOLD_ROW]
        place_labels(axis, [str(m) for m in folds["model"]], folds[["cost", "dice"]].to_numpy(),
                     points[["cost", "dice"]].to_numpy(), style.small,
                     step_boxes(axis, front["cost"].to_numpy(), front["dice"].to_numpy()))
    return save(figure, path, layout=False)


def training_curves(logs: dict[int, pd.DataFrame], selected: str, title: str, path: Path,
                    names: dict[int, str] | None = None) -> Path:
    """Training loss and the selection metric per epoch, one line and marker shape per fold (a marker per
    epoch, or per few epochs on long runs: the legend says which); a star marks the epoch whose weights
    became best.pt (the best value of ``selected``, a log.csv column). ``names``: a fold model's legend
    entry where "fold <k>" would not say it ("seed 1, fold 2" of merged seeds)."""
    style = current()
    width = style.width(9.0)
    figure, (loss_axis, metric_axis) = plt.subplots(*((2, 1) if style.paper else (1, 2)),
                                                    figsize=(width, 4.6 if style.paper else 3.4))
    shown = selected if any(selected in log for log in logs.values()) else "val_dice"  # logs older than the metric
    epochs = max(len(log) for log in logs.values())
    every = max(1, -(-epochs // MARKED_POINTS))
    handles: list[Artist] = []
    for i, (fold, log) in enumerate(sorted(logs.items())):
        look = {"marker": FOLD_MARKERS[i % len(FOLD_MARKERS)], "markersize": 3.5, "fillstyle": "none",
                "markevery": every, "linewidth": 1}
        line = loss_axis.plot(log["epoch"], log["train_loss"], label=(names or {}).get(fold, f"fold {fold}"),
                              **look)[0]
        handles.append(line)
        if shown not in log:
            continue
        metric_axis.plot(log["epoch"], log[shown], color=line.get_color(), **look)
        values = log[shown].dropna()
        if not values.empty and shown == selected:
            best = int(values.to_numpy().argmin() if selected == "val_loss" else values.to_numpy().argmax())
            metric_axis.plot(log["epoch"].loc[values.index[best]], values.iloc[best], marker="*", markersize=11,
                             color=line.get_color(), markeredgecolor="black", linestyle="", zorder=4)
    name = LOG_NAMES.get(shown, shown.replace("_", " "))
    loss_axis.set(xlabel="epoch", ylabel="training loss")
    for axis in (loss_axis, metric_axis):  # whole epochs: no tick at 1.2
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    metric_axis.set(xlabel="epoch", ylabel=name if shown == selected else
                    f"{name}\n({LOG_NAMES.get(selected, selected)} chose best.pt; not logged)")
    if shown != "val_loss":
        metric_axis.set_ylim(0, 1.02)
    handles.append(Line2D([], [], marker="*", markersize=9, linestyle="", color="grey", markeredgecolor="black",
                          label="epoch kept (best.pt)"))
    outside_legend(loss_axis if style.paper else metric_axis, handles, columns=4)
    legend = (loss_axis if style.paper else metric_axis).get_legend()
    legend.set_title("a marker per epoch" if every == 1 else f"a marker every {every} epochs",
                     prop={"size": style.small})
    set_title(figure, title, width)
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
    """Rows of (title, image, ground truth, {model: prediction}); each prediction panel shows its Dice and
    the ground truth's outline (dashed green) over the prediction (red), so misses and extra area show.
    On screen a case per row; on paper a case per column (a column has room for three panels across, not
    eight), the image with the ground truth's outline standing in for the ground-truth panel."""
    style = current()
    models = list(rows[0][3])
    names = (["image, ground truth"] if style.paper else ["image", "ground truth"]) + models
    if style.paper:
        width = style.width(0.0)
        panel = (width - 0.7) / len(rows)
        figure, grid = plt.subplots(len(names), len(rows), figsize=(width, (panel + 0.22) * len(names) + 0.35),
                                    squeeze=False)
        axes = grid.T  # axes[case, panel] in both styles
    else:
        width = 2.2 * len(names)
        panel = width / len(names)
        figure, axes = plt.subplots(len(rows), len(names), figsize=(width, (panel + 0.35) * len(rows) + 0.3),
                                    squeeze=False)
    chars = max(6, int(panel * 72 / (0.55 * style.small)))  # a title wrapped to its panel's width
    for r, (title, image, truth, predictions) in enumerate(rows):
        masks = ([None] if style.paper else [None, truth]) + list(predictions.values())
        for c, (name, mask) in enumerate(zip(names, masks)):
            axis = axes[r, c]
            axis.imshow(image, cmap="gray", vmin=0, vmax=255)  # as stored, not stretched
            prediction = c >= len(names) - len(models)
            if mask is not None:
                draw_mask(axis, mask, "red" if prediction else "lime")
            if (prediction or (style.paper and c == 0)) and truth.any():  # where the lesion is
                axis.contour(truth.astype(float), levels=[0.5], colors="lime", linewidths=0.8, linestyles="--")
            axis.set_xticks([])
            axis.set_yticks([])
            if prediction and mask is not None:
                score = f"{dice_score(mask, truth):.3f}"
                axis.set_xlabel(score if style.paper else f"Dice {score}", fontsize=style.small, labelpad=2)
            edge, across = (name, title) if not style.paper else (title, name)  # panel names along one edge
            if r == 0 and not style.paper or c == 0 and style.paper:
                axis.set_title("\n".join(textwrap.wrap(edge, chars)), fontsize=style.small)
            if c == 0 and not style.paper or r == 0 and style.paper:
                axis.set_ylabel("\n".join(textwrap.wrap(across, 12 if style.paper else 28)), fontsize=style.small)
    return save(figure, path)
