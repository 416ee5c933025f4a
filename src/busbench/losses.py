"""Segmentation losses on logits (N, 1, H, W) and 0/1 targets of the same shape.

Region losses (Dice, Tversky, Lovász) are computed per image and averaged, with smoothing 1 so
that normal images (empty masks) give a defined, low loss when the prediction is empty too.

* ``bce``: binary cross-entropy.
* ``dice``: 1 - soft Dice (Milletari et al., V-Net, 3DV 2016). ``batch_dice=True`` computes one
  Dice over the whole batch instead of one per image, and ``smooth`` replaces the smoothing 1.
* ``bce_dice``: ``bce_weight`` x BCE + ``dice_weight`` x Dice loss (``batch_dice``, ``smooth`` as
  for ``dice``). With ``batch_dice: true, smooth: 1.0e-5`` and weights 1:1 it is nnU-Net's Dice + CE:
  BCE on one logit z is the 2-class cross-entropy of logits (0, z), sigmoid(z) is that softmax's
  foreground probability, and nnU-Net's Dice leaves out the background class. nnU-Net minimises
  -Dice rather than 1 - Dice; the constant changes no gradient.
* ``focal``: Lin et al., "Focal loss for dense object detection", ICCV 2017 (gamma, alpha).
* ``tversky``: Salehi et al., MLMI 2017; alpha weighs false positives, beta false negatives.
* ``lovasz``: Lovász hinge, Berman et al., "The Lovász-Softmax loss", CVPR 2018.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from busbench.errors import BusbenchError
from busbench.registry import Registry

LOSSES: Registry[type[nn.Module]] = Registry("loss.name")  # loss.name's choices, in the schema's order
register_loss = LOSSES.register

SMOOTH = 1.0


def _flat(logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    return logits.flatten(1).float(), target.flatten(1).float()


@register_loss("bce")
class BCELoss(nn.Module):
    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits.float(), target.float())


@register_loss("dice")
class DiceLoss(nn.Module):
    def __init__(self, batch_dice: bool = False, smooth: float = SMOOTH) -> None:
        super().__init__()
        self.batch_dice, self.smooth = batch_dice, smooth

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        logits, target = _flat(logits, target)
        if self.batch_dice:  # the batch as one image: nnU-Net's choice for 2-D
            logits, target = logits.reshape(1, -1), target.reshape(1, -1)
        prob = torch.sigmoid(logits)
        overlap = (prob * target).sum(1)
        dice = (2 * overlap + self.smooth) / (prob.sum(1) + target.sum(1) + self.smooth)
        return (1 - dice).mean()


@register_loss("bce_dice")
class BCEDiceLoss(nn.Module):
    def __init__(self, bce_weight: float = 1.0, dice_weight: float = 1.0, batch_dice: bool = False,
                 smooth: float = SMOOTH) -> None:
        super().__init__()
        self.bce_weight, self.dice_weight = bce_weight, dice_weight
        self.dice = DiceLoss(batch_dice, smooth)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        bce = F.binary_cross_entropy_with_logits(logits.float(), target.float())
        dice: Tensor = self.dice(logits, target)
        return self.bce_weight * bce + self.dice_weight * dice


@register_loss("focal")
class FocalLoss(nn.Module):
    def __init__(self, gamma: float = 2.0, alpha: float | None = 0.25) -> None:
        super().__init__()
        self.gamma, self.alpha = gamma, alpha

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        logits, target = logits.float(), target.float()
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        p_true = torch.exp(-bce)
        loss = (1 - p_true) ** self.gamma * bce
        if self.alpha is not None:
            loss = loss * (self.alpha * target + (1 - self.alpha) * (1 - target))
        return loss.mean()


@register_loss("tversky")
class TverskyLoss(nn.Module):
    def __init__(self, alpha: float = 0.3, beta: float = 0.7) -> None:
        super().__init__()
        self.alpha, self.beta = alpha, beta

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        logits, target = _flat(logits, target)
        prob = torch.sigmoid(logits)
        tp = (prob * target).sum(1)
        fp = (prob * (1 - target)).sum(1)
        fn = ((1 - prob) * target).sum(1)
        return (1 - (tp + SMOOTH) / (tp + self.alpha * fp + self.beta * fn + SMOOTH)).mean()


def lovasz_grad(sorted_truth: Tensor) -> Tensor:
    """Gradient of the Lovász extension of the Jaccard loss w.r.t. errors sorted descending."""
    total = sorted_truth.sum()
    intersection = total - sorted_truth.cumsum(0)
    union = total + (1 - sorted_truth).cumsum(0)
    jaccard = 1.0 - intersection / union
    jaccard[1:] = jaccard[1:] - jaccard[:-1].clone()
    return jaccard


@register_loss("lovasz")
class LovaszHingeLoss(nn.Module):
    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        logits, target = _flat(logits, target)
        losses = []
        for image_logits, image_target in zip(logits, target):
            signs = 2 * image_target - 1
            errors = 1 - image_logits * signs
            errors_sorted, order = torch.sort(errors, descending=True)
            losses.append(torch.dot(F.relu(errors_sorted), lovasz_grad(image_target[order])))
        return torch.stack(losses).mean()


def build_loss(name: str, **kwargs: object) -> nn.Module:
    loss = LOSSES.get(name)
    try:
        return loss(**kwargs)
    except TypeError as exc:
        raise BusbenchError(f"loss.kwargs for {name!r}: {exc}") from exc
