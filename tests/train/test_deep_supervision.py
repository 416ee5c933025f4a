"""Deep-supervision loss: nnU-Net's weights and the down-sampled masks, checked by hand."""

from __future__ import annotations

import math

import pytest
import torch

from busbench.losses import build_loss
from busbench.train.deep_supervision import DeepSupervisionLoss, deep_supervision_weights


def test_weights_halve_drop_the_coarsest_and_sum_to_one() -> None:
    # raw 1, 1/2, 1/4, 0 -> sum 7/4
    assert deep_supervision_weights(4) == pytest.approx([4 / 7, 2 / 7, 1 / 7, 0.0])
    assert deep_supervision_weights(2) == pytest.approx([1.0, 0.0])
    assert deep_supervision_weights(1) == [1.0]


def test_loss_over_three_outputs_by_hand() -> None:
    target = torch.zeros(1, 1, 4, 4)
    target[0, 0, 1, 1] = 1  # kept by nearest down-sampling to 2 x 2 (it samples rows/columns 1 and 3)
    target[0, 0, 0, 2] = 1  # dropped by it (a max-pool would keep it)
    full = torch.zeros(1, 1, 4, 4)  # p = 0.5 everywhere: BCE log 2 whatever the target
    half = torch.full((1, 1, 2, 2), 2.0)
    coarsest = torch.full((1, 1, 1, 1), 50.0)  # weight 0: must not count
    # weights 1, 1/2, 0 -> 2/3, 1/3, 0; half-res target [[1, 0], [0, 0]]:
    # one pixel -log(sigmoid(2)) = log(1 + e^-2), three pixels -log(1 - sigmoid(2)) = log(1 + e^2)
    half_bce = (math.log(1 + math.exp(-2)) + 3 * math.log(1 + math.exp(2))) / 4
    expected = 2 / 3 * math.log(2) + 1 / 3 * half_bce
    loss = DeepSupervisionLoss(build_loss("bce"))
    assert float(loss([full, half, coarsest], target)) == pytest.approx(expected, rel=1e-6)
    assert float(loss([full, half, -coarsest], target)) == pytest.approx(expected, rel=1e-6)


def test_a_single_output_is_the_plain_loss() -> None:
    g = torch.Generator().manual_seed(0)
    logits, target = torch.randn(2, 1, 8, 8, generator=g), (torch.rand(2, 1, 8, 8, generator=g) > 0.5).float()
    base = build_loss("bce_dice")
    assert float(DeepSupervisionLoss(base)(logits, target)) == pytest.approx(float(base(logits, target)))
    # a list of one output is the plain loss too
    assert float(DeepSupervisionLoss(base)([logits], target)) == pytest.approx(float(base(logits, target)))


def test_down_sampled_masks_stay_binary_and_gradients_reach_every_weighted_output() -> None:
    target = (torch.rand(2, 1, 16, 16) > 0.5).float()
    seen: list[torch.Tensor] = []

    class Recording(torch.nn.Module):
        def forward(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            seen.append(mask)
            return torch.nn.functional.binary_cross_entropy_with_logits(logits, mask)

    outputs = [torch.zeros(2, 1, s, s, requires_grad=True) for s in (16, 8, 4)]
    DeepSupervisionLoss(Recording())(outputs, target).backward()
    assert [tuple(m.shape[-2:]) for m in seen] == [(16, 16), (8, 8)]  # the coarsest (weight 0) is skipped
    assert all(set(m.unique().tolist()) <= {0.0, 1.0} for m in seen)
    assert outputs[0].grad.abs().sum() > 0 and outputs[1].grad.abs().sum() > 0
    assert outputs[2].grad is None
