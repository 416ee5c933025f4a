"""U-Net 3+: H. Huang et al., "UNet 3+: A full-scale connected UNet for medical image
segmentation", ICASSP 2020.

Encoder of U-Net blocks (widths 64-1024). Every decoder stage receives all five scales: finer
encoder features max-pooled down, the same-scale encoder feature, and coarser decoder features
bilinearly upsampled, each mapped to 64 channels by a 3x3 conv + BN + ReLU; the 5 x 64 = 320
channels are fused by another 3x3 conv + BN + ReLU. A 3x3 head follows (26.97 M parameters).

Initialisation as the official code (ZJUGiveLab/UNet-Version, models/UNet_3Plus.py with
init_weights.py, init_type 'kaiming'): every convolution He-normal (fan in, gain sqrt(2)), its bias
PyTorch's default; batch-norm weights normal(1, 0.02), biases 0. (The Awesome-BUS copy comments these
calls out.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from busbench.models.blocks import ConvBNReLU, UNetEncoder
from busbench.models.entry import InputSides, Published
from busbench.models.init import HeInit, he_init
from busbench.models.registry import register_model


@register_model("unet3plus", display_name="U-Net 3+", paper="Huang et al., ICASSP 2020",
                published=Published(26.97, "CMUNeXt benchmark table (Tang et al., ISBI 2024)"),
                sides=InputSides(minimum=16, multiple=8), test_kwargs={"base_channels": 8})
class UNet3Plus(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 1, base_channels: int = 64) -> None:
        super().__init__()
        self.encoder = UNetEncoder(in_channels, base_channels)
        widths = self.encoder.widths
        cat, fused = base_channels, base_channels * 5
        # stage d (3 down to 0) takes encoder levels 0..d and decoder levels d+1..4 (level 4 = encoder bottom)
        self.branches = nn.ModuleList()
        self.fusions = nn.ModuleList()
        for stage in reversed(range(4)):
            sources = [widths[level] for level in range(stage + 1)]
            sources += [fused if level < 4 else widths[4] for level in range(stage + 1, 5)]
            self.branches.append(nn.ModuleList(ConvBNReLU(c, cat) for c in sources))
            self.fusions.append(ConvBNReLU(fused, fused))
        self.head = nn.Conv2d(fused, num_classes, 3, padding=1)
        he_init(self, HeInit(zero_bias=False, batch_norm_std=0.02))

    def forward(self, x: Tensor) -> Tensor:
        encoded = self.encoder(x)
        decoded: dict[int, Tensor] = {4: encoded[4]}
        for stage, branches, fusion in zip(reversed(range(4)), self.branches, self.fusions):
            size = encoded[stage].shape[-2:]
            parts = []
            for level, branch in enumerate(branches.children()):
                if level <= stage:
                    feature = encoded[level]
                    if level < stage:
                        feature = F.max_pool2d(feature, 2 ** (stage - level), ceil_mode=True)
                else:
                    feature = F.interpolate(decoded[level], size=size, mode="bilinear", align_corners=False)
                parts.append(branch(feature))
            decoded[stage] = fusion(torch.cat(parts, dim=1))
        return self.head(decoded[0])
