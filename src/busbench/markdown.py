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
