"""MedT: J. M. J. Valanarasu, P. Oza, I. Hacihaliloglu, V. M. Patel, "Medical Transformer: Gated
axial-attention for medical image segmentation", MICCAI 2021.

Two branches on the same image (local-global, "LoGo"):

* global: a conv stem (7x7 stride 2, 3x3 to 128, 3x3 back to 8 channels), then 1 + 2 gated
  axial-attention blocks and a shallow decoder;
* local: the same stem, 1-2-4-1 axial-attention blocks without positional terms, and a full
  decoder, run on each of the 4 x 4 patches of the image (batched together here);

their maps are added, then a 3x3 conv and a 1x1 head. A gated axial attention attends along the
height, then the width, with relative position embeddings on queries, keys and values, whose
contributions are scaled by learnable gates. Width factor s = 1/8, 8 heads. The relative
embeddings span a fixed length, so the model is built for one input size (``img_size``, at least
128 so that the local patches are 32 px, as in the reference).
Differences from the reference code, which do not change the computation: the gates are learnable
(the paper's design; the code freezes them at their initial values), and an unused 1x1 conv of the
code's local block is not built. About 1.4 M parameters.

Initialisation as the official code (jeya-maria-jose/Medical-Transformer, lib/models/axialnet.py,
reset_parameters): the qkv projections normal(0, sqrt(1 / channels)), the relative embeddings
normal(0, sqrt(1 / group channels)); everything else PyTorch's defaults (medt_net's module-wide
initialisation is commented out there).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from busbench.errors import BusbenchError
from busbench.models.entry import InputSides, Published
from busbench.models.registry import register_model

GROUPS = 8
EXPANSION = 2


class AxialAttention(nn.Module):
    """Multi-head attention along one axis (height, or width with ``along_width``)."""

    relative_index: Tensor  # a buffer, with ``positional``

    def __init__(self, channels: int, length: int, along_width: bool, positional: bool, stride: int = 1) -> None:
        super().__init__()
        self.channels, self.length, self.along_width, self.positional = channels, length, along_width, positional
        self.group_channels = channels // GROUPS
        self.qkv = nn.Conv1d(channels, 2 * channels, 1, bias=False)
        nn.init.normal_(self.qkv.weight, 0.0, (1.0 / channels) ** 0.5)
        self.bn_qkv = nn.BatchNorm1d(2 * channels)
        terms = 3 if positional else 1
        self.bn_similarity = nn.BatchNorm2d(terms * GROUPS)
        self.bn_output = nn.BatchNorm1d((2 if positional else 1) * channels)
        if positional:
            self.relative = nn.Parameter(torch.randn(2 * self.group_channels, 2 * length - 1)
                                         * (1.0 / self.group_channels) ** 0.5)
            index = torch.arange(length)[None, :] - torch.arange(length)[:, None] + length - 1
            self.register_buffer("relative_index", index.reshape(-1), persistent=False)
            # gates of the positional terms: query, key, value-embedding, value
            self.gates = nn.Parameter(torch.tensor([0.1, 0.1, 0.1, 1.0]))
        self.pool = nn.AvgPool2d(stride, stride) if stride > 1 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        lines = x.permute(0, 2, 1, 3) if self.along_width else x.permute(0, 3, 1, 2)  # (B, other, C, L)
        n, other, _, length = lines.shape
        if length != self.length and self.positional:
            raise BusbenchError(f"MedT was built for img_size giving {self.length}-long axes, got {length}; "
                                "set model.kwargs.img_size to input.size")
        qkv = self.bn_qkv(self.qkv(lines.reshape(n * other, c, length)))
        g = self.group_channels
        q, k, v = torch.split(qkv.reshape(n * other, GROUPS, 2 * g, length), [g // 2, g // 2, g], dim=2)
        qk = torch.einsum("bgci,bgcj->bgij", q, k)
        if self.positional:
            embeddings = self.relative[:, self.relative_index].reshape(2 * g, length, length)
            q_emb, k_emb, v_emb = torch.split(embeddings, [g // 2, g // 2, g], dim=0)
            qr = torch.einsum("bgci,cij->bgij", q, q_emb) * self.gates[0]
            kr = torch.einsum("bgci,cij->bgij", k, k_emb).transpose(2, 3) * self.gates[1]
            similarity = self.bn_similarity(torch.cat([qk, qr, kr], dim=1))
            similarity = similarity.view(n * other, 3, GROUPS, length, length).sum(dim=1)
        else:
            similarity = self.bn_similarity(qk)
        attention = similarity.softmax(dim=3)
        out = torch.einsum("bgij,bgcj->bgci", attention, v)
        if self.positional:
            out_emb = torch.einsum("bgij,cij->bgci", attention, v_emb) * self.gates[2]
            out = torch.cat([out * self.gates[3], out_emb], dim=-1)
            out = self.bn_output(out.reshape(n * other, 2 * c, length)).view(n, other, c, 2, length).sum(dim=-2)
        else:
            out = self.bn_output(out.reshape(n * other, c, length)).view(n, other, c, length)
        out = out.permute(0, 2, 1, 3) if self.along_width else out.permute(0, 2, 3, 1)
        return self.pool(out)


class AxialBlock(nn.Module):
    def __init__(self, c_in: int, planes: int, length: int, positional: bool, stride: int = 1) -> None:
        super().__init__()
        c_out = planes * EXPANSION
        self.down = nn.Sequential(nn.Conv2d(c_in, planes, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(inplace=True))
        self.height = AxialAttention(planes, length, along_width=False, positional=positional)
        self.width = AxialAttention(planes, length, along_width=True, positional=positional, stride=stride)
        self.up = nn.Sequential(nn.Conv2d(planes, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: Tensor) -> Tensor:
        out = self.up(F.relu(self.width(self.height(self.down(x)))))
        return F.relu(out + (x if self.shortcut is None else self.shortcut(x)))


def _stem(in_channels: int, width: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
        nn.Conv2d(width, 128, 3, padding=1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
        nn.Conv2d(128, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
    )


def _layers(c_in: int, widths: list[int], depths: list[int], length: int, positional: bool) -> nn.ModuleList:
    """Residual stages; each stage after the first halves the resolution in its first block."""
    stages = []
    for i, (planes, depth) in enumerate(zip(widths, depths)):
        blocks = [AxialBlock(c_in, planes, length, positional, stride=2 if i else 1)]
        if i:
            length //= 2
        c_in = planes * EXPANSION
        blocks += [AxialBlock(c_in, planes, length, positional) for _ in range(depth - 1)]
        stages.append(nn.Sequential(*blocks))
    return nn.ModuleList(stages)


def _up(conv: nn.Module, x: Tensor) -> Tensor:
    return F.relu(F.interpolate(conv(x), scale_factor=2, mode="bilinear", align_corners=False))


@register_model("medt", display_name="MedT", paper="Valanarasu et al., MICCAI 2021",
                published=Published(1.37, "CMUNeXt benchmark table (Tang et al., ISBI 2024), 256 px"),
                sides=InputSides(minimum=128, multiple=128, kwarg="img_size"), test_kwargs={"img_size": 128})
class MedT(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 1, img_size: int = 256, scale: float = 0.125) -> None:
        super().__init__()
        stem = int(64 * scale)
        widths = [int(c * scale) for c in (128, 256, 512, 1024)]  # 16, 32, 64, 128 planes
        outs = [w * EXPANSION for w in widths]
        self.global_stem = _stem(in_channels, stem)
        self.global_layers = _layers(stem, widths[:2], [1, 2], img_size // 2, positional=True)
        self.global_decoders = nn.ModuleList([nn.Conv2d(outs[1], outs[0], 3, padding=1),
                                              nn.Conv2d(outs[0], widths[0], 3, padding=1)])
        patch = img_size // 4
        self.local_stem = _stem(in_channels, stem)
        self.local_layers = _layers(stem, widths, [1, 2, 4, 1], patch // 2, positional=False)
        self.local_decoders = nn.ModuleList([
            nn.Conv2d(outs[3], outs[3], 3, stride=2, padding=1), nn.Conv2d(outs[3], outs[2], 3, padding=1),
            nn.Conv2d(outs[2], outs[1], 3, padding=1), nn.Conv2d(outs[1], outs[0], 3, padding=1),
            nn.Conv2d(outs[0], widths[0], 3, padding=1),
        ])
        self.fuse = nn.Conv2d(widths[0], widths[0], 3, padding=1)
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def _global(self, x: Tensor) -> Tensor:
        x1 = self.global_layers[0](self.global_stem(x))
        x2 = self.global_layers[1](x1)
        return _up(self.global_decoders[1], _up(self.global_decoders[0], x2) + x1)

    def _local(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        p = h // 4
        patches = x.view(b, c, 4, p, 4, p).permute(0, 2, 4, 1, 3, 5).reshape(b * 16, c, p, p)
        features = [self.local_stem(patches)]
        for stage in self.local_layers:
            features.append(stage(features[-1]))
        y = features.pop()
        y = _up(self.local_decoders[0], y) + y
        for decoder in self.local_decoders[1:4]:
            y = _up(decoder, y) + features.pop()
        y = _up(self.local_decoders[4], y)
        return y.view(b, 4, 4, -1, p, p).permute(0, 3, 1, 4, 2, 5).reshape(b, -1, h, w)

    def forward(self, x: Tensor) -> Tensor:
        x = self._global(x) + self._local(x)
        return self.head(F.relu(F.relu(self.fuse(x))))
