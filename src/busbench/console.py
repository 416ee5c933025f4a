"""Terminal output shared by the CLI commands."""

from __future__ import annotations

import sys

import pandas as pd
from rich.console import Console
from rich.table import Table

# Logs and CI are not terminals: give tables room instead of rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def print_frame(frame: pd.DataFrame, title: str, index: bool = True) -> None:
    """Print a DataFrame as a rich table (index as the first column when ``index``)."""
    table = Table(title=title, title_justify="left")
    shown = frame.reset_index() if index else frame
    for column in shown.columns:
        table.add_column(str(column), justify="left" if shown[column].dtype == object else "right")
    for values in shown.itertuples(index=False):
        table.add_row(*(str(v) for v in values))
    console.print(table)
