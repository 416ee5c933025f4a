"""EfficientNet-B0..B4 encoders: M. Tan, Q. V. Le, "EfficientNet: Rethinking model scaling for
convolutional neural networks", ICML 2019 (torchvision's layout and names).

MBConv blocks (1x1 expansion, depthwise conv, squeeze-and-excitation to a quarter of the block's
input width, linear 1x1 projection, identity residual) in seven stages scaled by each variant's
width and depth multipliers. ``forward_features`` returns the maps at strides 2, 4, 8, 16 and 32 (the
last stage's output); the 1x1 head conv and classifier are not built. Stochastic depth, a
training regulariser without parameters, is left out. Initialisation as torchvision's: convolutions
He-normal (fan out) with zero biases, batch norms 1 and 0.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from busbench.models.init import HeInit, he_init

# expand ratio, kernel, stride, input, output, layers (B0)
STAGES = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
          (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1))
EFFICIENTNETS = {"efficientnet_b0": (1.0, 1.0), "efficientnet_b1": (1.0, 1.1), "efficientnet_b2": (1.1, 1.2),
                 "efficientnet_b3": (1.2, 1.4), "efficientnet_b4": (1.4, 1.8)}
FEATURE_STAGES = (1, 2, 3, 5, 7)  # indices into ``features`` giving strides 2, 4, 8, 16, 32


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a width to a multiple of ``divisor``, never below 90 % of it (as the reference does)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvNormAct(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1,
                 activation: bool = True) -> None:
        layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
                                   nn.BatchNorm2d(c_out)]
        if activation:
            layers.append(nn.SiLU(inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, squeezed: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeezed, 1)
        self.fc2 = nn.Conv2d(squeezed, channels, 1)
        self.activation = nn.SiLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))


class MBConv(nn.Module):
    def __init__(self, c_in: int, c_out: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        expanded = make_divisible(c_in * expand)
        layers: list[nn.Module] = []
        if expanded != c_in:
            layers.append(ConvNormAct(c_in, expanded, 1))
        layers += [ConvNormAct(expanded, expanded, kernel, stride, groups=expanded),
                   SqueezeExcitation(expanded, max(1, c_in // 4)),
                   ConvNormAct(expanded, c_out, 1, activation=False)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        return out + x if self.residual else out


class EfficientNetEncoder(nn.Module):
    def __init__(self, name: str = "efficientnet_b0", in_channels: int = 3) -> None:
        super().__init__()
        width, depth = EFFICIENTNETS[name]
        stem = make_divisible(32 * width)
        stages: list[nn.Module] = [ConvNormAct(in_channels, stem, 3, 2)]
        for expand, kernel, stride, c_in, c_out, layers in STAGES:
            c_in, c_out = make_divisible(c_in * width), make_divisible(c_out * width)
            blocks = [MBConv(c_in if i == 0 else c_out, c_out, expand, kernel, stride if i == 0 else 1)
                      for i in range(math.ceil(layers * depth))]
            stages.append(nn.Sequential(*blocks))
        self.features = nn.Sequential(*stages)
        widths = [make_divisible(s[4] * width) for s in STAGES]
        self.channels = [widths[i - 1] for i in FEATURE_STAGES]
        self.classifier_in = widths[-1]
        he_init(self, HeInit(mode="fan_out"))

    def forward_features(self, x: Tensor) -> list[Tensor]:
        outputs = []
        for i, stage in enumerate(self.features):
            x = stage(x)
            if i in FEATURE_STAGES:
                outputs.append(x)
        return outputs
