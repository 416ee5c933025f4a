"""Swin-Unet: H. Cao et al., "Swin-Unet: Unet-like pure transformer for medical image
segmentation", ECCV Workshops 2022 (arXiv:2105.05537); the Swin-T configuration.

4x4 patch embedding to 96 channels, four encoder stages of two Swin Transformer blocks (window 7,
heads 3-6-12-24, MLP ratio 4, relative position bias, shifted windows in every second block) with
patch merging between them, then a symmetric decoder: patch expanding (a linear layer doubling the
channels, rearranged into a 2x larger map), skip concatenation and a linear layer back to the
stage width, two Swin blocks per stage, and a final x4 patch expanding before a 1x1 head.
27.1 M parameters. Where a stage is not a whole number of windows, it is zero-padded to one (as
Swin's detection code does), so any input divisible by 32 works, 256 px included; a window larger
than the stage shrinks to the stage and is not shifted, as in the reference.

Initialisation as the official code (HuCaoFighting/Swin-Unet, SwinTransformerSys._init_weights): every
linear layer truncated normal (std 0.02, bias 0), layer norms 1 and 0, the relative position bias
tables truncated normal (std 0.02); the two convolutions (patch embedding, head) keep PyTorch's defaults.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from busbench.models.entry import InputSides, Published
from busbench.models.init import vit_init
from busbench.models.registry import register_model


def relative_position_index(window: int, table_window: int) -> Tensor:
    """Index into a (2 * table_window - 1)**2 bias table for every pair of positions in a window."""
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + table_window - 1
    return relative[..., 0] * (2 * table_window - 1) + relative[..., 1]


class WindowAttention(nn.Module):
    relative_index: Tensor  # a buffer

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_index", relative_position_index(window, window), persistent=False)

    def forward(self, x: Tensor, window: int, mask: Tensor | None) -> Tensor:
        """``x``: (windows*B, window*window, dim); ``mask``: (windows, N, N) of 0 / -100 or None."""
        bw, n, c = x.shape
        q, k, v = self.qkv(x).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attention = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self._index(window).reshape(-1)].reshape(n, n, -1)
        attention = attention + bias.permute(2, 0, 1)[None]
        if mask is not None:
            windows = mask.shape[0]
            attention = attention.view(bw // windows, windows, self.heads, n, n) + mask[None, :, None]
            attention = attention.view(bw, self.heads, n, n)
        return self.proj((attention.softmax(-1) @ v).transpose(1, 2).reshape(bw, n, c))

    def _index(self, window: int) -> Tensor:
        if window == self.window:
            return self.relative_index
        return relative_position_index(window, self.window).to(self.relative_index.device)


def _windows(x: Tensor, w: int) -> Tensor:
    b, h, wd, c = x.shape
    return x.view(b, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, c)


def _merge_windows(x: Tensor, w: int, b: int, h: int, wd: int) -> Tensor:
    return x.view(b, h // w, wd // w, w, w, -1).permute(0, 1, 3, 2, 4, 5).reshape(b, h, wd, -1)


def _shift_mask(h: int, w: int, window: int, shift: int, device: torch.device) -> Tensor:
    """Attention mask keeping shifted windows from mixing regions that were not adjacent."""
    region = torch.zeros(1, h, w, 1, device=device)
    label = 0
    for rows in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
        for cols in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
            region[:, rows, cols, :] = label
            label += 1
    windows = _windows(region, window).squeeze(-1)
    difference = windows[:, None, :] - windows[:, :, None]
    return difference.masked_fill(difference != 0, -100.0).masked_fill(difference == 0, 0.0)


class SwinBlock(nn.Module):
    def __init__(self, dim: int, heads: int, window: int, shifted: bool, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.window, self.shifted = window, shifted
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(), nn.Linear(int(dim * mlp_ratio), dim))

    def forward(self, x: Tensor) -> Tensor:
        """``x``: (B, H, W, C)."""
        b, h, w, _ = x.shape
        window = min(self.window, h, w)
        shift = window // 2 if self.shifted and min(h, w) > self.window else 0
        y = self.norm1(x)
        pad_h, pad_w = (-h) % window, (-w) % window
        y = F.pad(y, (0, 0, 0, pad_w, 0, pad_h))
        hp, wp = h + pad_h, w + pad_w
        mask = None
        if shift:
            y = torch.roll(y, (-shift, -shift), dims=(1, 2))
            mask = _shift_mask(hp, wp, window, shift, x.device)
        y = _merge_windows(self.attn(_windows(y, window), window, mask), window, b, hp, wp)
        if shift:
            y = torch.roll(y, (shift, shift), dims=(1, 2))
        x = x + y[:, :h, :w]
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduction(self.norm(x))


class PatchExpand(nn.Module):
    """Linear expansion of the channels by ``scale``**2 / ``shrink``, rearranged into a ``scale``x larger map."""

    def __init__(self, dim: int, scale: int, out_dim: int) -> None:
        super().__init__()
        self.scale, self.out_dim = scale, out_dim
        self.expand = nn.Linear(dim, scale * scale * out_dim, bias=False)
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, x: Tensor) -> Tensor:
        b, h, w, _ = x.shape
        s = self.scale
        x = self.expand(x).view(b, h, w, s, s, self.out_dim).permute(0, 1, 3, 2, 4, 5)
        return self.norm(x.reshape(b, h * s, w * s, self.out_dim))


@register_model("swin_unet", display_name="Swin-Unet", paper="Cao et al., ECCV Workshops 2022 (Swin-T)",
                published=Published(27.14, "CMUNeXt benchmark table (Tang et al., ISBI 2024)"),
                sides=InputSides(minimum=32, multiple=32), test_kwargs={"embed_dim": 12, "heads": (1, 1, 2, 2)})
class SwinUnet(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 1, embed_dim: int = 96,
                 depths: tuple[int, ...] = (2, 2, 2, 2), heads: tuple[int, ...] = (3, 6, 12, 24), window: int = 7
                 ) -> None:
        super().__init__()
        dims = [embed_dim * 2**i for i in range(len(depths))]
        self.patch_embed = nn.Conv2d(in_channels, embed_dim, 4, stride=4)
        self.patch_norm = nn.LayerNorm(embed_dim)

        def stage(i: int) -> nn.Sequential:
            return nn.Sequential(*(SwinBlock(dims[i], heads[i], window, shifted=j % 2 == 1) for j in range(depths[i])))

        self.encoder = nn.ModuleList(stage(i) for i in range(len(depths)))
        self.merges = nn.ModuleList(PatchMerging(d) for d in dims[:-1])
        self.bottleneck_norm = nn.LayerNorm(dims[-1])
        up = list(reversed(range(len(depths) - 1)))
        self.expands = nn.ModuleList(PatchExpand(dims[i + 1], 2, dims[i]) for i in up)
        self.concat_back = nn.ModuleList(nn.Linear(2 * dims[i], dims[i]) for i in up)
        self.decoder = nn.ModuleList(stage(i) for i in up)
        self.decoder_norm = nn.LayerNorm(embed_dim)
        self.final_expand = PatchExpand(embed_dim, 4, embed_dim)
        self.head = nn.Conv2d(embed_dim, num_classes, 1, bias=False)
        vit_init(self, convs=False)

    def forward(self, x: Tensor) -> Tensor:
        x = self.patch_norm(self.patch_embed(x).permute(0, 2, 3, 1))
        skips = []
        for i, stage in enumerate(self.encoder):
            skips.append(x)
            x = stage(x)
            if i < len(self.merges):
                x = self.merges[i](x)
        x = self.bottleneck_norm(x)
        for expand, concat, stage, skip in zip(self.expands, self.concat_back, self.decoder, reversed(skips[:-1])):
            x = stage(concat(torch.cat([expand(x), skip], dim=-1)))
        x = self.final_expand(self.decoder_norm(x))
        return self.head(x.permute(0, 3, 1, 2))
