"""The one rule for every number a reader sees in the report (Markdown, LaTeX, HTML; the CSVs keep
full precision), chosen by what the number is, so that a column never mixes 0.837 and 0.6889:

* a score or rate in [0, 1] and a difference of them (Dice, IoU, NSD, sensitivity, AUROC, ECE, Brier,
  correlations, κ, rank-biserial r, shape ratios): 3 decimals (``SCORE_PLACES``);
* a distance or size in pixels (HD95, centroid error, area and their errors): 2 decimals (``PIXEL_PLACES``);
* a share printed as a percentage (the main table's sensitivity and false alarms): 1 decimal, "25.0%";
* ranks, test statistics and other real numbers: 2 decimals (``OTHER_PLACES``);
* a count (models, images, units, passes, pixels): an integer, never "12.0";
* a p-value: "< 0.0001" below 10^-4, else 4 decimals ("0.0011", "0.0500"), everywhere.

Best values are marked on the number as shown: two rows that print the same figure are both bold.
"""

from __future__ import annotations

import re

import pandas as pd

SCORE_PLACES, PIXEL_PLACES, SHARE_PLACES, OTHER_PLACES, P_PLACES = 3, 2, 1, 2, 4
P_FLOOR = 10.0 ** -P_PLACES
P_FLOOR_TEXT = "< 0.0001"
MISSING = "–"
COUNT_WORDS = ("images", "units", "models", "datasets", "tables", "bins", "pixels", "passes", "seeds", "fold",
               "networks", "views", "pairs_n", "runs", "n")
PIXEL_WORDS = ("hd95", "centroid", "area", "px")
OTHER_WORDS = ("rank", "statistic", "chi2", "cd", "pairs", "fps", "params", "gflops", "macs", "minutes", "seconds",
               "m")


def _words(column: object) -> list[str]:
    return re.split(r"[_\s()@,]+", str(column).lower())


def is_p_column(column: object) -> bool:
    """A column of p-values by its name: ``p_value``, ``p_holm``, ``p_holm_vs_best``, ``p-value``, ``p (Holm)``."""
    text = str(column).lower()
    return text.startswith(("p_", "p-value", "p (")) or text.endswith("_p_value")


def places_of(column: object) -> int | None:
    """Decimals of a column's numbers by its name; None for counts (integers)."""
    words = _words(column)
    if any(word in COUNT_WORDS for word in words) and not any(w in words for w in ("mean", "std", "share")):
        return None
    if "biserial" in words:
        return SCORE_PLACES
    if any(word.startswith(PIXEL_WORDS) for word in words):
        return PIXEL_PLACES
    if any(word in OTHER_WORDS for word in words):
        return OTHER_PLACES
    return SCORE_PLACES


def p_text(value: float) -> str:
    """A p-value as every table prints it."""
    if pd.isna(value):
        return MISSING
    return P_FLOOR_TEXT if value < P_FLOOR else f"{value:.{P_PLACES}f}"


def number_text(value: object, places: int | None) -> str:
    """A number with ``places`` decimals (None: an integer); text stays as it is; missing: "–"."""
    if isinstance(value, str):
        return value
    if value is None:
        return MISSING
    try:
        number = float(value)  # type: ignore[arg-type]  # any number, numpy's included
    except (TypeError, ValueError):
        return str(value)
    if number != number:
        return MISSING
    return f"{round(number):d}" if places is None else f"{number:.{places}f}"


def share_text(value: float) -> str:
    """A share as a percentage with ``SHARE_PLACES`` decimals ("25.0%"); missing: "–"."""
    return MISSING if pd.isna(value) else f"{value:.{SHARE_PLACES}%}"


def interval_text(low: float, high: float, places: int) -> str:
    """A confidence interval as every table prints it, "[0.591, 0.709]"; missing: "–"."""
    return MISSING if pd.isna(low) else f"[{number_text(low, places)}, {number_text(high, places)}]"


def shown_frame(frame: pd.DataFrame, every_cell_a_p: bool = False) -> pd.DataFrame:
    """``frame`` as text by the rule: each numeric column by its name (``places_of``), p-values as
    ``p_text`` (every cell with ``every_cell_a_p``, the matrix of pairs); text columns as they are."""
    shown = frame.astype(object).copy()
    for column in frame.columns:
        values = frame[column]
        if every_cell_a_p or is_p_column(column):
            shown[column] = [p_text(v) if not isinstance(v, str) else v for v in values]
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            places = places_of(column)
            shown[column] = [number_text(v, places) for v in values]
        else:
            shown[column] = [number_text(v, places_of(column)) if isinstance(v, float) else
                             (MISSING if v is None else v) for v in values]
    return shown
