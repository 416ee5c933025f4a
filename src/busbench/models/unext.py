"""UNeXt: J. M. J. Valanarasu, V. M. Patel, "UNeXt: MLP-based rapid medical image segmentation
network", MICCAI 2022.

Three convolutional stages (3x3 conv + BN + max pool + ReLU; 16, 32, 128 channels), then two
tokenized-MLP stages: an overlapping 3x3 stride-2 patch embedding (160 and 256 channels) and a
shifted-MLP block. The block shifts five channel groups by -2..2 pixels along the height, applies
a token-wise linear layer, a 3x3 depthwise conv and GELU, shifts along the width, and applies a
second linear layer, with a residual connection. The decoder mirrors it with additive skips and
bilinear upsampling. 1.47 M parameters; the input side must be a multiple of 32.

Initialisation as the official code (jeya-maria-jose/UNeXt-pytorch, archs.py: ``_init_weights`` of
shiftmlp, shiftedBlock and OverlapPatchEmbed): in the tokenized stages and the shifted-MLP blocks,
linear layers truncated normal (std 0.02), layer norms 1 and 0, the patch-embedding and depthwise
convolutions normal with std sqrt(2 / fan_out) (``busbench.models.init.vit_init``); the
convolutional stages keep PyTorch's defaults, as there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from busbench.models.entry import InputSides, Published
from busbench.models.init import vit_init
from busbench.models.registry import register_model

SHIFT_GROUPS = 5


def shift_groups(x: Tensor, dim: int) -> Tensor:
    """Shift channel group i of ``x`` (B, C, H, W) by i - 2 pixels along ``dim``, zero-filled."""
    pad = SHIFT_GROUPS // 2
    moved = []
    for offset, chunk in zip(range(-pad, pad + 1), torch.chunk(x, SHIFT_GROUPS, dim=1)):
        if offset == 0:
            moved.append(chunk)
            continue
        shifted = torch.roll(chunk, offset, dims=dim)
        index = torch.arange(chunk.shape[dim], device=x.device)
        valid = (index >= offset) if offset > 0 else (index < chunk.shape[dim] + offset)
        shape = [1, 1, 1, 1]
        shape[dim] = -1
        moved.append(shifted * valid.view(shape).to(chunk.dtype))
    return torch.cat(moved, dim=1)


def layer_norm_2d(norm: nn.Module, x: Tensor) -> Tensor:
    return norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ShiftedMLPBlock(nn.Module):
    """LayerNorm, then shift(H) -> linear -> depthwise conv -> GELU -> shift(W) -> linear, residual."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, dim)
        self.dwconv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.fc2 = nn.Linear(dim, dim)
        vit_init(self)

    def forward(self, x: Tensor) -> Tensor:
        y = layer_norm_2d(self.norm, x)
        y = self.fc1(shift_groups(y, 2).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        y = F.gelu(self.dwconv(y))
        y = self.fc2(shift_groups(y, 3).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return x + y


class TokenizedStage(nn.Module):
    """Overlapping patch embedding (3x3, stride 2) + LayerNorm, a shifted-MLP block, LayerNorm."""

    def __init__(self, c_in: int, dim: int) -> None:
        super().__init__()
        self.embed = nn.Conv2d(c_in, dim, 3, stride=2, padding=1)
        self.embed_norm = nn.LayerNorm(dim)
        self.block = ShiftedMLPBlock(dim)
        self.norm = nn.LayerNorm(dim)
        vit_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return layer_norm_2d(self.norm, self.block(layer_norm_2d(self.embed_norm, self.embed(x))))


@register_model("unext", display_name="UNeXt", paper="Valanarasu & Patel, MICCAI 2022",
                published=Published(1.47, "CMUNeXt benchmark table (Tang et al., ISBI 2024)"),
                sides=InputSides(minimum=32, multiple=32))
class UNeXt(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 1, widths: tuple[int, int, int] = (16, 32, 128),
                 embed_dims: tuple[int, int] = (160, 256)) -> None:
        super().__init__()
        c1, c2, c3 = widths
        e1, e2 = embed_dims
        self.encoders = nn.ModuleList(
            nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o)) for i, o in ((in_channels, c1), (c1, c2),
                                                                                         (c2, c3))
        )
        self.token1 = TokenizedStage(c3, e1)
        self.token2 = TokenizedStage(e1, e2)
        self.decoders = nn.ModuleList(
            nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o)) for i, o in ((e2, e1), (e1, c3), (c3, c2),
                                                                                         (c2, c1))
        )
        self.decoder_blocks = nn.ModuleList([ShiftedMLPBlock(e1), ShiftedMLPBlock(c3)])
        self.decoder_norms = nn.ModuleList([nn.LayerNorm(e1), nn.LayerNorm(c3)])
        self.last = nn.Conv2d(c1, c1, 3, padding=1)
        self.head = nn.Conv2d(c1, num_classes, 1)

    @staticmethod
    def _up(x: Tensor) -> Tensor:
        return F.relu(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for encoder in self.encoders:
            x = F.relu(F.max_pool2d(encoder(x), 2))
            skips.append(x)
        x = self.token1(x)
        skips.append(x)
        x = self.token2(x)
        for i, decoder in enumerate(self.decoders):
            x = self._up(decoder(x)) + skips.pop()
            if i < 2:
                x = layer_norm_2d(self.decoder_norms[i], self.decoder_blocks[i](x))
        return self.head(self._up(self.last(x)))
