"""U-KAN: C. Li et al., "U-KAN makes strong backbone for medical image segmentation and
generation", AAAI 2025 (arXiv:2406.02918).

UNeXt's layout with Kolmogorov-Arnold layers in place of MLPs: three convolutional stages (double
3x3 conv + BN + ReLU, max pool; 16, 32, 128 channels for embed dims 128/160/256), two tokenized
KAN stages (overlapping 3x3 stride-2 patch embedding + LayerNorm, a KAN block, LayerNorm). A KAN
block is LayerNorm then three KAN linear layers, each followed by a 3x3 depthwise conv + BN +
ReLU, with a residual connection. The decoder mirrors it with additive skips, bilinear x2
upsampling, KAN blocks at the two token stages, and a 1x1 head; the input side must be a multiple
of 32. With embed dims 128/160/256 the official code (Seg_UKAN/archs.py) has 6.36 M parameters
counted layer by layer (KAN layers 3.99 M, convolutions and norms 2.37 M), as this has; a figure
of 9.38 M quoted for U-KAN could not be reproduced from the official configuration.

Initialisation as the official code (``_init_weights`` of KANLayer, KANBlock and PatchEmbed, UNeXt's):
in the KAN blocks and the patch embeddings, layer norms 1 and 0 and convolutions normal with std
sqrt(2 / fan_out) (``busbench.models.init.vit_init``); the KAN layers draw their own weights
(``busbench.models.kan``) and the convolutional stages keep PyTorch's defaults, as there.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from busbench.models.blocks import DoubleConv
from busbench.models.entry import InputSides, Published
from busbench.models.init import vit_init
from busbench.models.kan import KANLinear
from busbench.models.registry import register_model
from busbench.models.unext import layer_norm_2d


class KANBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.kans = nn.ModuleList(KANLinear(dim, dim) for _ in range(3))
        self.dwconvs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1, groups=dim), nn.BatchNorm2d(dim), nn.ReLU())
            for _ in range(3)
        )
        vit_init(self)

    def forward(self, x: Tensor) -> Tensor:
        y = layer_norm_2d(self.norm, x)
        for kan, dwconv in zip(self.kans, self.dwconvs):
            y = dwconv(kan(y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
        return x + y


class DecoderConv(nn.Sequential):
    """3x3 conv keeping the width, then a 3x3 conv to the output width, each with BN + ReLU."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(nn.Conv2d(c_in, c_in, 3, padding=1), nn.BatchNorm2d(c_in), nn.ReLU(inplace=True),
                         nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


@register_model("ukan", display_name="U-KAN", paper="Li et al., AAAI 2025",
                published=Published(6.36, "official code, embed dims 128/160/256, counted layer by layer"),
                sides=InputSides(minimum=32, multiple=32), test_kwargs={"embed_dims": (32, 40, 64)})
class UKAN(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 1, embed_dims: tuple[int, int, int] = (128, 160, 256)
                 ) -> None:
        super().__init__()
        e0, e1, e2 = embed_dims
        widths = (e0 // 8, e0 // 4, e0)
        self.encoders = nn.ModuleList(DoubleConv(i, o) for i, o in zip((in_channels, *widths[:2]), widths))
        self.embed1 = nn.Conv2d(e0, e1, 3, stride=2, padding=1)
        self.embed1_norm, self.block1, self.norm1 = nn.LayerNorm(e1), KANBlock(e1), nn.LayerNorm(e1)
        self.embed2 = nn.Conv2d(e1, e2, 3, stride=2, padding=1)
        self.embed2_norm, self.block2, self.norm2 = nn.LayerNorm(e2), KANBlock(e2), nn.LayerNorm(e2)
        self.decoders = nn.ModuleList(DecoderConv(i, o) for i, o in ((e2, e1), (e1, e0), (e0, widths[1]),
                                                                     (widths[1], widths[0]), (widths[0], widths[0])))
        self.decoder_blocks = nn.ModuleList([KANBlock(e1), KANBlock(e0)])
        self.decoder_norms = nn.ModuleList([nn.LayerNorm(e1), nn.LayerNorm(e0)])
        self.head = nn.Conv2d(widths[0], num_classes, 1)
        for patch_embedding in (self.embed1, self.embed1_norm, self.embed2, self.embed2_norm):
            vit_init(patch_embedding)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for encoder in self.encoders:
            x = F.relu(F.max_pool2d(encoder(x), 2))
            skips.append(x)
        x = layer_norm_2d(self.norm1, self.block1(layer_norm_2d(self.embed1_norm, self.embed1(x))))
        skips.append(x)
        x = layer_norm_2d(self.norm2, self.block2(layer_norm_2d(self.embed2_norm, self.embed2(x))))
        for i, decoder in enumerate(self.decoders):
            x = F.relu(F.interpolate(decoder(x), scale_factor=2, mode="bilinear", align_corners=False))
            if skips:
                x = x + skips.pop()
            if i < 2:
                x = layer_norm_2d(self.decoder_norms[i], self.decoder_blocks[i](x))
        return self.head(x)
