"""Per-image segmentation metrics, with the empty-mask rules stated once.

Counts TP, FP, FN, TN are taken on the prediction and ground truth at the original image size.

* Both masks non-empty: Dice = 2TP/(2TP+FP+FN), IoU = TP/(TP+FP+FN), precision = TP/(TP+FP),
  recall (sensitivity) = TP/(TP+FN), HD95 in the chosen convention (``surface``), NSD (normalised
  surface distance, "surface Dice") at the tolerance ``nsd_tolerance`` in pixels of the original
  image (``surface_dice``: DeepMind's definition, Nikolov et al. 2021).
* Both empty (a normal image predicted normal): Dice = IoU = precision = recall = NSD = 1, HD95 = 0.
* Exactly one empty (a missed lesion, or a false alarm on a normal image): Dice = IoU =
  precision = recall = NSD = 0 and HD95 = the image diagonal, hypot(height, width) times the
  spacing, above any distance in it; such images are counted (``empty_case``) and reported beside
  every table, never dropped.
* Dice and IoU follow ``overlap.dice_iou``, the one formula validation while training uses too.
* Specificity = TN/(TN+FP) (1 when the ground truth covers the whole image), accuracy =
  (TP+TN)/pixels: always defined.

Two HD95 conventions of published benchmarks can be chosen instead, to rerun their protocol
(Awesome-BUS, src/utils/metrics.py and test.py); tables name them when they are used:

* ``hd95_empty="drop_false_alarms"``: a lesion predicted on a normal image has no HD95 (NaN, written
  as an empty cell), so it is left out of the HD95 mean; its Dice is still 0 and it is counted.
* HD95 on other masks than the rest (``hd95_masks``): the final scoring passes the prediction and
  ground truth placed in the network's input square for ``eval.hd95_space: network``, where
  distances are in network pixels and the diagonal is the square's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from busbench.metrics.conventions import DEFAULT_NSD_TOLERANCE, HD95Convention
from busbench.metrics.overlap import dice_iou
from busbench.metrics.shape import SHAPE_COLUMNS
from busbench.metrics.surface import hd95_nonempty
from busbench.metrics.surface_dice import nsd_nonempty

METRICS = ("dice", "iou", "precision", "recall", "specificity", "accuracy", "hd95", "nsd")
NSD_TOLERANCE = "nsd_tolerance"  # the column recording it beside the scores: a setting, never averaged
BOTH_EMPTY, MISSED_LESION, FALSE_ALARM = "both_empty", "missed_lesion", "false_alarm"
HD95Empty = Literal["diagonal", "drop_false_alarms"]
# Reading a metrics CSV: an HD95 left out under "drop_false_alarms" is an empty cell, read as NaN, as is the
# shape of an empty mask (metrics.shape) and a maximum probability an outside method's masks do not give.
CSV_MISSING = {"hd95": [""], "max_prob": [""], **{column: [""] for column in SHAPE_COLUMNS}}


def hd95_score(pred: np.ndarray, truth: np.ndarray, convention: HD95Convention = "pooled",
               spacing: tuple[float, float] | None = None, empty: HD95Empty = "diagonal") -> float:
    """HD95 of two boolean masks with the empty-mask rules above (NaN: left out of the mean)."""
    has_pred, has_truth = bool(pred.any()), bool(truth.any())
    if has_pred and has_truth:
        return hd95_nonempty(pred, truth, convention, spacing)
    if not has_pred and not has_truth:
        return 0.0
    if has_pred and empty == "drop_false_alarms":
        return math.nan
    sy, sx = spacing or (1.0, 1.0)
    return math.hypot(truth.shape[0] * sy, truth.shape[1] * sx)


def nsd_score(pred: np.ndarray, truth: np.ndarray, tolerance: float = DEFAULT_NSD_TOLERANCE,
              spacing: tuple[float, float] | None = None) -> float:
    """NSD of two boolean masks at ``tolerance`` with the empty-mask rules above (both empty 1, one empty 0)."""
    has_pred, has_truth = bool(pred.any()), bool(truth.any())
    if has_pred and has_truth:
        return nsd_nonempty(pred, truth, tolerance, spacing)
    return 1.0 if has_pred == has_truth else 0.0


def convention_notes(hd95_space: str, hd95_empty: HD95Empty, input_size: int) -> list[str]:
    """The non-default HD95 conventions in words, for the notes under every table: a figure measured
    this way is not comparable with busbench's default one."""
    notes = []
    if hd95_space == "network":
        notes.append(f"PROTOCOL: HD95 measured on the {input_size} px network input (eval.hd95_space=network: "
                     "network pixels, letterbox padding included), not at each image's original size")
    if hd95_empty == "drop_false_alarms":
        notes.append("PROTOCOL: false alarms on normal images are left out of the HD95 mean "
                     "(eval.hd95_empty=drop_false_alarms); their Dice is still 0 and they are counted")
    return notes


def dice_score(pred: np.ndarray, truth: np.ndarray) -> float:
    """Dice alone, with the rules above (both empty 1, one empty 0), for searches that need no HD95."""
    dice, _ = dice_iou(int(np.count_nonzero(pred & truth)), int(np.count_nonzero(pred)), int(np.count_nonzero(truth)))
    return dice


@dataclass(frozen=True)
class MetricRules:
    """The settings that change a score (``eval.hd95``, ``eval.hd95_empty``, ``eval.nsd_tolerance``),
    travelling together so that every caller scores by the same rules; ``spacing`` in mm per pixel
    (row, column) or None for pixels."""

    hd95: HD95Convention = "pooled"
    hd95_empty: HD95Empty = "diagonal"
    nsd_tolerance: float = DEFAULT_NSD_TOLERANCE
    spacing: tuple[float, float] | None = None


def image_metrics(pred: np.ndarray, truth: np.ndarray, rules: MetricRules = MetricRules(),
                  hd95_masks: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, float | str]:
    """All metrics of one image, plus ``empty_case`` ("" when both masks have a lesion) and the NSD
    tolerance (``nsd_tolerance``: it travels with the scores, so that every table names the one used).

    ``hd95_masks`` (prediction, ground truth) are the masks HD95 is measured on when they are not
    ``pred`` and ``truth`` (the network-size convention); the other metrics, NSD included, always use these.
    """
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {truth.shape} differ in shape")
    pred, truth = pred.astype(bool, copy=False), truth.astype(bool, copy=False)
    hd_pred, hd_truth = (pred, truth) if hd95_masks is None else (m.astype(bool) for m in hd95_masks)
    size = truth.size
    tp = int(np.count_nonzero(pred & truth))
    n_pred, n_truth = int(np.count_nonzero(pred)), int(np.count_nonzero(truth))
    fp, fn = n_pred - tp, n_truth - tp
    tn = size - tp - fp - fn
    result: dict[str, float | str] = {
        "specificity": tn / (tn + fp) if tn + fp else 1.0,
        "accuracy": (tp + tn) / size,
        "hd95": hd95_score(hd_pred, hd_truth, rules.hd95, rules.spacing, rules.hd95_empty),
        "nsd": nsd_score(pred, truth, rules.nsd_tolerance, rules.spacing), NSD_TOLERANCE: rules.nsd_tolerance,
    }
    result["dice"], result["iou"] = dice_iou(tp, n_pred, n_truth)
    if n_pred and n_truth:
        result.update(precision=tp / n_pred, recall=tp / n_truth, empty_case="")
    elif not n_pred and not n_truth:
        result.update(precision=1.0, recall=1.0, empty_case=BOTH_EMPTY)
    else:
        result.update(precision=0.0, recall=0.0, empty_case=MISSED_LESION if n_truth else FALSE_ALARM)
    return result

