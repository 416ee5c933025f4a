"""Dice and IoU of whole batches on tensors, for validation while training.

Here, below ``evaluate``, so that the trainer needs nothing from the evaluation layer; the rules
for empty masks are those of ``busbench.evaluate.metrics.image_metrics`` (a test checks they agree).
"""

from __future__ import annotations

import torch


def batch_overlap(pred: torch.Tensor, truth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image Dice and IoU of boolean (N, ...) tensors: both empty -> 1, one empty -> 0.

    Used for validation at the network's resolution during training; final scores use
    ``image_metrics`` at the original resolution.
    """
    pred, truth = pred.flatten(1).bool(), truth.flatten(1).bool()
    tp = (pred & truth).sum(1).double()
    n_pred, n_truth = pred.sum(1).double(), truth.sum(1).double()
    both_empty = (n_pred == 0) & (n_truth == 0)
    denominator = n_pred + n_truth
    dice = torch.where(both_empty, 1.0, 2 * tp / denominator.clamp_min(1))
    iou = torch.where(both_empty, 1.0, tp / (denominator - tp).clamp_min(1))
    return dice, iou
