"""nnU-Net's 2-D network: F. Isensee, P. F. Jaeger, S. A. A. Kohl, J. Petersen, K. H. Maier-Hein,
"nnU-Net: a self-configuring method for deep learning-based biomedical image segmentation", Nature
Methods 2021; F. Isensee et al., "nnU-Net Revisited: A Call for Rigorous Validation in 3D Medical
Image Segmentation", MICCAI 2024 (a well-configured U-Net beats most newer architectures).

A plain convolutional U-Net (nnU-Net v2's PlainConvUNet) whose topology follows from the input
side by nnU-Net's planning rules:

* halve the side with a stride-2 convolution while the result stays >= 4 px, so the number of
  stages follows from ``img_size`` (64 px: 5 stages, 128: 6, 256: 7, 512: 8);
* 32 features in the first stage, doubling per stage, at most 512 (nnU-Net's 2-D cap);
* every stage two 3x3 convolutions, each followed by instance norm (affine) and leaky ReLU 0.01;
* decoder: a 2x2 stride-2 transposed convolution, concatenation with the skip, two convolutions;
* deep supervision: a 1x1 head on every decoder stage. In training mode the model returns a list,
  full resolution first, one output per decoder stage (the bottleneck has none); the loss
  (``busbench.train.deep_supervision``) weighs them 1, 1/2, 1/4, ... and gives the lowest one
  weight 0, so all but the two lowest resolutions count, as in nnU-Net. In eval mode it returns
  the full-resolution output only.

There is no published parameter count: it depends on the input side. With 3 input channels, one
output and deep supervision: 128 px 20.62 M (6 stages), 256 px 33.47 M (7), 512 px 46.32 M (8);
with 1 input channel 576 fewer.

Deviations from nnU-Net:

* No dataset fingerprint, resampling to a median spacing or patch-size planning: busbench
  letterboxes every image to ``input.size`` and that side is the patch.
* nnU-Net pads a patch side that does not halve evenly down to the bottleneck; busbench cannot
  pad its fixed input side, so it stops halving at an odd side (144 px: 4 halvings to 9 px, where
  nnU-Net would pad to 160 and halve 5 times). At least 4 halvings are made, so ``input.size``
  must be a multiple of 16 (at least 64), as for busbench's other U-Nets; sides of the form
  4..7 x 2^k (64, 80, 96, 112, 128, 160, ..., 256, 512) get exactly nnU-Net's topology.
* Input intensities are busbench's [0, 1] scaling, not nnU-Net's per-image z-score.
* One output logit (sigmoid) instead of two softmax channels: the same model, see the loss.
* Fold ensembling, test-time flips and post-processing are busbench's (``eval`` settings); there
  is no 3-D or cascade configuration.

Initialisation as nnU-Net's (InitWeights_He(1e-2), which nnU-Net v2 applies to PlainConvUNet):
convolutions and transposed convolutions He-normal with negative slope 0.01 (fan in), biases 0;
instance norms 1 and 0.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from busbench.models.entry import InputSides
from busbench.models.init import HeInit, he_init
from busbench.models.registry import register_model

MIN_EDGE = 4  # nnU-Net's smallest bottleneck side (UNet_featuremap_min_edge_length)
MIN_HALVINGS = 4  # busbench's size contract: input.size is a multiple of 16


def stage_sides(img_size: int) -> list[int]:
    """The feature-map side of every stage: halve while the half is an integer >= ``MIN_EDGE``."""
    sides = [img_size]
    while sides[-1] % 2 == 0 and sides[-1] // 2 >= MIN_EDGE:
        sides.append(sides[-1] // 2)
    while len(sides) <= MIN_HALVINGS:  # only sides below 64 or off the 16 px grid reach this
        sides.append(sides[-1] // 2)
    return sides


def stage_widths(n_stages: int, base_features: int = 32, max_features: int = 512) -> list[int]:
    """Features per stage: doubling from ``base_features``, capped at ``max_features``."""
    return [min(base_features * 2**i, max_features) for i in range(n_stages)]


class ConvNormAct(nn.Sequential):
    """3x3 convolution (with bias, as nnU-Net), instance norm, leaky ReLU 0.01."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1),
            nn.InstanceNorm2d(out_channels, eps=1e-5, affine=True),
            nn.LeakyReLU(0.01, inplace=True),
        )


class ConvStack(nn.Sequential):
    """``n_convs`` ConvNormAct; the first one strides when the stage down-samples (nnU-Net's StackedConvBlocks)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, n_convs: int = 2) -> None:
        super().__init__(ConvNormAct(in_channels, out_channels, stride),
                         *(ConvNormAct(out_channels, out_channels) for _ in range(n_convs - 1)))


class NNUNetSkeleton(nn.Module):
    """What nnU-Net's U-Nets share (dynamic_network_architectures' UNetDecoder): a stem, encoder
    stages, and a decoder that up-samples with a 2x2 transposed convolution, concatenates the skip
    (up-sampled features first) and merges them with ``decoder_convs`` ConvNormAct, with a 1x1 head
    per decoder stage under deep supervision. Subclasses build ``stem`` and ``encoder``."""

    stem: nn.Module
    encoder: nn.ModuleList

    def __init__(self, img_size: int, base_features: int, max_features: int, deep_supervision: bool) -> None:
        super().__init__()
        self.sides = stage_sides(img_size)
        self.widths = stage_widths(len(self.sides), base_features, max_features)
        self.deep_supervision = deep_supervision

    def add_decoder(self, num_classes: int, decoder_convs: int) -> None:
        """Decoder stages from the bottleneck up: stage i restores the resolution of encoder stage i."""
        levels = list(reversed(range(len(self.widths) - 1)))
        self.ups = nn.ModuleList(nn.ConvTranspose2d(self.widths[i + 1], self.widths[i], 2, stride=2) for i in levels)
        self.decoder = nn.ModuleList(ConvStack(2 * self.widths[i], self.widths[i], n_convs=decoder_convs)
                                     for i in levels)
        # a head on every decoder stage with deep supervision, else on the top one only (none unused)
        head_levels = levels if self.deep_supervision else levels[-1:]
        self.heads = nn.ModuleList(nn.Conv2d(self.widths[i], num_classes, 1) for i in head_levels)

    def forward(self, x: Tensor) -> Tensor | list[Tensor]:
        x = self.stem(x)
        skips = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        x = skips.pop()
        decoded = []
        for up, stage in zip(self.ups, self.decoder):
            x = stage(torch.cat([up(x), skips.pop()], dim=1))  # nnU-Net's channel order
            decoded.append(x)
        if self.deep_supervision and self.training:
            return [head(features) for head, features in zip(reversed(self.heads), reversed(decoded))]
        return self.heads[-1](decoded[-1])


@register_model("nnunet_2d", display_name="nnU-Net 2-D",
                paper="Isensee et al., Nature Methods 2021; nnU-Net Revisited, MICCAI 2024",
                sides=InputSides(minimum=64, multiple=16, kwarg="img_size"),
                test_kwargs={"img_size": 64, "base_features": 4, "max_features": 16, "deep_supervision": False})
class NNUNet2D(NNUNetSkeleton):
    def __init__(self, in_channels: int = 3, num_classes: int = 1, img_size: int = 256, base_features: int = 32,
                 max_features: int = 512, deep_supervision: bool = True) -> None:
        super().__init__(img_size, base_features, max_features, deep_supervision)
        self.stem = nn.Identity()  # PlainConvUNet has none
        inputs = [in_channels, *self.widths[:-1]]
        self.encoder = nn.ModuleList(ConvStack(c_in, c_out, stride=1 if i == 0 else 2)
                                     for i, (c_in, c_out) in enumerate(zip(inputs, self.widths)))
        self.add_decoder(num_classes, decoder_convs=2)
        he_init(self, HeInit(negative_slope=1e-2))
