"""Deep supervision: a loss over a model's outputs at several resolutions.

A model that returns a list in training mode (full resolution first, then coarser decoder
outputs; ``nnunet_2d``) is trained on the weighted sum of the loss of each output against the mask
down-sampled to that output's size. The weights are nnU-Net's: 1, 1/2, 1/4, ... with the coarsest
output's weight set to 0, normalised to sum 1. Masks are down-sampled by nearest neighbour
(``nearest-exact``, as nnU-Net's DownsampleSegForDSTransform), so they stay binary. A model that
returns one tensor is scored by the loss alone, so the trainer wraps every loss in this.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn


def deep_supervision_weights(n_outputs: int) -> list[float]:
    """nnU-Net's output weights: halving from full resolution, the coarsest 0, summing to 1."""
    weights = [0.5**i for i in range(n_outputs)]
    if n_outputs > 1:
        weights[-1] = 0.0
    total = sum(weights)
    return [w / total for w in weights]


class DeepSupervisionLoss(nn.Module):
    """``loss`` on a single output, or nnU-Net's weighted sum over a list of outputs."""

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, outputs: Tensor | Sequence[Tensor], target: Tensor) -> Tensor:
        if isinstance(outputs, Tensor):
            loss: Tensor = self.loss(outputs.float(), target)
            return loss
        total = outputs[0].new_zeros((), dtype=target.dtype)
        for output, weight in zip(outputs, deep_supervision_weights(len(outputs))):
            if weight:
                scaled = target if output.shape[-2:] == target.shape[-2:] else \
                    F.interpolate(target, size=output.shape[-2:], mode="nearest-exact")
                total = total + weight * self.loss(output.float(), scaled)
        return total
