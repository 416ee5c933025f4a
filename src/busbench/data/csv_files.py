"""CSV files that busbench reads beside images (a dataset's own tables, the user's labels, pairs
and link files), with one check: the file exists and has the columns it needs, or the error names
the file, what it is, the expected columns and what to do."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from busbench.errors import BusbenchError


def read_csv_with_columns(path: Path, what: str, required: tuple[str, ...], expected: str,
                          fix: str | None = None) -> pd.DataFrame:
    """``path`` as strings (empty cells stay ""); ``what`` names the file or the setting that gave it,
    ``fix`` says what to do when it is missing."""
    if not path.is_file():
        raise BusbenchError(f"{path}: {what} not found; {fix or f'give the path of a CSV with columns {expected}'}")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise BusbenchError(f"{path}: columns {missing} are missing; {what} needs columns {expected}")
    return frame
