"""Encoder-decoder models for transfer learning: an ImageNet-style encoder with a U-Net or a
LinkNet decoder, registered as ``unet_<encoder>`` and ``linknet_<encoder>``.

* U-Net decoder (Ronneberger et al., MICCAI 2015; the form of segmentation_models_pytorch): at
  each scale, x2 nearest upsampling, concatenation with the encoder feature, two 3x3 conv + BN +
  ReLU; widths 256-128-64-32-16, the last step at full resolution without skip.
* LinkNet decoder (A. Chaurasia, E. Culurciello, "LinkNet: Exploiting encoder representations for
  efficient semantic segmentation", VCIP 2017): 1x1 conv to a quarter width, 3x3 transposed conv
  x2 (the paper's kernel; segmentation_models_pytorch uses 4x4), 1x1 conv to the skip's width,
  each with BN + ReLU, then addition of the skip.

Convolutions followed by batch norm have no bias, so ``unet_resnet34`` has the 24.44 M parameters
of segmentation_models_pytorch's ``Unet("resnet34")``.

Initialisation as the code bases they come from: the encoders as torchvision's (see ``encoders``), the
decoders as segmentation_models_pytorch's ``initialize_decoder`` (convolutions He-uniform, fan in,
biases 0; batch norms 1 and 0; LinkNet's transposed convolution PyTorch's default), the head as its
``initialize_head`` (Glorot-uniform, bias 0).

``encoder_weights`` names a local file of ImageNet (or other) weights for the encoder (see
``busbench.models.weights``); the encoder is the ``encoder`` attribute, which training can freeze.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from busbench.models.blocks import ConvBNReLU, DoubleConv
from busbench.models.encoders import ENCODERS
from busbench.models.entry import InputSides, Published
from busbench.models.init import HeInit, he_init, xavier_init
from busbench.models.registry import register_model
from busbench.models.weights import load_weights

UNET_DECODER_WIDTHS = (256, 128, 64, 32, 16)


class UNetDecoder(nn.Module):
    def __init__(self, encoder_channels: list[int], widths: tuple[int, ...] = UNET_DECODER_WIDTHS) -> None:
        super().__init__()
        skips = list(reversed(encoder_channels[:-1])) + [0]
        inputs = [encoder_channels[-1]] + list(widths[:-1])
        self.blocks = nn.ModuleList(DoubleConv(c_in + skip, c_out, bias=False)  # no bias before batch norm
                                    for c_in, skip, c_out in zip(inputs, skips, widths))
        self.out_channels = widths[-1]

    def forward(self, features: list[Tensor]) -> Tensor:
        x, skips = features[-1], list(reversed(features[:-1]))
        for i, block in enumerate(self.blocks):
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = block(torch.cat([x, skips[i]], dim=1) if i < len(skips) else x)
        return x


class LinkNetBlock(nn.Sequential):
    def __init__(self, c_in: int, c_out: int) -> None:
        quarter = max(c_in // 4, 1)
        super().__init__(
            ConvBNReLU(c_in, quarter, 1, bias=False),
            nn.ConvTranspose2d(quarter, quarter, 3, stride=2, padding=1, output_padding=1, bias=False),
            nn.BatchNorm2d(quarter), nn.ReLU(inplace=True),
            ConvBNReLU(quarter, c_out, 1, bias=False),
        )


class LinkNetDecoder(nn.Module):
    def __init__(self, encoder_channels: list[int], final_channels: int = 32) -> None:
        super().__init__()
        targets = list(reversed(encoder_channels[:-1])) + [final_channels]
        inputs = [encoder_channels[-1]] + targets[:-1]
        self.blocks = nn.ModuleList(LinkNetBlock(c_in, c_out) for c_in, c_out in zip(inputs, targets))
        self.out_channels = final_channels

    def forward(self, features: list[Tensor]) -> Tensor:
        x, skips = features[-1], list(reversed(features[:-1]))
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < len(skips):
                x = x + skips[i]
        return x


class EncoderDecoder(nn.Module):
    def __init__(self, encoder: str, decoder: str, in_channels: int = 3, num_classes: int = 1,
                 encoder_weights: str | Path | None = None) -> None:
        super().__init__()
        encoder_class, name = ENCODERS[encoder]
        self.encoder = encoder_class(name, in_channels)
        if encoder_weights is not None:
            load_weights(self.encoder, Path(encoder_weights), "model.kwargs.encoder_weights")
        channels = self.encoder.channels
        self.decoder = UNetDecoder(channels) if decoder == "unet" else LinkNetDecoder(channels)
        self.head = nn.Conv2d(self.decoder.out_channels, num_classes, 3, padding=1)
        he_init(self.decoder, HeInit(uniform=True, transposed=False))
        xavier_init(self.head)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.decoder(self.encoder.forward_features(x)))


def _register(decoder: str, encoder: str) -> None:
    papers = {"unet": "U-Net decoder (Ronneberger et al., MICCAI 2015)", "linknet": "LinkNet (Chaurasia & "
              "Culurciello, VCIP 2017)"}
    encoder_paper = "He et al., CVPR 2016" if encoder.startswith("resnet") else "Tan & Le, ICML 2019"

    def build(in_channels: int = 3, num_classes: int = 1, encoder_weights: str | None = None) -> EncoderDecoder:
        return EncoderDecoder(encoder, decoder, in_channels, num_classes, encoder_weights)

    published = {"unet_resnet34": Published(24.44, "segmentation_models_pytorch Unet('resnet34')")}.get(
        f"{decoder}_{encoder}")
    titles = {"unet": "U-Net", "linknet": "LinkNet"}
    encoder_title = encoder.replace("resnet", "ResNet-").replace("efficientnet_b", "EfficientNet-B")
    register_model(f"{decoder}_{encoder}", display_name=f"{titles[decoder]} ({encoder_title})",
                   paper=f"{papers[decoder]} on {encoder} ({encoder_paper})",
                   published=published, sides=InputSides(minimum=32, multiple=32))(build)


for _decoder in ("unet", "linknet"):
    for _encoder in ENCODERS:
        _register(_decoder, _encoder)
