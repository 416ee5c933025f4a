"""Numbers as Markdown and HTML tables show them: 4 decimals, and a tiny p-value never as 0.0."""

from __future__ import annotations

import numpy as np
import pandas as pd

from busbench.markdown import markdown_table, shown_numbers


def test_a_tiny_p_value_shows_as_below_the_last_decimal() -> None:
    frame = pd.DataFrame({"median_difference": [0.00001, 0.123456], "p_value": [0.000006, 0.5],
                          "p_holm": [0.000018, np.nan], "f_p_value": [0.00004, 0.00012]})
    shown = shown_numbers(frame)
    assert shown["p_value"].tolist() == ["< 0.0001", 0.5]
    assert shown["p_holm"].iloc[0] == "< 0.0001" and np.isnan(shown["p_holm"].iloc[1])
    assert shown["f_p_value"].tolist() == ["< 0.0001", 0.0001]  # at or above 10^-4: rounded
    assert shown["median_difference"].tolist() == [0.0, 0.1235]  # not a p-value: plain rounding


def test_a_matrix_of_p_values_marks_every_cell() -> None:
    matrix = pd.DataFrame({"A": [np.nan, 0.00002], "B": [0.00002, np.nan]}, index=["A", "B"])
    shown = shown_numbers(matrix, every_cell_a_p=True)
    assert shown.loc["A", "B"] == "< 0.0001" and shown.loc["B", "A"] == "< 0.0001"
    assert "| < 0.0001 |" in markdown_table(shown.where(matrix.notna(), "–"))
