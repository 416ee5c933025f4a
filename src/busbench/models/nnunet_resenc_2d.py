"""nnU-Net's residual-encoder U-Net in 2-D: F. Isensee, T. Wald, C. Ulrich, M. Baumgartner, S. Roy,
K. Maier-Hein, P. F. Jaeger, "nnU-Net Revisited: A Call for Rigorous Validation in 3D Medical Image
Segmentation", MICCAI 2024 (nnU-Net ResEnc M / L beat most newer architectures).

nnU-Net v2's ResidualEncoderUNet as ``nnUNetPlannerResEncM`` plans its 2-D configuration, which is
the default planner's topology (``nnunet_2d``: the stages follow from ``img_size``, 32 features
doubling to at most 512) with a residual encoder:

* a stem: one 3x3 convolution (32 features), instance norm, leaky ReLU 0.01, at full resolution;
* encoder stage i: 1, 3, 4, 6, 6, 6, ... residual blocks (ResNet-D BasicBlockD); the first block of
  every stage but the first strides 2. A block is conv-norm-act, conv-norm, plus its input, then
  leaky ReLU; where it strides, the input is average-pooled 2x2, and where the width changes it is
  projected by a 1x1 convolution (no bias) and instance norm;
* decoder: a 2x2 stride-2 transposed convolution, concatenation with the skip, ONE convolution
  (the plain U-Net has two); deep supervision as ``nnunet_2d``'s (a list, full resolution first, in
  training; the full-resolution output in eval mode).

ResEnc M (8 GB GPU target) and L (24 GB) plan the SAME network in 2-D at 256 px (nnU-Net 2.8.1,
checked by tests/models/test_nnunet_resenc.py): the 2-D feature cap (512) and blocks per stage do
not depend on the preset, and the 256x256 patch (the median image) fits both memory targets, so no
patch shrinks. They differ only in the batch size nnU-Net derives from the target: its estimate
for this network at 256 px is 32.3 M feature-map values, so M: round(135 M / 32.3 M x 12) = 50,
L: round(380 M / 32.3 M x 12) = 141; ResEnc planners let a batch cover the whole training set, so
no 5 % cap applies. The preset ``nnunet_resenc_2d.yaml`` is M; ``--set train.batch_size=141`` is L.

Parameters at 256 px (7 stages, deep supervision), equal to nnU-Net's own network's for the same
channels: 105.92 M (105,915,302 with 1 input channel and one output, 105,915,878 with 3; nnU-Net's
2-softmax-channel network has 1,510 more in its heads: 105,916,812 with 1 input channel).

Deviations from nnU-Net: those of ``nnunet_2d`` (no resampling or patch planning, busbench's input
scaling, one sigmoid logit instead of two softmax channels, no heads built that deep supervision
does not use).

Initialisation as nnU-Net's (ResidualEncoderUNet.initialize): convolutions and transposed
convolutions He-normal with negative slope 0.01 (fan in), biases 0; instance norms 1 and 0, except
the last norm of every residual block, 0 and 0, so that each block starts as its skip path.
"""

from __future__ import annotations

from torch import Tensor, nn

from busbench.models.entry import InputSides, Published
from busbench.models.init import HeInit, he_init
from busbench.models.nnunet_2d import ConvNormAct, NNUNetSkeleton
from busbench.models.registry import register_model

FIRST_BLOCKS = (1, 3, 4)  # residual blocks of the first encoder stages; every later stage has 6
LATER_BLOCKS = 6


def blocks_per_stage(n_stages: int) -> list[int]:
    """ResEncUNetPlanner's UNet_blocks_per_stage_encoder (1, 3, 4, 6, 6, ...) for ``n_stages`` stages."""
    return [FIRST_BLOCKS[i] if i < len(FIRST_BLOCKS) else LATER_BLOCKS for i in range(n_stages)]


def instance_norm(channels: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(channels, eps=1e-5, affine=True)


class BasicBlockD(nn.Module):
    """ResNet-D basic block: two 3x3 convolutions; the skip average-pools where the block strides
    and projects (1x1 convolution without bias, norm) where the width changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = ConvNormAct(in_channels, out_channels, stride)
        self.conv2 = nn.Sequential(nn.Conv2d(out_channels, out_channels, 3, padding=1), instance_norm(out_channels))
        skip: list[nn.Module] = [nn.AvgPool2d(stride, stride)] if stride > 1 else []
        if in_channels != out_channels:
            skip += [nn.Conv2d(in_channels, out_channels, 1, bias=False), instance_norm(out_channels)]
        self.skip = nn.Sequential(*skip)  # empty: the identity
        self.act = nn.LeakyReLU(0.01, inplace=True)

    def zero_last_norm(self) -> None:
        """nnU-Net's init_last_bn_before_add_to_0: the residual branch starts at 0, the block as its skip."""
        for param in self.conv2[1].parameters():
            nn.init.zeros_(param)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.conv2(self.conv1(x)) + self.skip(x))


def residual_stage(in_channels: int, out_channels: int, n_blocks: int, stride: int) -> nn.Sequential:
    """nnU-Net's StackedResidualBlocks: the first block strides and changes the width."""
    return nn.Sequential(BasicBlockD(in_channels, out_channels, stride),
                         *(BasicBlockD(out_channels, out_channels) for _ in range(n_blocks - 1)))


@register_model("nnunet_resenc_2d", display_name="nnU-Net ResEnc 2-D",
                paper="Isensee et al., nnU-Net Revisited, MICCAI 2024",
                published=Published(105.92, "nnU-Net v2.8.1's own ResidualEncoderUNet as nnUNetPlannerResEncM plans "
                                            "it for 256 px (tests/models/test_nnunet_resenc.py builds it)"),
                sides=InputSides(minimum=64, multiple=16, kwarg="img_size"),
                test_kwargs={"img_size": 64, "base_features": 4, "max_features": 16, "deep_supervision": False})
class NNUNetResEnc2D(NNUNetSkeleton):
    def __init__(self, in_channels: int = 3, num_classes: int = 1, img_size: int = 256, base_features: int = 32,
                 max_features: int = 512, deep_supervision: bool = True) -> None:
        super().__init__(img_size, base_features, max_features, deep_supervision)
        self.blocks = blocks_per_stage(len(self.widths))
        self.stem = ConvNormAct(in_channels, self.widths[0])
        inputs = [self.widths[0], *self.widths[:-1]]
        self.encoder = nn.ModuleList(residual_stage(c_in, c_out, n, stride=1 if i == 0 else 2)
                                     for i, (c_in, c_out, n) in enumerate(zip(inputs, self.widths, self.blocks)))
        self.add_decoder(num_classes, decoder_convs=1)
        he_init(self, HeInit(negative_slope=1e-2))
        for block in self.modules():
            if isinstance(block, BasicBlockD):
                block.zero_last_norm()
