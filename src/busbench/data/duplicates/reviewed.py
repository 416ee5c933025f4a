"""Image pairs of public datasets reviewed by eye (``reviewed_pairs.csv``): the labelled set on
which the near-duplicate detector is measured, and known duplicates that every split honours.

Each row is a pair of case ids of one dataset (``busi``, ``busbra``) with ``duplicate`` 1 (the
same frame, re-cropped, zoomed, re-imaged, or consecutive frames of one lesion) or 0 (a hard
negative: same device and look, another lesion or patient), its ``kind`` and a note. The detector
finds most duplicates by itself; the reviewed ones it misses would still leak, so a split adds the
reviewed duplicates of its dataset as must-link pairs (``split.reviewed_links``, on by default),
the way a benchmark applies a published audit of its dataset. The file's checksum is part of the
split's settings, so a change to it makes a new split.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from busbench.data.integrity import file_sha256
from busbench.data.manifest import Manifest

REVIEWED_PAIRS = Path(__file__).with_name("reviewed_pairs.csv")


def reviewed_pairs() -> pd.DataFrame:
    """Every reviewed pair: dataset, case_a, case_b, duplicate (1/0), kind, note."""
    return pd.read_csv(REVIEWED_PAIRS, dtype={"case_a": str, "case_b": str}, keep_default_na=False)


def reviewed_duplicates(manifest: Manifest) -> list[tuple[str, str]]:
    """The reviewed duplicate pairs of ``manifest``'s dataset whose two images it holds."""
    pairs = reviewed_pairs()
    known = set(manifest.frame["case_id"])
    mine = pairs[(pairs["dataset"] == manifest.dataset) & (pairs["duplicate"] == 1)]
    return sorted(tuple(sorted((a, b))) for a, b in zip(mine["case_a"], mine["case_b"]) if a in known and b in known)


def reviewed_pairs_sha256() -> str:
    return file_sha256(REVIEWED_PAIRS)
