"""A Markdown table from a DataFrame, as every table writer prints it."""

from __future__ import annotations

import pandas as pd

from busbench.markdown import markdown_table


def test_a_frame_becomes_a_github_table_with_one_line_per_row() -> None:
    frame = pd.DataFrame({"Model": ["U-Net", "UNeXt"], "Dice": ["0.712", "< 0.0001"]})
    assert markdown_table(frame) == ("| Model | Dice |\n|---|---|\n| U-Net | 0.712 |\n| UNeXt | < 0.0001 |\n")
