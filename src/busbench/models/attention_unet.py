"""Attention U-Net: O. Oktay et al., "Attention U-Net: Learning where to look for the pancreas",
MIDL 2018 (arXiv:1804.03999).

U-Net (widths 64-1024, see ``unet``) whose skip features pass through additive attention gates
before concatenation: gate = sigmoid(psi(relu(W_g g + W_x x))), with g the decoder feature at the
same scale and an intermediate width of half the skip width, as in the benchmark code bases
(34.87 M parameters).

Initialisation: the benchmark code bases' Attention U-Net (Awesome-BUS's
src/models/cnn_based/AttUNet.py) has no initialisation of its own, so PyTorch's defaults are kept.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from busbench.models.blocks import DoubleConv, UNetEncoder, UpConv
from busbench.models.entry import InputSides, Published
from busbench.models.registry import register_model


class AttentionGate(nn.Module):
    def __init__(self, gate_channels: int, skip_channels: int, inner_channels: int) -> None:
        super().__init__()
        self.w_gate = nn.Sequential(nn.Conv2d(gate_channels, inner_channels, 1), nn.BatchNorm2d(inner_channels))
        self.w_skip = nn.Sequential(nn.Conv2d(skip_channels, inner_channels, 1), nn.BatchNorm2d(inner_channels))
        self.psi = nn.Sequential(nn.Conv2d(inner_channels, 1, 1), nn.BatchNorm2d(1), nn.Sigmoid())

    def forward(self, gate: Tensor, skip: Tensor) -> Tensor:
        return skip * self.psi(torch.relu(self.w_gate(gate) + self.w_skip(skip)))


@register_model("attention_unet", display_name="Attention U-Net", paper="Oktay et al., MIDL 2018",
                published=Published(34.87, "CMUNeXt benchmark table (Tang et al., ISBI 2024)"),
                sides=InputSides(minimum=16, multiple=16), test_kwargs={"base_channels": 8})
class AttentionUNet(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 1, base_channels: int = 64) -> None:
        super().__init__()
        self.encoder = UNetEncoder(in_channels, base_channels)
        widths = self.encoder.widths
        levels = list(reversed(range(4)))
        self.ups = nn.ModuleList(UpConv(widths[i + 1], widths[i]) for i in levels)
        self.gates = nn.ModuleList(AttentionGate(widths[i], widths[i], widths[i] // 2) for i in levels)
        self.decoders = nn.ModuleList(DoubleConv(2 * widths[i], widths[i]) for i in levels)
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = self.encoder(x)
        x = skips.pop()
        for up, gate, decoder in zip(self.ups, self.gates, self.decoders):
            x = up(x)
            x = decoder(torch.cat([gate(x, skips.pop()), x], dim=1))
        return self.head(x)
