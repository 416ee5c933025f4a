"""Terminal output shared by the CLI commands."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

if TYPE_CHECKING:  # pandas is loaded by whoever made the frame: `busbench --help` does without it
    import pandas as pd

# Logs and CI are not terminals: give tables room instead of rich's 80-column default, and never break a
# message (a path, a command to copy) across lines.
console = Console(width=None if sys.stdout.isatty() else 160, soft_wrap=not sys.stdout.isatty())
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160, soft_wrap=not sys.stderr.isatty())


def frame_table(frame: pd.DataFrame, title: str, index: bool = True) -> Table:
    """A rich table of ``frame`` whose cells wrap (fold) instead of being cut with an ellipsis."""
    import pandas as pd

    table = Table(title=title, title_justify="left")
    shown = frame.reset_index() if index else frame
    for column in shown.columns:
        numeric = pd.api.types.is_numeric_dtype(shown[column])
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
    for values in shown.itertuples(index=False):
        table.add_row(*(str(v) for v in values))
    return table


def print_frame(frame: pd.DataFrame, title: str, index: bool = True, out: Console | None = None) -> None:
    """Print a DataFrame in full: at its natural width into files and pipes, folded to fit a terminal."""
    out = out or console
    table = frame_table(frame, title, index)
    if out.is_terminal:
        out.print(table)
        return
    natural = Measurement.get(out, out.options.update(width=1_000_000), table).maximum
    previous = out.width
    out.width = max(previous, natural)  # rich caps any print at the console's width
    try:
        out.print(table)
    finally:
        out.width = previous
