"""Publication tables as LaTeX a two-column paper can \\input, in two widths (``LatexWidth``):

* ``<name>.tex``: a ``table`` for one column of a two-column page (3.5 in, IEEE) or a one-column page;
* ``<name>_wide.tex``: a ``table*`` spanning both columns of a two-column page (7 in), with the
  columns the narrow one leaves to the Markdown (NSD, seeds).

The narrow table fits by layout first: \\small type, 2 pt column gaps, titles a word a line, each CI on
a second line under its mean, the model's name on a row of its own. A tabular still wider than the
line is scaled down to it (the last resort; pdflatex's log names it: ``busbench: <label> scaled``).
A table too tall for a page is split into parts ("part 2 of 3"), whole models per part, the notes under
the last, so that no float is taller than a page. Needs ``\\usepackage{booktabs,graphicx}``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pandas as pd

from busbench.report.tables.latex_width import tabular_width

LATEX_CHARACTERS = str.maketrans({
    "\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\^{}", "±": "$\\pm$", "–": "--", "—": "---", "≥": "$\\geq$", "⚠": "(!)",
    "†": "$^\\dagger$", "‡": "$^\\ddagger$", "×": "$\\times$", "·": "$\\cdot$", "<": "$<$", ">": "$>$",
    "≤": "$\\leq$", "ρ": "$\\rho$", "κ": "$\\kappa$", "π": "$\\pi$", "²": "$^2$", "τ": "$\\tau$", "Δ": "$\\Delta$"})


@dataclass(frozen=True)
class LatexWidth:
    """A page width the tables are set for: its float, its width in points and its file suffix."""

    environment: str
    points: float
    suffix: str


COLUMN = LatexWidth("table", 252.0, "")  # 3.5 in: one column of a two-column page
WIDE = LatexWidth("table*", 505.0, "_wide")  # 7 in: both columns
PAGE_HEIGHT = 540.0  # points a float may fill: a 9 in text height (650 pt) less a margin for the estimates
ROW, NOTE_LINE, TITLE_LINE = 11.0, 9.5, 12.0  # points: a \small table row, a \footnotesize note line, a caption line
HEADER = 40.0  # the rules and a title of up to three lines


def latex_escape(text: str) -> str:
    """``text`` for LaTeX; a number and its unit (``20 %``, ``95 %``) kept on one line by a tie."""
    return re.sub(r"(\d) \\%", r"\1~\\%", text.translate(LATEX_CHARACTERS))


def _latex_cell(value: object) -> str:
    """A cell in LaTeX: ``mean ± std`` with the std in small type; the bold placeholders \x00B and \x00E
    as \\textbf."""
    mean, _, std = str(value).partition(" ± ")
    text = latex_escape(mean) + (f"{{\\scriptsize\\,$\\pm$\\,{latex_escape(std)}}}" if std else "")
    return text.replace("\x00B", "\\textbf{").replace("\x00E", "}")


HEADER_LINE = 9  # characters of a column title's line


def header_lines(title: str) -> list[str]:
    """A column title's lines: its words wrapped at ``HEADER_LINE`` characters and what it covers ("(lesion)") on
    the last line, so that the title is no wider than its numbers."""
    name, bracket, covered = title.partition(" (")
    lines: list[str] = []
    for word in name.split():
        if lines and len(lines[-1]) + 1 + len(word) <= HEADER_LINE:
            lines[-1] += " " + word
        else:
            lines.append(word)
    lines += [f"({covered}".replace(", ", ",\n")] if bracket else []  # "(lesion, px)": a part a line
    return [part for text in lines for part in text.split("\n")]


def _latex_header(title: str) -> str:
    """A column title: one line at the table's size, more in footnote size."""
    lines = header_lines(title)
    if len(lines) == 1:
        return latex_escape(lines[0])
    return "{\\footnotesize\\begin{tabular}[b]{@{}c@{}}" + "\\\\".join(map(latex_escape, lines)) + "\\end{tabular}}"


LABEL_WITH_BRACKET = re.compile(r"^(.+?) (\([^()]*\))$")


def _row_lines(row: pd.Series, columns: list[str], under: dict[str, str], split_labels: bool) -> list[list[str]]:
    """A row's cells as plain text: its first line and, where the table has one, its second (a CI under
    its figure; with ``split_labels``, a label's bracket under its name: "small" over "(269-1725 px)")."""
    if not under:
        return [[str(row[c]) for c in columns]]
    first, second = [], []
    for c in columns:
        label = LABEL_WITH_BRACKET.match(str(row[c])) if split_labels and c not in under else None
        first.append(label.group(1) if label else str(row[c]))
        second.append(str(row[under[c]]) if c in under else label.group(2) if label else "")
    return [first, second]


def estimated_width(shown: pd.DataFrame, below: dict[str, str] | None = None, split_labels: bool = False) -> float:
    """The points the tabular of ``to_latex(shown, text, below, split_labels=...)`` sets to (``latex_width``),
    before LaTeX runs."""
    below = {source: target for source, target in (below or {}).items() if source in shown and target in shown}
    columns = [c for c in shown.columns if c != "Model" and c not in below]
    under = {target: source for source, target in below.items()}
    lines = [_row_lines(row, columns, under, split_labels) for _, row in shown.iterrows()]
    spanning = [str(name) for name in shown["Model"] if name] if "Model" in shown else []
    return tabular_width({c: header_lines(c) for c in columns}, [line[0] for line in lines],
                         [line[1] for line in lines if len(line) > 1], spanning)


def _blocks(shown: pd.DataFrame) -> list[pd.DataFrame]:
    """The rows in groups that stay together: a model's rows (from its named row to the next)."""
    if "Model" not in shown:
        return [shown.iloc[[i]] for i in range(len(shown))]
    starts = [i for i, name in enumerate(shown["Model"]) if name or i == 0]
    return [shown.iloc[a:b] for a, b in zip(starts, [*starts[1:], len(shown)])]


def _lines(text: str, width: LatexWidth, points_per_char: float) -> int:
    return math.ceil(len(text) * points_per_char / width.points) if text else 0


def _parts(blocks: list[pd.DataFrame], height: list[float], note_height: float, room: float) -> list[list[int]]:
    """Blocks to floats, in order: each float's blocks no taller than ``room``, the last's with the notes."""
    parts: list[list[int]] = [[]]
    for i, h in enumerate(height):
        if parts[-1] and sum(height[j] for j in parts[-1]) + h > room:
            parts.append([])
        parts[-1].append(i)
    moved: list[int] = []  # the notes need room under the last float: its first blocks go to a float before it
    while len(parts[-1]) > 1 and sum(height[j] for j in parts[-1]) + note_height > room:
        moved.append(parts[-1].pop(0))
    if moved:
        parts.insert(len(parts) - 1, moved)
    return [p for p in parts if p] or [[]]


def to_latex(shown: pd.DataFrame, text: FloatText, below: dict[str, str] | None = None, width: LatexWidth = COLUMN,
             split_labels: bool = False) -> str:
    """Booktabs tables at \\small for ``width``, one group per model (its name on a row of its own), with
    ``text``'s caption and label, and its notes in a footnote block under the last part. ``below``: columns set on
    a second line under another column in small type (a CI under its mean); ``split_labels``: a label's bracket on
    that line too."""
    caption, label = text.caption, text.label
    below = {source: target for source, target in (below or {}).items() if source in shown and target in shown}
    note = "".join(f"Under {target}: its {source}. " for source, target in below.items()) + text.note
    columns = [c for c in shown.columns if c != "Model" and c not in below]
    blocks = _blocks(shown)
    lines_per_row = 2 if below else 1
    height = [ROW * (len(b) * lines_per_row + (1 if "Model" in shown else 0)) + 4 for b in blocks]
    caption_height = TITLE_LINE * (_lines(caption, width, 5.0) + 1)
    note_height = NOTE_LINE * _lines(latex_escape(note), width, 4.2)
    parts = _parts(blocks, height, note_height, PAGE_HEIGHT - HEADER - caption_height)
    tables = []
    for number, part in enumerate(parts, start=1):
        rows = pd.concat([blocks[i] for i in part]) if part else shown.iloc[:0]
        suffix = f" (part {number} of {len(parts)})" if len(parts) > 1 else ""
        tag = f"{label}-{number}" if len(parts) > 1 else label
        part_text = FloatText(caption + suffix, note if number == len(parts) else f"Notes under part {len(parts)}.",
                              tag)
        tables.append(_float(rows, columns, below, part_text, width, split_labels))
    return "\n".join(tables)


@dataclass(frozen=True)
class FloatText:
    """What a float says around its tabular: its caption, the note under it and its ``\\label``."""

    caption: str
    note: str
    label: str


def _float(shown: pd.DataFrame, columns: list[str], below: dict[str, str], text: FloatText, width: LatexWidth,
           split_labels: bool) -> str:
    """One float: the tabular, measured and scaled to the line only where it is wider (set in a paragraph, so
    that a table wider than the line is reported as an Overfull \\hbox), then the notes."""
    header = " & ".join(_latex_header(c) for c in columns)
    lines = [f"\\begin{{{width.environment}}}[tbp]", "\\centering", "\\small", "\\setlength{\\tabcolsep}{2pt}",
             f"\\caption{{{latex_escape(text.caption)}}}", f"\\label{{tab:{text.label}}}",
             "\\setbox0=\\hbox{\\begin{tabular}{@{}l" + "r" * (len(columns) - 1) + "@{}}", "\\toprule",
             header + " \\\\", "\\midrule"]
    under = {target: source for source, target in below.items()}
    for position, (_, row) in enumerate(shown.iterrows()):
        if "Model" in shown and (row["Model"] or position == 0):  # a new model: its name spans the table
            lines += ["\\addlinespace"] if position else []
            lines.append(f"\\multicolumn{{{len(columns)}}}{{l}}{{\\textit{{{_latex_cell(row['Model'])}}}}} \\\\")
        first, *second = _row_lines(row, columns, under, split_labels)
        lines.append(" & ".join(map(_latex_cell, first)) + " \\\\")
        lines += [" & ".join(f"{{\\scriptsize {_latex_cell(cell)}}}" if cell else "" for cell in line) + " \\\\"
                  for line in second]
    lines += ["\\bottomrule", "\\end{tabular}}",
              f"\\leavevmode\\ifdim\\wd0>\\linewidth\\typeout{{busbench: {text.label} scaled from \\the\\wd0}}"
              "\\resizebox{\\linewidth}{!}{\\box0}\\else\\box0\\fi", "",
              "\\smallskip", f"\\parbox{{\\linewidth}}{{\\footnotesize {latex_escape(text.note)}}}",
              f"\\end{{{width.environment}}}"]
    return "\n".join(lines) + "\n"
