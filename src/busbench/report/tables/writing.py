"""Tables as files: a statistics or summary table as CSV and Markdown (``write_table``), a publication
table as CSV (its numbers), Markdown and LaTeX (``publish``), and one test set's three publication
tables: accuracy, cost and false alarms (``publish_test_set``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from busbench.layout.atomic import write_csv, write_text
from busbench.markdown import markdown_table
from busbench.report.collect import RunTable
from busbench.report.names import readable_header
from busbench.report.number_format import MISSING, shown_frame
from busbench.report.scored_sets import image_detection
from busbench.report.statistics.units import IndependentUnits
from busbench.report.tables.false_alarms import FALSE_ALARM_NOTE, false_alarm_display, false_alarms
from busbench.report.tables.latex import COLUMN, WIDE, FloatText, estimated_width, to_latex
from busbench.report.tables.publication import (
    CI_BELOW,
    accuracy_numbers,
    cost_notes,
    cost_numbers,
    cost_table,
    display_table,
    notes,
    to_markdown,
)

BOLD = ("\x00B", "\x00E")  # best-value marks in a publication table's strings: ** in Markdown, \textbf in LaTeX


def write_table(frame: pd.DataFrame, path: Path, p_values: bool = False) -> None:
    """``path``.csv and ``path``.md; a named index (model names, ...) is written as columns, and a
    missing value (a test that could not be made) as "n/a" in the Markdown, under readable headers.
    ``p_values``: every value is a p-value (the matrix of pairs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    named = frame.index.names != [None]
    shown = frame.reset_index() if named else frame
    write_csv(shown, path.with_suffix(".csv"))
    rounded = shown_frame(shown, every_cell_a_p=p_values)
    if p_values and named:  # the matrix's model names stay names
        rounded[shown.columns[0]] = shown[shown.columns[0]]
    readable = rounded.replace(MISSING, "n/a").rename(columns=readable_header)
    write_text(markdown_table(readable), path.with_suffix(".md"))


def publish(shown: pd.DataFrame, numbers: pd.DataFrame, caption: str, note: str, path: Path,
            below: dict[str, str] | None = None) -> None:
    """One publication table as ``path``.csv (its numbers), .md and .tex (its strings and notes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(numbers, path.with_suffix(".csv"))
    write_text(f"{caption}\n\n" + to_markdown(shown.replace({BOLD[0]: "**", BOLD[1]: "**"}, regex=True), note),
               path.with_suffix(".md"))
    write_latex(shown, caption, note, path, below)


ColumnLayout = Callable[[pd.DataFrame], tuple[pd.DataFrame, list[str]]]
NARROW_LEFT_OUT = ("NSD", "Dice seed SD", "Seeds", "Dice (all)")  # left to the wide LaTeX and the .md
# left to them too, in this order, only while the one-column table would be wider than the column
NARROW_IF_NEEDED = ("IoU", "Lesion images", "Normal images", "n")


def write_latex(shown: pd.DataFrame, caption: str, note: str, path: Path, below: dict[str, str] | None = None) -> None:
    """``path``.tex and ``path``_wide.tex of one table (``write_latex_tables``)."""
    write_latex_tables([(shown, caption, note, path.name)], path, below)


def _fitted_to_a_column(shown: pd.DataFrame, below: dict[str, str] | None) -> tuple[pd.DataFrame, bool, list[str]]:
    """A one-column table laid out to fit the column by estimate (``latex.estimated_width``): first each label's
    bracket on the line under it ("small" over "(269-1725 px)"), then the ``NARROW_IF_NEEDED`` columns left to the
    wide table one by one. Returns the table, whether its labels are split, and the columns it left out."""
    split = estimated_width(shown, below) > COLUMN.points
    moved: list[str] = []
    for prefix in NARROW_IF_NEEDED:
        if estimated_width(shown, below, split) <= COLUMN.points:
            break
        found = [c for c in shown.columns if c == prefix or str(c).startswith(f"{prefix} ")]
        shown = shown.drop(columns=found + [s for s, t in (below or {}).items() if t in found and s in shown])
        moved += found
    return shown, split, moved


def write_latex_tables(tables: list[tuple[pd.DataFrame, str, str, str]], path: Path,
                       below: dict[str, str] | None = None, column_layout: ColumnLayout | None = None) -> None:
    """``path``.tex (one column: without the NSD, seed and all-image columns and the ± std, which its note says are
    in the wide table, and laid out to fit by ``_fitted_to_a_column``) and ``path``_wide.tex (both columns of a
    two-column page, every column); ``tables``: (shown, caption, note, label) of each table the files hold (one per
    test set). ``column_layout``: how a table too wide for a column is laid out there instead of scaled down (its
    frame, and what it left to the wide table)."""
    narrow, wide = [], []
    for shown, caption, note, label in tables:
        left_out = [c for c in shown.columns if str(c).startswith(NARROW_LEFT_OUT)]
        has_std = shown.map(lambda cell: " ± " in str(cell)).any().any()
        moved = left_out + (["± std"] if has_std else [])
        column, laid_out = column_layout(shown) if column_layout else (shown, [])
        left_out = [c for c in left_out if c in column]
        means = column.drop(columns=left_out).map(lambda cell: re.sub(" ± [^\x00]*", "", cell)
                                                 if isinstance(cell, str) else cell)
        means, split, fitted = _fitted_to_a_column(means, below)
        moved += laid_out + fitted
        narrow_note = note + (f" {', '.join(moved)}: in the two-column (table*) version and the Markdown table."
                              if moved else "")
        narrow.append(to_latex(means, FloatText(caption, narrow_note, label), below, COLUMN, split))
        wide.append(to_latex(shown, FloatText(caption, note, f"{label}-wide"), below, WIDE))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text("\n".join(narrow), path.with_suffix(".tex"))
    write_text("\n".join(wide), path.with_name(f"{path.name}{WIDE.suffix}.tex"))


def publish_test_set(folder: Path, table: RunTable, frame: pd.DataFrame, units: IndependentUnits) -> pd.DataFrame:
    """The accuracy, cost and false-alarm tables of one test set (``frame``: its ``model_rows``) under
    ``folder``, with every number of both tables in ``<key>.csv``; returns the false alarms."""
    title = table.title
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(frame, folder / f"{table.key}.csv")  # every number of both tables
    publish(display_table(frame, BOLD), accuracy_numbers(frame),
            f"Segmentation accuracy on {title}: held-out test set", notes(frame), folder / f"{table.key}_accuracy",
            below=CI_BELOW)
    publish(cost_table(frame, BOLD), cost_numbers(frame), f"Cost per test image on {title}", cost_notes(frame),
            folder / f"{table.key}_cost")
    alarms = false_alarms(table.runs, units.clusters)
    lesion, _ = image_detection(table.runs[0].per_image)  # one test set: every run holds its images
    publish(false_alarm_display(alarms), alarms, f"False alarms on {title}: normal test images with any "
            "predicted lesion", FALSE_ALARM_NOTE + f" CI: {units.of(lesion[~lesion].index).description()}.",
            folder / f"{table.key}_false_alarms")
    return alarms
