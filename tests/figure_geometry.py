"""Where drawn things land, for the tests that nothing in a figure overlaps: window boxes of texts,
markers and lines (in display pixels), and the figures a plotting call made (kept open)."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import Bbox


def kept_figures(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """The figures closed from now on (``save`` closes each): kept in the list instead."""
    figures: list[Figure] = []
    monkeypatch.setattr(plt, "close", figures.append)
    return figures


def overlap(a: Bbox, b: Bbox) -> float:
    """Shared area of two boxes (0 where they only touch)."""
    return max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))


def text_boxes(figure: Figure, texts: list[Text]) -> list[Bbox]:
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    return [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]


def line_box(figure: Figure, line: Line2D) -> Bbox:
    """A line's box widened by its width, so that a horizontal line has height."""
    half = line.get_linewidth() * figure.dpi / 72 / 2
    box = line.get_window_extent(figure.canvas.get_renderer())  # type: ignore[attr-defined]
    return Bbox.from_extents(box.x0 - half, box.y0 - half, box.x1 + half, box.y1 + half)


def segment_boxes(figure: Figure, line: Line2D) -> list[Bbox]:
    """One box per straight piece of a drawn line (a step line's steps included), widened by its width."""
    half = line.get_linewidth() * figure.dpi / 72 / 2
    path = line.get_transform().transform_path(line.get_path())
    return [Bbox.from_extents(min(a[0], b[0]) - half, min(a[1], b[1]) - half, max(a[0], b[0]) + half,
                              max(a[1], b[1]) + half) for a, b in zip(path.vertices[:-1], path.vertices[1:])]


def marker_boxes(figure: Figure, centres: np.ndarray, radius_points: float) -> list[Bbox]:
    half = radius_points * figure.dpi / 72
    return [Bbox.from_extents(x - half, y - half, x + half, y + half) for x, y in centres]


def assert_apart(boxes: list[Bbox], what: str) -> None:
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert overlap(a, b) == 0, f"{what}: {i} and {j} overlap ({a} / {b})"


def assert_clear(boxes: list[Bbox], others: list[Bbox], what: str) -> None:
    for (i, a), (j, b) in itertools.product(enumerate(boxes), enumerate(others)):
        assert overlap(a, b) == 0, f"{what}: {i} covers {j} ({a} / {b})"


def assert_inside(boxes: list[Bbox], frame: Bbox, what: str) -> None:
    for i, box in enumerate(boxes):
        assert (box.x0 >= frame.x0 - 0.5 and box.x1 <= frame.x1 + 0.5 and box.y0 >= frame.y0 - 0.5
                and box.y1 <= frame.y1 + 0.5), f"{what}: {i} leaves {frame} ({box})"
