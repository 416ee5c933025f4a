"""TransUNet: J. Chen et al., "TransUNet: Transformers make strong encoders for medical image
segmentation", arXiv:2102.04306 (2021); the R50-ViT-B/16 hybrid.

* CNN: a BiT-style ResNet-50 v2 trunk with weight-standardised convolutions and GroupNorm(32),
  units 3-4-9 (stride 16, 1024 channels), whose stride-2/4/8 features are the decoder's skips.
  Its max pool is padded (the reference pads features afterwards instead); no parameter differs.
* Transformer: 1x1 patch embedding of the stride-16 map to 768 channels, learned position
  embeddings (bilinearly resized when the input size differs from ``img_size``), 12 ViT-B layers
  (12 heads, MLP 3072, pre-norm), final LayerNorm.
* Cascaded upsampler: 3x3 conv to 512, then four x2 bilinear steps (256, 128, 64, 16 channels)
  with the three skips, and a 3x3 head.

105.3 M parameters at 256 px (the position embeddings depend on ``img_size``).

Initialisation as the official code (Beckschen/TransUNet, networks/vit_seg_modeling.py), which trains
from scratch when no ImageNet checkpoint is loaded: the MLP's linear layers Glorot-uniform with biases
normal(0, 1e-6) (Mlp._init_weights), the position embeddings zero, the attention's query, key, value and
output projections PyTorch's nn.Linear default (theirs are four nn.Linear), everything else PyTorch's
defaults.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from busbench.models.blocks import ConvBNReLU, DoubleConv
from busbench.models.entry import InputSides, Published
from busbench.models.registry import register_model


class StdConv2d(nn.Conv2d):
    """Convolution with weight standardisation (zero mean, unit variance per output filter)."""

    def forward(self, x: Tensor) -> Tensor:
        var, mean = torch.var_mean(self.weight, dim=(1, 2, 3), keepdim=True, unbiased=False)
        weight = (self.weight - mean) / torch.sqrt(var + 1e-5)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


def _gn(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(32, channels, eps=1e-6)


class Bottleneck(nn.Module):
    def __init__(self, c_in: int, c_out: int, c_mid: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1, self.gn1 = StdConv2d(c_in, c_mid, 1, bias=False), _gn(c_mid)
        self.conv2, self.gn2 = StdConv2d(c_mid, c_mid, 3, stride, 1, bias=False), _gn(c_mid)
        self.conv3, self.gn3 = StdConv2d(c_mid, c_out, 1, bias=False), _gn(c_out)
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(StdConv2d(c_in, c_out, 1, stride, bias=False), nn.GroupNorm(c_out, c_out))

    def forward(self, x: Tensor) -> Tensor:
        residual = x if self.shortcut is None else self.shortcut(x)
        y = F.relu(self.gn1(self.conv1(x)))
        y = F.relu(self.gn2(self.conv2(y)))
        return F.relu(residual + self.gn3(self.conv3(y)))


class ResNetV2Trunk(nn.Module):
    def __init__(self, in_channels: int, units: Sequence[int] = (3, 4, 9)) -> None:
        super().__init__()
        self.root = nn.Sequential(StdConv2d(in_channels, 64, 7, 2, 3, bias=False), _gn(64), nn.ReLU(inplace=True))
        self.pool = nn.MaxPool2d(3, 2, padding=1)
        stages, c_in = [], 64
        for i, n in enumerate(units):
            c_out, c_mid = 256 * 2**i, 64 * 2**i
            stages.append(nn.Sequential(*(Bottleneck(c_in if j == 0 else c_out, c_out, c_mid, 2 if j == 0 and i else 1)
                                          for j in range(n))))
            c_in = c_out
        self.stages = nn.ModuleList(stages)
        self.out_channels = c_in

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """The stride-16 map and the skips at strides 8, 4, 2."""
        root = self.root(x)
        skips = [root]
        x = self.pool(root)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i < len(self.stages) - 1:
                skips.append(x)
        return x, skips[::-1]


class TransformerLayer(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_dim: int, dropout: float) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(dim, eps=1e-6)
        self.attention = nn.MultiheadAttention(dim, heads, dropout=0.0, batch_first=True)
        self.ffn_norm = nn.LayerNorm(dim, eps=1e-6)
        expand, project = nn.Linear(dim, mlp_dim), nn.Linear(mlp_dim, dim)
        self.ffn = nn.Sequential(expand, nn.GELU(), nn.Dropout(dropout), project, nn.Dropout(dropout))
        for linear in (expand, project):
            nn.init.xavier_uniform_(linear.weight)
            nn.init.normal_(linear.bias, std=1e-6)
        # PyTorch's attention draws its packed projection Glorot-uniform with zero biases; the reference's
        # separate query, key and value nn.Linear layers have nn.Linear's default draw, fan in = dim
        nn.init.kaiming_uniform_(self.attention.in_proj_weight, a=math.sqrt(5))
        nn.init.uniform_(self.attention.in_proj_bias, -dim ** -0.5, dim ** -0.5)
        self.attention.out_proj.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        h = self.attention_norm(x)
        x = x + self.attention(h, h, h, need_weights=False)[0]
        return x + self.ffn(self.ffn_norm(x))


class CupBlock(nn.Module):
    def __init__(self, c_in: int, c_skip: int, c_out: int) -> None:
        super().__init__()
        self.convs = DoubleConv(c_in + c_skip, c_out, bias=False)

    def forward(self, x: Tensor, skip: Tensor | None) -> Tensor:
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
        return self.convs(x if skip is None else torch.cat([x, skip], dim=1))


@register_model("transunet", display_name="TransUNet", paper="Chen et al., arXiv:2102.04306 (2021), R50-ViT-B/16",
                published=Published(105.32, "CMUNeXt benchmark table (Tang et al., ISBI 2024), 256 px"),
                sides=InputSides(minimum=32, multiple=16),
                test_kwargs={"hidden": 48, "layers": 1, "heads": 2, "mlp_dim": 96, "units": (1, 1, 1)})
class TransUNet(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 1, img_size: int = 256, hidden: int = 768,
                 layers: int = 12, heads: int = 12, mlp_dim: int = 3072, dropout: float = 0.1,
                 units: tuple[int, int, int] = (3, 4, 9)) -> None:
        super().__init__()
        self.trunk = ResNetV2Trunk(in_channels, units)
        self.grid = img_size // 16
        self.patch_embedding = nn.Conv2d(self.trunk.out_channels, hidden, 1)
        self.position_embedding = nn.Parameter(torch.zeros(1, self.grid * self.grid, hidden))
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(TransformerLayer(hidden, heads, mlp_dim, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden, eps=1e-6)
        self.conv_more = ConvBNReLU(hidden, 512, bias=False)
        self.cup = nn.ModuleList([CupBlock(512, 512, 256), CupBlock(256, 256, 128), CupBlock(128, 64, 64),
                                  CupBlock(64, 0, 16)])
        self.head = nn.Conv2d(16, num_classes, 3, padding=1)

    def _positions(self, h: int, w: int) -> Tensor:
        if h == w == self.grid:
            return self.position_embedding
        grid = self.position_embedding.reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)
        resized = F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=False)
        return resized.flatten(2).transpose(1, 2)

    def forward(self, x: Tensor) -> Tensor:
        features, skips = self.trunk(x)
        tokens = self.patch_embedding(features)
        b, c, h, w = tokens.shape
        tokens = self.dropout(tokens.flatten(2).transpose(1, 2) + self._positions(h, w))
        for layer in self.layers:
            tokens = layer(tokens)
        x = self.conv_more(self.norm(tokens).transpose(1, 2).reshape(b, c, h, w))
        for block, skip in zip(self.cup, [*skips, None]):
            x = block(x, skip)
        return self.head(x)
