"""Weight initialisation as the architectures' official code does it, applied when a model is built.

Each zoo model follows the initialisation of its authors' published code (named in its module's
docstring); where that code has none, the model keeps PyTorch's defaults and says so. Two patterns
recur and live here so that no model carries its own copy:

* ``vit_init``: the timm / PVT pattern of UNeXt, U-KAN and Swin-Unet: linear layers truncated normal
  (std 0.02, bias 0), layer norms 1 and 0, and (UNeXt, U-KAN) convolutions normal with std
  sqrt(2 / fan_out), fan_out = k * k * out_channels / groups, bias 0;
* ``he_init``: He et al. (ICCV 2015) initialisation of the convolutions (U-Net 3+, nnU-Net,
  torchvision's encoders, segmentation_models_pytorch's decoders), with the fan mode, negative
  slope, distribution and treatment of biases and batch norms of each code base.

Only parameters are drawn here, so the parameter counts do not change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

LINEAR_STD = 0.02  # timm's trunc_normal_(std=.02); its cut-off at +-2 (absolute) truncates nothing of note
CONVOLUTIONS = (nn.Conv2d, nn.ConvTranspose2d)


def fan_out_std(conv: nn.Conv2d) -> float:
    """sqrt(2 / fan_out) with fan_out = k_h * k_w * out_channels / groups, as UNeXt's ``_init_weights``."""
    fan_out = conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels // conv.groups
    return math.sqrt(2.0 / fan_out)


def vit_init(module: nn.Module, convs: bool = True) -> None:
    """Every Linear, LayerNorm (and with ``convs`` Conv2d) inside ``module``, as timm-style ``_init_weights``."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=LINEAR_STD)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif convs and isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, fan_out_std(m))
            if m.bias is not None:
                nn.init.zeros_(m.bias)


@dataclass(frozen=True)
class HeInit:
    """One official code's He initialisation.

    ``uniform``: He-uniform, else He-normal. ``zero_bias``: biases set to 0 (else PyTorch's default
    draw is kept). ``batch_norm_std``: batch-norm weights drawn around 1 with this std (U-Net 3+'s
    code: 0.02) and biases 0; 0 leaves them at 1 and 0. ``transposed``: transposed convolutions too
    (nnU-Net), else they keep PyTorch's default (smp).
    """

    negative_slope: float = 0.0
    mode: str = "fan_in"
    zero_bias: bool = True
    batch_norm_std: float = 0.0
    uniform: bool = False
    transposed: bool = True


def he_init(module: nn.Module, recipe: HeInit = HeInit()) -> None:
    """He-initialised convolutions (and transposed convolutions) inside ``module``, as ``recipe`` says."""
    kinds = CONVOLUTIONS if recipe.transposed else nn.Conv2d
    for m in module.modules():
        if isinstance(m, kinds):
            draw = nn.init.kaiming_uniform_ if recipe.uniform else nn.init.kaiming_normal_
            # gain sqrt(2 / (1 + slope^2))
            draw(m.weight, a=recipe.negative_slope, mode=recipe.mode)  # type: ignore[arg-type]
            if recipe.zero_bias and m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and recipe.batch_norm_std:
            nn.init.normal_(m.weight, 1.0, recipe.batch_norm_std)
            nn.init.zeros_(m.bias)


def xavier_init(module: nn.Module) -> None:
    """Glorot-uniform weights and zero biases for every Conv2d and Linear (smp's ``initialize_head``)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
