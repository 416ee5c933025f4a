"""U-Net: O. Ronneberger, P. Fischer, T. Brox, "U-Net: Convolutional networks for biomedical image
segmentation", MICCAI 2015.

The variant BUS benchmarks report (34.53 M parameters, e.g. the CMU-Net and CMUNeXt papers):
widths 64-128-256-512-1024, each stage two 3x3 convolutions with batch norm and ReLU, 2x2 max
pooling, decoder steps of x2 upsampling plus a 3x3 convolution, skip concatenation, 1x1 head.
Padding keeps the output the size of the input, which must be divisible by 16.

Initialisation: the benchmark code bases' U-Net (CMU-Net's, CMUNeXt's benchmark, Awesome-BUS's
src/models/cnn_based/UNet.py) has no initialisation of its own, so PyTorch's defaults are kept.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from busbench.models.blocks import DoubleConv, UNetEncoder, UpConv
from busbench.models.entry import InputSides, Published
from busbench.models.registry import register_model


@register_model("unet", display_name="U-Net", paper="Ronneberger et al., MICCAI 2015",
                published=Published(34.53, "CMUNeXt (Tang et al., ISBI 2024), Table 1"),
                sides=InputSides(minimum=16, multiple=16), test_kwargs={"base_channels": 8})
class UNet(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 1, base_channels: int = 64) -> None:
        super().__init__()
        self.encoder = UNetEncoder(in_channels, base_channels)
        widths = self.encoder.widths
        self.ups = nn.ModuleList([UpConv(widths[i + 1], widths[i]) for i in reversed(range(4))])
        self.decoders = nn.ModuleList([DoubleConv(2 * widths[i], widths[i]) for i in reversed(range(4))])
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        skips = self.encoder(x)
        x = skips.pop()
        for up, decoder in zip(self.ups, self.decoders):
            x = decoder(torch.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)
