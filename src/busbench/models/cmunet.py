"""CMU-Net: F. Tang, L. Wang, C. Ning, M. Xian, J. Ding, "CMU-Net: A strong ConvMixer-based
medical ultrasound image segmentation network", ISBI 2023 (arXiv:2210.13012).

A U-Net (widths 64-1024) whose bottleneck adds 7 ConvMixer layers (residual 7x7 depthwise conv +
GELU + BN, then 1x1 conv + GELU + BN), and whose skip connections pass through multi-scale
attention gates (MSAG: pointwise, 3x3 and dilated 3x3 branches voted by a 1x1 conv into a sigmoid
map; x + x * map). 49.93 M parameters.

Initialisation: the official code (FengheTan9/CMU-Net, src/network/CMUNet.py) has no initialisation of
its own, so PyTorch's defaults are kept.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from busbench.models.blocks import DoubleConv, UNetEncoder, UpConv
from busbench.models.entry import InputSides, Published
from busbench.models.registry import register_model


class Residual(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def conv_gelu_bn(c_in: int, c_out: int, kernel: int = 1, groups: int = 1) -> nn.Sequential:
    """Convolution, GELU, batch norm: the ConvMixer / ConvNeXt-style unit (in that order)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, groups=groups), nn.GELU(),
                         nn.BatchNorm2d(c_out))


def convmixer_layer(channels: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(Residual(conv_gelu_bn(channels, channels, kernel, groups=channels)),
                         conv_gelu_bn(channels, channels))


class MultiScaleAttentionGate(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()

        def branch(kernel: int, dilation: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(channels, channels, kernel, padding=dilation * (kernel // 2),
                                           dilation=dilation), nn.BatchNorm2d(channels))

        self.pointwise, self.ordinary, self.dilated = branch(1, 1), branch(3, 1), branch(3, 2)
        self.vote = nn.Sequential(nn.Conv2d(3 * channels, channels, 1), nn.BatchNorm2d(channels), nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        mixed = torch.relu(torch.cat([self.pointwise(x), self.ordinary(x), self.dilated(x)], dim=1))
        return x + x * self.vote(mixed)


@register_model("cmunet", display_name="CMU-Net", paper="Tang et al., ISBI 2023",
                published=Published(49.93, "CMUNeXt benchmark table (Tang et al., ISBI 2024)"),
                sides=InputSides(minimum=16, multiple=16), test_kwargs={"base_channels": 8, "mixer_layers": 1})
class CMUNet(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 1, base_channels: int = 64, mixer_layers: int = 7,
                 mixer_kernel: int = 7) -> None:
        super().__init__()
        self.encoder = UNetEncoder(in_channels, base_channels)
        widths = self.encoder.widths
        self.mixer = nn.Sequential(*(convmixer_layer(widths[4], mixer_kernel) for _ in range(mixer_layers)))
        self.gates = nn.ModuleList(MultiScaleAttentionGate(w) for w in widths[:4])
        levels = list(reversed(range(4)))
        self.ups = nn.ModuleList(UpConv(widths[i + 1], widths[i]) for i in levels)
        self.decoders = nn.ModuleList(DoubleConv(2 * widths[i], widths[i]) for i in levels)
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = self.encoder(x)
        x = self.mixer(skips.pop())
        skips = [gate(s) for gate, s in zip(self.gates, skips)]
        for up, decoder in zip(self.ups, self.decoders):
            x = decoder(torch.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)
