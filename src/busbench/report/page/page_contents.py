"""Everything the report page shows. Its own module so that the report's steps (build.py) and its
HTML page (html.py) share it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from busbench.report.collect import RunResults


@dataclass
class Report:
    """Everything the HTML page shows; the files are written as they are made. Tables and their
    statistics are keyed by ``RunTable.key``."""

    out: Path
    runs: list[RunResults]
    skipped: list[str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # "BUSI, split seed 42, 20 % test"
    setup: dict[str, pd.DataFrame] = field(default_factory=dict)  # heading -> setup table (and legend of keys)
    comparisons: dict[str, pd.DataFrame] = field(default_factory=dict)
    p_values: dict[str, pd.DataFrame] = field(default_factory=dict)
    false_alarms: dict[str, pd.DataFrame] = field(default_factory=dict)  # per table: share of normal images flagged
    normal: pd.DataFrame | None = None
    ranks: pd.Series | None = None
    cd: float | None = None
    friedman: dict[str, float] | None = None  # friedman_test over the ranked datasets
    ranked_tables: list[str] = field(default_factory=list)  # the table of each dataset the ranks use
    ranks_note: str = ""  # why there are no ranks, when there are none
    cross: pd.DataFrame | None = None  # the train-on x test-on matrix as shown (train_test_matrix.matrix_display)
    figures: dict[str, list[Path]] = field(default_factory=dict)
    captions: dict[Path, str] = field(default_factory=dict)  # each figure's: what it shows, on which images

    def ranked_images(self) -> str:
        """The lesion images the ranks are taken on, per ranked dataset (``BUSI: n = 130, ...``)."""
        return ", ".join(f"{self.titles.get(k, k)}: n = {int(self.tables[k]['lesion_images'].max())}"
                         for k in self.ranked_tables)
