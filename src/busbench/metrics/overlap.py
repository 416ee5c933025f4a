"""Dice and IoU from pixel counts, with the empty-mask rules stated once: both masks empty -> 1,
exactly one empty -> 0, else Dice = 2TP/(|P|+|T|) and IoU = TP/(|P|+|T|-TP).

One formula for the whole package: the final scores (``per_image.image_metrics``, ``dice_score``)
pass it Python integers, validation while training (``batch_overlap``) passes it a batch's counts
as tensors on the training device, so a validation Dice and a test-set Dice mean the same thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch

Counts = TypeVar("Counts", float, np.ndarray, "torch.Tensor")


def dice_iou(tp: Counts, n_pred: Counts, n_truth: Counts) -> tuple[Counts, Counts]:
    """Dice and IoU of counts (numbers, or arrays/tensors of them element by element).

    ``both_empty`` adds 1 to numerator and denominator where both masks are empty (0/0 -> 1/1)
    and nothing elsewhere, so the non-empty values are the plain ratios, exactly.
    """
    both_empty = (n_pred + n_truth) == 0
    union = n_pred + n_truth
    return (2 * tp + both_empty) / (union + both_empty), (tp + both_empty) / (union - tp + both_empty)


def batch_overlap(pred: torch.Tensor, truth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image Dice and IoU of boolean (N, ...) tensors, counted where they are (float64).

    Used for validation at the network's resolution during training; final scores use
    ``image_metrics`` at the original resolution.
    """
    pred, truth = pred.flatten(1).bool(), truth.flatten(1).bool()
    return dice_iou((pred & truth).sum(1).double(), pred.sum(1).double(), truth.sum(1).double())
