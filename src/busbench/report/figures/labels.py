"""Point labels that neither overlap each other, nor the markers, nor leave their axes (where they would
cross an axis line or its tick labels): each label tries positions around its point, nearest first, and
keeps the first free one; where none is free, the least covered, joined to its point by a thin line."""

from __future__ import annotations

import itertools

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

MARKER_HALF = 4.0  # points: half the side of the box kept free around each marker
DISTANCES = (5.0, 10.0, 16.0, 26.0)  # points from the point to the label's nearest corner
DIRECTIONS = ((1, -1), (1, 1), (-1, -1), (-1, 1), (1, 0), (-1, 0), (0, -1), (0, 1))  # right-below first


def covered(box: Bbox, others: list[Bbox], frame: Bbox) -> float:
    """Area of ``box`` over ``others`` plus its area outside ``frame`` (pixels squared)."""
    overlap = sum(max(0.0, min(box.x1, o.x1) - max(box.x0, o.x0)) * max(0.0, min(box.y1, o.y1) - max(box.y0, o.y0))
                  for o in others)
    inside = (max(0.0, min(box.x1, frame.x1) - max(box.x0, frame.x0))
              * max(0.0, min(box.y1, frame.y1) - max(box.y0, frame.y0)))
    return float(overlap + box.width * box.height - inside)


def _renderer(axis: Axes) -> RendererBase:
    figure = axis.get_figure(root=True)
    assert figure is not None
    renderer: RendererBase = figure.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg's canvas has one
    return renderer


def step_boxes(axis: Axes, x: np.ndarray, y: np.ndarray) -> list[Bbox]:
    """The pixel boxes of a step line drawn ``where="post"`` through data points ``x``, ``y`` (sorted by x):
    one per horizontal and vertical segment, a little thicker than the line."""
    corners = [(x[i + j], y[i]) for i in range(len(x) - 1) for j in (0, 1)] + [(x[-1], y[-1])] if len(x) else []
    pixels = axis.transData.transform(np.asarray(corners, dtype=float).reshape(-1, 2))
    return [Bbox.from_extents(min(a[0], b[0]) - 1.5, min(a[1], b[1]) - 1.5, max(a[0], b[0]) + 1.5,
                              max(a[1], b[1]) + 1.5) for a, b in zip(pixels[:-1], pixels[1:])]


def place_labels(axis: Axes, names: list[str], points: np.ndarray, markers: np.ndarray, fontsize: float,
                 lines: list[Bbox] | None = None) -> list[Annotation]:
    """Label point i (data x, y: row i of ``points``) with ``names[i]``, keeping clear of every marker (``markers``:
    data x, y rows), of ``lines`` (pixel boxes of line segments) and of the labels placed before. Call after
    the figure's layout and limits are final."""
    renderer = _renderer(axis)
    frame = axis.get_window_extent(renderer)
    half = MARKER_HALF * axis.get_figure(root=True).dpi / 72  # type: ignore[union-attr]  # drawn: has a figure
    taken = [Bbox.from_extents(px - half, py - half, px + half, py + half)
             for px, py in axis.transData.transform(np.asarray(markers, dtype=float).reshape(-1, 2))]
    taken += lines or []
    placed: list[Annotation] = []
    for name, (px, py) in zip(names, np.asarray(points, dtype=float).reshape(-1, 2)):
        best: tuple[float, Annotation] | None = None
        for distance, (dx, dy) in itertools.product(DISTANCES, DIRECTIONS):
            label = axis.annotate(name, (px, py), xytext=(dx * distance, dy * distance), textcoords="offset points",
                                  fontsize=fontsize, ha={1: "left", -1: "right", 0: "center"}[dx],
                                  va={1: "bottom", -1: "top", 0: "center"}[dy], annotation_clip=False)
            cost = covered(label.get_window_extent(renderer), taken, frame)
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, label)
                if cost == 0:
                    break
            else:
                label.remove()
        assert best is not None
        _, label = best
        if np.hypot(*label.xyann) > DISTANCES[1]:  # far from its point: a line says whose it is
            axis.annotate("", (px, py), xytext=label.xyann, textcoords="offset points",
                          arrowprops={"arrowstyle": "-", "color": "grey", "linewidth": 0.5, "shrinkA": 0,
                                      "shrinkB": 2})
        taken.append(label.get_window_extent(renderer))
        placed.append(label)
    return placed
