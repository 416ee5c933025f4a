"""User-supplied CSV files (labels, pairs, link files), read with one check: the file exists and
has the columns it needs, or the error names the file, the option and the expected columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from busbench.errors import BusbenchError


def read_user_csv(path: Path, option: str, required: tuple[str, ...], expected: str) -> pd.DataFrame:
    """``path`` as strings (empty cells stay ""); ``option`` is the setting that named it."""
    if not path.is_file():
        raise BusbenchError(f"{path}: {option} not found; give the path of a CSV with columns {expected}")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise BusbenchError(f"{path}: columns {missing} are missing; {option} needs columns {expected}")
    return frame
