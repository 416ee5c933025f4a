"""U-Net++: Z. Zhou, M. M. Rahman Siddiquee, N. Tajbakhsh, J. Liang, "UNet++: A nested U-Net
architecture for medical image segmentation", DLMIA/MICCAI workshops 2018.

The paper's configuration: a five-level encoder of VGG blocks (two 3x3 conv + BN + ReLU) with
widths 32-64-128-256-512, and dense nested skip pathways: node X(i, j) concatenates X(i, 0..j-1)
with the upsampled X(i+1, j-1). Deep supervision is optional; with it, the output is the mean of
the four top-level heads. The paper reports 9.04 M parameters (its Table 1). Some BUS benchmarks
list a ResNet-34-encoder "U-Net++" of 26.90 M instead; that is not the paper's network.

Initialisation: the benchmark code bases' U-Net++ (Awesome-BUS's
src/models/cnn_based/UNetplus.py) has no initialisation of its own, so PyTorch's defaults are kept.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from busbench.models.blocks import DoubleConv
from busbench.models.entry import InputSides, Published
from busbench.models.registry import register_model


@register_model("unet_plus_plus", display_name="U-Net++", paper="Zhou et al., DLMIA 2018",
                published=Published(9.04, "Zhou et al. 2018, Table 1 (UNet++)"),
                sides=InputSides(minimum=16, multiple=16), test_kwargs={"base_channels": 4})
class UNetPlusPlus(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 1, base_channels: int = 32,
                 deep_supervision: bool = False) -> None:
        super().__init__()
        widths = [base_channels * 2**i for i in range(5)]
        self.deep_supervision = deep_supervision
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.nodes = nn.ModuleDict()
        for level in range(5):
            for depth in range(5 - level):
                if depth == 0:
                    c_in = in_channels if level == 0 else widths[level - 1]
                else:
                    c_in = widths[level] * depth + widths[level + 1]
                self.nodes[f"{level}_{depth}"] = DoubleConv(c_in, widths[level])
        n_heads = 4 if deep_supervision else 1
        self.heads = nn.ModuleList(nn.Conv2d(widths[0], num_classes, 1) for _ in range(n_heads))

    def forward(self, x: Tensor) -> Tensor:
        grid: dict[tuple[int, int], Tensor] = {}
        for level in range(5):
            grid[level, 0] = self.nodes[f"{level}_0"](x if level == 0 else self.pool(grid[level - 1, 0]))
        for depth in range(1, 5):
            for level in range(5 - depth):
                inputs = [grid[level, j] for j in range(depth)] + [self.up(grid[level + 1, depth - 1])]
                grid[level, depth] = self.nodes[f"{level}_{depth}"](torch.cat(inputs, dim=1))
        if self.deep_supervision:
            return torch.stack([head(grid[0, d + 1]) for d, head in enumerate(self.heads)]).mean(0)
        return self.heads[0](grid[0, 4])
