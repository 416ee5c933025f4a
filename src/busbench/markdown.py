"""A GitHub-flavoured Markdown table from a DataFrame (no extra dependency).

Base layer: every table writer (``pipeline``, ``evaluate``, ``report``, ``cli``) uses it.
"""

from __future__ import annotations

import pandas as pd


def markdown_table(frame: pd.DataFrame) -> str:
    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for values in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in values) + " |")
    return "\n".join(lines) + "\n"


SHOWN_PLACES = 4  # decimals of the numbers Markdown and HTML tables show (the CSVs keep full precision)
P_FLOOR_TEXT = "< 0.0001"


def is_p_column(name: object) -> bool:
    """A column of p-values by its name: ``p_value``, ``p_holm``, ``f_p_value``, ..."""
    text = str(name)
    return text.startswith("p_") or text.endswith("_p_value")


def shown_numbers(frame: pd.DataFrame, every_cell_a_p: bool = False) -> pd.DataFrame:
    """``frame`` rounded for display; a p-value below 10^-4 (in a p-value column, or anywhere with
    ``every_cell_a_p``) shows as "< 0.0001", never as 0.0, which reads as impossible."""
    rounded = frame.round(SHOWN_PLACES).astype(object)
    columns = list(frame.columns) if every_cell_a_p else [c for c in frame.columns if is_p_column(c)]
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        rounded[column] = rounded[column].where(~(values < 10**-SHOWN_PLACES), P_FLOOR_TEXT)
    return rounded
