"""Building blocks shared by several architectures."""

from __future__ import annotations

from torch import Tensor, nn


class ConvBNReLU(nn.Sequential):
    """3x3 (by default) convolution, batch norm, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = True) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class DoubleConv(nn.Sequential):
    """Two ConvBNReLU: the stage of U-Net and most of its descendants."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__(ConvBNReLU(in_channels, out_channels, bias=bias),
                         ConvBNReLU(out_channels, out_channels, bias=bias))


class UpConv(nn.Sequential):
    """x2 upsampling then ConvBNReLU: the decoder's up step in the BUS benchmark code bases."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), ConvBNReLU(in_channels, out_channels))


class UNetEncoder(nn.Module):
    """U-Net's five-level encoder (DoubleConv stages, 2x2 max pooling); returns every level's output."""

    def __init__(self, in_channels: int, base_channels: int) -> None:
        super().__init__()
        self.widths = [base_channels * 2**i for i in range(5)]
        self.stages = nn.ModuleList(
            DoubleConv(c_in, c_out) for c_in, c_out in zip([in_channels] + self.widths[:-1], self.widths)
        )
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: Tensor) -> list[Tensor]:
        features = []
        for i, stage in enumerate(self.stages):
            x = stage(x if i == 0 else self.pool(x))
            features.append(x)
        return features
