"""Losses: known values, agreement between related losses, behaviour on empty masks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from busbench.errors import BusbenchError
from busbench.losses import LOSSES, build_loss, lovasz_grad


def _batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    target = (torch.rand(3, 1, 16, 16, generator=g) > 0.7).float()
    target[2] = 0  # a normal image
    return torch.randn(3, 1, 16, 16, generator=g), target


@pytest.mark.parametrize("name", LOSSES.names())
def test_perfect_prediction_beats_wrong_and_gradients_are_finite(name: str) -> None:
    _, target = _batch()
    loss_fn = build_loss(name)
    perfect = (target * 2 - 1) * 12
    perfect.requires_grad_(True)
    value = loss_fn(perfect, target)
    value.backward()
    assert torch.isfinite(perfect.grad).all()
    assert float(value.detach()) < float(loss_fn(-perfect.detach(), target))
    assert float(value.detach()) < 0.05


def test_bce_dice_and_focal_reduce_to_known_losses() -> None:
    logits, target = _batch(1)
    bce = F.binary_cross_entropy_with_logits(logits, target)
    assert float(build_loss("bce")(logits, target)) == pytest.approx(float(bce))
    assert float(build_loss("focal", gamma=0.0, alpha=None)(logits, target)) == pytest.approx(float(bce), rel=1e-6)
    dice = build_loss("dice")(logits, target)
    combined = build_loss("bce_dice", bce_weight=0.3, dice_weight=0.7)(logits, target)
    assert float(combined) == pytest.approx(0.3 * float(bce) + 0.7 * float(dice), rel=1e-6)


def test_dice_loss_by_hand() -> None:
    target = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    logits = torch.full_like(target, 0.0)  # probabilities 0.5
    expected = 1 - (2 * 0.5 + 1) / (2.0 + 1.0 + 1)
    assert float(build_loss("dice")(logits, target)) == pytest.approx(expected)


def test_tversky_by_hand() -> None:
    target = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    logits = torch.tensor([[[[20.0, -20.0], [20.0, -20.0]]]])  # tp 1, fp 1, fn 1
    expected = 1 - (1 + 1) / (1 + 0.3 * 1 + 0.7 * 1 + 1)
    assert float(build_loss("tversky", alpha=0.3, beta=0.7)(logits, target)) == pytest.approx(expected, abs=1e-6)


def test_lovasz_grad_by_hand() -> None:
    # errors sorted; truth [1, 0, 1]: jaccard losses 1-(1/2), 1-(1/3), 1-(0/3) -> increments 0.5, 1/6, 1/3
    grad = lovasz_grad(torch.tensor([1.0, 0.0, 1.0]))
    assert grad.tolist() == pytest.approx([0.5, 1 / 6, 1 / 3])


def test_unknown_loss_and_bad_kwargs_are_named() -> None:
    with pytest.raises(BusbenchError, match="loss.name 'iou' is unknown"):
        build_loss("iou")
    with pytest.raises(BusbenchError, match="loss.kwargs for 'focal'"):
        build_loss("focal", beta=1)


def test_batch_dice_pools_the_batch_by_hand() -> None:
    # image 1: one lesion pixel predicted 0.5; image 2: empty mask, one pixel predicted 0.5, rest ~0
    target = torch.zeros(2, 1, 2, 2)
    target[0, 0, 0, 0] = 1
    logits = torch.full((2, 1, 2, 2), -30.0)
    logits[0, 0, 0, 0] = logits[1, 0, 0, 0] = 0.0
    smooth = 1e-5
    pooled = 1 - (2 * 0.5 + smooth) / (0.5 + 0.5 + 1 + smooth)  # overlap 0.5, predicted 1.0, true 1
    per_image = ((1 - (2 * 0.5 + smooth) / (0.5 + 1 + smooth)) + (1 - smooth / (0.5 + smooth))) / 2
    assert float(build_loss("dice", batch_dice=True, smooth=smooth)(logits, target)) == pytest.approx(pooled, rel=1e-5)
    assert float(build_loss("dice", smooth=smooth)(logits, target)) == pytest.approx(per_image, rel=1e-5)
    nnunet = build_loss("bce_dice", batch_dice=True, smooth=smooth)(logits, target)
    bce = F.binary_cross_entropy_with_logits(logits, target)
    assert float(nnunet) == pytest.approx(float(bce) + pooled, rel=1e-5)
