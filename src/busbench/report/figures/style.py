"""The two figure styles of ``busbench report --style``: ``screen`` (each figure as wide as its content
needs, for the HTML page) and ``paper`` (every figure one 3.5 in column of a two-column paper, 8 pt text,
no title: the caption says it). Both embed TrueType (Type 42) fonts in the PDFs, never Type 3, which IEEE
PDF eXpress rejects."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

FONT_TYPES: dict[Any, Any] = {"pdf.fonttype": 42, "ps.fonttype": 42}  # TrueType embedded whole: no Type 3


@dataclass(frozen=True)
class FigureStyle:
    name: str
    column: float | None  # every figure this wide (inches); None: each figure its own width
    text: float  # points: axis labels, titles, the CD diagram's names
    small: float  # points: tick labels, legends, point labels

    @property
    def paper(self) -> bool:
        return self.column is not None

    def width(self, screen: float) -> float:
        """A figure's width: the column in the paper style, ``screen`` inches otherwise."""
        return self.column if self.column is not None else screen

    def rc(self) -> dict[Any, Any]:  # matplotlib's rc keys: RcKeyType
        return {**FONT_TYPES, "font.size": self.text, "axes.titlesize": self.text, "axes.labelsize": self.text,
                "figure.titlesize": self.text, "xtick.labelsize": self.small, "ytick.labelsize": self.small,
                "legend.fontsize": self.small}


STYLES = {"screen": FigureStyle("screen", None, 9.0, 7.0), "paper": FigureStyle("paper", 3.5, 8.0, 7.0)}
_active = [STYLES["screen"]]


def current() -> FigureStyle:
    """The style figures are drawn in now (``screen`` outside ``figure_style``)."""
    return _active[-1]


@contextmanager
def figure_style(name: str) -> Iterator[FigureStyle]:
    """Draw every figure inside in style ``name`` (a key of ``STYLES``; the CLI checks it)."""
    import matplotlib  # here: the CLI reads STYLES without loading matplotlib

    style = STYLES[name]
    with matplotlib.rc_context(style.rc()):
        _active.append(style)
        try:
            yield style
        finally:
            _active.pop()
