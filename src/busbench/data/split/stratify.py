"""Strata for splitting: the label crossed with a lesion-size tertile; normal is its own stratum.

Tertiles are taken over the lesion area fraction of all lesion images of the manifest, so each
label's small/medium/large share is kept in every part of the split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from busbench.data.labels import NORMAL

SIZE_BINS = ("small", "medium", "large")


def size_tertiles(frame: pd.DataFrame) -> tuple[float, float]:
    """Lesion area fractions splitting lesion images into three equal-count bins."""
    areas = frame.loc[frame["label"] != NORMAL, "lesion_area_fraction"].to_numpy(dtype=float)
    if areas.size == 0:
        return (0.0, 0.0)
    low, high = np.quantile(areas, [1 / 3, 2 / 3])
    return (round(float(low), 8), round(float(high), 8))


def size_bin(area: float, tertiles: tuple[float, float]) -> str:
    return SIZE_BINS[int(area >= tertiles[0]) + int(area >= tertiles[1])]


def strata(frame: pd.DataFrame, tertiles: tuple[float, float]) -> np.ndarray:
    """Stratum name per row: ``normal`` or ``<label>/<size bin>``."""
    return np.array(
        [NORMAL if label == NORMAL else f"{label}/{size_bin(area, tertiles)}"
         for label, area in zip(frame["label"], frame["lesion_area_fraction"])],
        dtype=object,
    )
