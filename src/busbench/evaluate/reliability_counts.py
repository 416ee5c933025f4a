"""Per-image pixel counts by probability bin: what the report's calibration needs, without the maps.

A probability map at the original size holds 10^4-10^6 floats per image; saving them all to judge
calibration would be megabytes per cell. Calibration needs far less: per image and per bin of
predicted probability (``BINS`` equal-width bins on [0, 1], the last one closed), the pixels, the
lesion pixels among them, the sum of their probabilities and the sum of their squared errors
(p - y)². These four sums add up over images, so the report gets the exact pixel-level ECE (with
each bin's mean probability, not its centre), the exact Brier score and the reliability diagram
of any set of images (a subgroup, a bootstrap draw over patients) from a table of at most
``BINS`` rows per image (``ensemble_calibration.csv``, about 60 bytes a row: under 1 MB for a thousand images).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BINS = 10
COUNT_COLUMNS = ("pixels", "lesion_pixels", "prob_sum", "squared_error_sum")


def bin_index(probability: np.ndarray, bins: int = BINS) -> np.ndarray:
    """The bin of each probability: [0, 1/bins), ..., [(bins-1)/bins, 1]."""
    return np.minimum((np.asarray(probability, dtype=float) * bins).astype(np.int64), bins - 1)


def image_counts(probability: np.ndarray, truth: np.ndarray, bins: int = BINS) -> pd.DataFrame:
    """One row per non-empty bin of one image: ``bin`` and the ``COUNT_COLUMNS`` sums."""
    p = np.asarray(probability, dtype=float).ravel()
    y = np.asarray(truth, dtype=bool).ravel()
    index = bin_index(p, bins)
    sums = {"pixels": np.bincount(index, minlength=bins),
            "lesion_pixels": np.bincount(index, weights=y, minlength=bins).astype(np.int64),
            "prob_sum": np.bincount(index, weights=p, minlength=bins),
            "squared_error_sum": np.bincount(index, weights=(p - y) ** 2, minlength=bins)}
    frame = pd.DataFrame({"bin": np.arange(bins), **sums})
    return frame[frame["pixels"] > 0].reset_index(drop=True)


class ReliabilityCounts:
    """Collects ``image_counts`` of the images a scoring pass sees (the ensemble's test images)."""

    def __init__(self, bins: int = BINS) -> None:
        self.bins = bins
        self._frames: list[pd.DataFrame] = []

    def add(self, case_id: str, group: int, probability: np.ndarray, truth: np.ndarray) -> None:
        counts = image_counts(probability, truth, self.bins)
        counts.insert(0, "group", group)
        counts.insert(0, "case_id", case_id)
        self._frames.append(counts)

    def frame(self) -> pd.DataFrame:
        """Every image's rows, with the number of bins (``bins``) on each row."""
        columns = ["case_id", "group", "bin", *COUNT_COLUMNS]
        frame = pd.concat(self._frames, ignore_index=True) if self._frames else pd.DataFrame(columns=columns)
        return frame.assign(bins=self.bins)
