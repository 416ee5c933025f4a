"""CMUNeXt: F. Tang, J. Ding, L. Wang, C. Ning, S. K. Zhou, "CMUNeXt: An efficient medical image
segmentation network based on large kernel and skip fusion", ISBI 2024 (arXiv:2308.01239).

A stem conv, then five stages of CMUNeXt blocks (residual large-kernel depthwise conv + GELU + BN,
then an inverted bottleneck of 1x1 convs with 4x expansion) each followed by a 3x3 conv + BN +
ReLU to the stage width; max pooling between stages. Decoder: bilinear x2 upsampling + 3x3 conv,
concatenation with the skip, and a Skip-Fusion block (grouped 3x3 conv with 2 groups, then an
inverted bottleneck). Variants, as in the paper:

* ``cmunext``:   widths 16-32-128-160-256, depths 1-1-1-3-1, kernels 3-3-7-7-7 (3.14 M);
* ``cmunext_s``: widths 8-16-32-64-128,    depths 1-1-1-1-1, kernels 3-3-7-7-9;
* ``cmunext_l``: widths 32-64-128-256-512, depths 1-1-1-6-3, kernels 3-3-7-7-7.

Initialisation: the official code (FengheTan9/CMUNeXt, network/CMUNeXt.py) has no initialisation of its
own, so PyTorch's defaults are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from busbench.models.blocks import ConvBNReLU
from busbench.models.cmunet import Residual, conv_gelu_bn
from busbench.models.entry import InputSides, Published
from busbench.models.registry import register_model


def cmunext_layer(channels: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        Residual(conv_gelu_bn(channels, channels, kernel, groups=channels)),
        conv_gelu_bn(channels, channels * 4),
        conv_gelu_bn(channels * 4, channels),
    )


class CMUNeXtStage(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, depth: int, kernel: int) -> None:
        super().__init__(*(cmunext_layer(c_in, kernel) for _ in range(depth)), ConvBNReLU(c_in, c_out))


class SkipFusion(nn.Sequential):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(conv_gelu_bn(c_in, c_in, 3, groups=2), conv_gelu_bn(c_in, c_out * 4),
                         conv_gelu_bn(c_out * 4, c_out))


class CMUNeXt(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 1, widths: Sequence[int] = (16, 32, 128, 160, 256),
                 depths: Sequence[int] = (1, 1, 1, 3, 1), kernels: Sequence[int] = (3, 3, 7, 7, 7)) -> None:
        super().__init__()
        self.stem = ConvBNReLU(in_channels, widths[0])
        self.stages = nn.ModuleList(
            CMUNeXtStage(c_in, c_out, d, k)
            for c_in, c_out, d, k in zip([widths[0]] + list(widths[:-1]), widths, depths, kernels)
        )
        self.pool = nn.MaxPool2d(2)
        levels = list(reversed(range(4)))
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                          ConvBNReLU(widths[i + 1], widths[i]))
            for i in levels
        )
        self.fusions = nn.ModuleList(SkipFusion(2 * widths[i], widths[i]) for i in levels)
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        skips = []
        for i, stage in enumerate(self.stages):
            x = stage(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for up, fusion in zip(self.ups, self.fusions):
            x = fusion(torch.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)


@register_model("cmunext", display_name="CMUNeXt", paper="Tang et al., ISBI 2024",
                published=Published(3.14, "CMUNeXt benchmark table (Tang et al., ISBI 2024)"),
                sides=InputSides(minimum=16, multiple=16))
def cmunext(in_channels: int = 3, num_classes: int = 1) -> CMUNeXt:
    return CMUNeXt(in_channels, num_classes)


@register_model("cmunext_s", display_name="CMUNeXt-S", paper="Tang et al., ISBI 2024 (CMUNeXt-S)",
                sides=InputSides(minimum=16, multiple=16))
def cmunext_s(in_channels: int = 3, num_classes: int = 1) -> CMUNeXt:
    return CMUNeXt(in_channels, num_classes, (8, 16, 32, 64, 128), (1, 1, 1, 1, 1), (3, 3, 7, 7, 9))


@register_model("cmunext_l", display_name="CMUNeXt-L", paper="Tang et al., ISBI 2024 (CMUNeXt-L)",
                sides=InputSides(minimum=16, multiple=16))
def cmunext_l(in_channels: int = 3, num_classes: int = 1) -> CMUNeXt:
    return CMUNeXt(in_channels, num_classes, (32, 64, 128, 256, 512), (1, 1, 1, 6, 3), (3, 3, 7, 7, 7))
