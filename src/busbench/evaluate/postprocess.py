"""Post-processing of predicted masks, and its selection on cross-validation predictions.

The steps, applied in this order to a binary mask at the original image size:

1. ``fill_holes``: fill holes inside lesions (lesions are solid in the ground truth);
2. ``min_area_fraction``: remove connected components (8-connectivity) smaller than this
   fraction of the image, i.e. isolated false-positive specks;
3. ``keep_largest``: keep only the largest component (a BUS image shows one lesion almost always);
4. ``boundary_median``: a median filter of this (odd) size applied only on a band of that width
   around the boundary, smoothing jagged edges without touching the rest of the mask (as in the
   2021 CCF BDCI ultrasound segmentation winning solution).

Which steps to use, and their thresholds, is chosen as nnU-Net does: on out-of-fold predictions
of the development cases (each predicted by the fold model that did not train on it), greedily in
the order above, a step is kept only where it raises the mean Dice by more than ``MIN_GAIN``.
The test set is never read; the choice is saved and applied unchanged to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.ndimage import binary_dilation, binary_erosion, binary_fill_holes, label, median_filter

from busbench.metrics.per_image import dice_score
from busbench.progress import progress

MIN_GAIN = 1e-4
_EIGHT = np.ones((3, 3), dtype=bool)
CANDIDATES: tuple[tuple[str, tuple[Any, ...]], ...] = (  # a PostProcessing field and values to try
    ("fill_holes", (True,)),
    ("min_area_fraction", (0.0005, 0.001, 0.0025, 0.005, 0.01)),
    ("keep_largest", (True,)),
    ("boundary_median", (3, 5, 7, 9)),
)


def remove_small_components(mask: np.ndarray, min_area: int) -> np.ndarray:
    labels, n = label(mask, structure=_EIGHT)
    if n == 0:
        return mask.copy()
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_area
    keep[0] = False
    kept: np.ndarray = keep[labels]
    return kept


def keep_largest_component(mask: np.ndarray) -> np.ndarray:
    labels, n = label(mask, structure=_EIGHT)
    if n <= 1:
        return mask.copy()
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    largest: np.ndarray = labels == int(np.argmax(sizes))
    return largest


def fill_holes(mask: np.ndarray) -> np.ndarray:
    filled: np.ndarray = binary_fill_holes(mask)
    return filled


def median_on_boundary(mask: np.ndarray, size: int) -> np.ndarray:
    """Median-filter ``mask`` with a ``size`` x ``size`` window, but only within size//2 of its boundary."""
    if size < 3 or not mask.any():
        return mask.copy()
    radius = size // 2
    band = binary_dilation(mask, iterations=radius) & ~binary_erosion(mask, iterations=radius, border_value=1)
    smoothed = median_filter(mask.astype(np.uint8), size=size, mode="nearest").astype(bool)
    out = mask.copy()
    out[band] = smoothed[band]
    return out


@dataclass(frozen=True)
class PostProcessing:
    """A chosen set of post-processing steps (all off by default)."""

    fill_holes: bool = False
    min_area_fraction: float = 0.0
    keep_largest: bool = False
    boundary_median: int = 0

    def apply(self, mask: np.ndarray) -> np.ndarray:
        out = mask.astype(bool, copy=True)
        if self.fill_holes:
            out = fill_holes(out)
        if self.min_area_fraction > 0:
            out = remove_small_components(out, max(1, int(round(self.min_area_fraction * out.size))))
        if self.keep_largest:
            out = keep_largest_component(out)
        if self.boundary_median:
            out = median_on_boundary(out, self.boundary_median)
        return out

    def describe(self) -> str:
        steps = [f"{k}={v}" for k, v in asdict(self).items() if v not in (False, 0, 0.0)]
        return ", ".join(steps) or "none"


def mean_dice(masks: Sequence[np.ndarray], truths: Sequence[np.ndarray], posts: Sequence[PostProcessing],
              description: str) -> list[float]:
    """The mean Dice of each of ``posts``, in one pass over the images (a progress line per pass)."""
    dice: list[list[float]] = [[] for _ in posts]
    for mask, truth in progress(zip(masks, truths), description, total=len(masks)):
        for scores, post in zip(dice, posts):
            scores.append(dice_score(post.apply(mask), truth))
    return [float(np.mean(scores)) for scores in dice]


def choose_postprocessing(masks: Sequence[np.ndarray], truths: Sequence[np.ndarray]
                          ) -> tuple[PostProcessing, pd.DataFrame]:
    """Greedy nnU-Net-style choice on development predictions; returns it and every trial's score."""
    chosen = PostProcessing()
    passes = len(CANDIDATES) + 1
    [best] = mean_dice(masks, truths, [chosen], f"post-processing search: none (1/{passes})")
    trials = [{"steps": chosen.describe(), "mean_dice": best, "kept": True}]
    for step, (name, values) in enumerate(CANDIDATES, start=2):
        candidates = [replace(chosen, **{name: value}) for value in values]
        scores = mean_dice(masks, truths, candidates, f"post-processing search: {name} ({step}/{passes})")
        trials.extend({"steps": c.describe(), "mean_dice": s, "kept": False} for c, s in zip(candidates, scores))
        top = int(np.argmax(scores))
        if scores[top] > best + MIN_GAIN:
            chosen, best = candidates[top], scores[top]
            trials[len(trials) - len(values) + top]["kept"] = True
    return chosen, pd.DataFrame(trials)
