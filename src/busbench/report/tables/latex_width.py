"""How wide a table of ``latex.to_latex`` sets, estimated before LaTeX runs, so that a one-column table can be
laid out to fit (a label's bracket on its second line, a column left to the wide table) instead of being scaled
down. The estimate is in points of Computer Modern, LaTeX's default and the widest of the usual paper fonts
(Times, IEEE's, sets narrower): each character's width in ``cmr10`` scaled to the size's design font.
"""

from __future__ import annotations

import re

CMR10 = {**dict.fromkeys("0123456789", 5.0), **dict.fromkeys(".,:;[]`'!|", 2.78), **dict.fromkeys("()-", 3.89),
         " ": 3.33, "%": 8.33, "/": 5.0, "–": 5.0, "—": 10.0, "±": 7.78, "×": 7.78, "<": 7.78, ">": 7.78, "=": 7.78,
         "+": 7.78, "†": 3.1, "‡": 3.1, "·": 2.78, "≥": 7.78, "≤": 7.78,
         "a": 5.0, "b": 5.56, "c": 4.44, "d": 5.56, "e": 4.44, "f": 3.06, "g": 5.0, "h": 5.56, "i": 2.78, "j": 3.06,
         "k": 5.28, "l": 2.78, "m": 8.33, "n": 5.56, "o": 5.0, "p": 5.56, "q": 5.28, "r": 3.92, "s": 3.94, "t": 3.89,
         "u": 5.56, "v": 5.28, "w": 7.22, "x": 5.28, "y": 5.28, "z": 4.44, "I": 3.61, "J": 5.14, "M": 9.17, "W": 10.28}
UPPER_CASE, OTHER = 7.4, 5.0  # cmr10's usual capital; any other character
BOLD = 1.15  # cmbx10 against cmr10
# a 10 pt document's \small (cmr9), \footnotesize (cmr8) and \scriptsize (cmr7), against cmr10
SMALL, FOOTNOTE, SCRIPT = 0.925, 0.85, 0.814
COLUMN_GAP = 4.0  # \tabcolsep 2 pt on each side of a column; none outside the first and the last (@{})
BOLD_MARK = re.compile("\x00B(.*?)\x00E")


def text_width(text: str, size: float) -> float:
    """``text`` (a cell's plain text, bold between the marks \\x00B and \\x00E) in points at ``size``."""
    def plain(part: str) -> float:
        return sum(CMR10.get(c, UPPER_CASE if c.isupper() else OTHER) for c in part)

    bold = sum(plain(part) for part in BOLD_MARK.findall(text))
    rest = plain(BOLD_MARK.sub("", text))
    return size * (rest + BOLD * bold)


def header_width(lines: list[str]) -> float:
    """A column title as ``latex._latex_header`` sets it: one line at \\small, more at \\footnotesize."""
    return text_width(lines[0], SMALL) if len(lines) == 1 else max(text_width(line, FOOTNOTE) for line in lines)


def cell_width(value: object) -> float:
    """A body cell as ``latex._latex_cell`` sets it: the mean at \\small and ``± std`` at \\scriptsize."""
    mean, _, std = str(value).partition(" ± ")
    return text_width(mean, SMALL) + (text_width(f" ± {std}", SCRIPT) if std else 0.0)


def tabular_width(titles: dict[str, list[str]], first_lines: list[list[str]], second_lines: list[list[str]],
                  spanning: list[str]) -> float:
    """The tabular's width: each column as wide as its widest title line or cell, and the gaps between them, or a
    row spanning them all where that is wider. ``titles``: each column's title lines, in order; ``first_lines`` and
    ``second_lines``: each row's cells on its first line (\\small) and on its second (\\scriptsize: a CI under its
    mean), in the columns' order; ``spanning``: the rows set across every column (a model's name, \\small)."""
    widths = [header_width(lines) for lines in titles.values()]
    for row in first_lines:
        widths = [max(w, cell_width(cell)) for w, cell in zip(widths, row)]
    for row in second_lines:
        widths = [max(w, text_width(cell, SCRIPT)) for w, cell in zip(widths, row)]
    return max([sum(widths) + COLUMN_GAP * (len(widths) - 1), *(text_width(row, SMALL) for row in spanning)])
