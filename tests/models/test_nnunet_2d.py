"""nnunet_2d: topology derived from the input side by nnU-Net's rules; deep-supervision outputs of the skeleton
nnunet_2d and nnunet_resenc_2d share."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from busbench.errors import BusbenchError
from busbench.models import build_model, check_input_size, count_parameters
from busbench.models.nnunet_2d import stage_sides, stage_widths


@pytest.mark.parametrize(("size", "sides", "widths"), [
    (64, [64, 32, 16, 8, 4], [32, 64, 128, 256, 512]),
    (128, [128, 64, 32, 16, 8, 4], [32, 64, 128, 256, 512, 512]),
    (256, [256, 128, 64, 32, 16, 8, 4], [32, 64, 128, 256, 512, 512, 512]),
    (224, [224, 112, 56, 28, 14, 7], [32, 64, 128, 256, 512, 512]),  # nnU-Net's own example: 224 / 2^5 = 7
    (144, [144, 72, 36, 18, 9], [32, 64, 128, 256, 512]),  # 9 is odd: stop (nnU-Net would pad to 160)
])
def test_stages_follow_from_the_input_side(size: int, sides: list[int], widths: list[int]) -> None:
    model = build_model("nnunet_2d", in_channels=1, img_size=size)
    assert model.sides == sides == stage_sides(size)
    assert model.widths == widths
    strides = [stage[0][0].stride[0] for stage in model.encoder]
    assert strides == [1] + [2] * (len(sides) - 1)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) == 2 * len(sides) + 2 * (len(sides) - 1)  # two per encoder and per decoder stage
    assert sum(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.01 for m in model.modules()) == len(convs)
    assert sum(isinstance(m, nn.InstanceNorm2d) and m.affine for m in model.modules()) == len(convs)
    assert sum(isinstance(m, nn.ConvTranspose2d) and m.stride == (2, 2) for m in model.modules()) == len(sides) - 1


def test_widths_are_capped_at_512() -> None:
    assert stage_widths(8) == [32, 64, 128, 256, 512, 512, 512, 512]
    assert stage_widths(3, base_features=4, max_features=8) == [4, 8, 8]


def _count_by_formula(widths: list[int], in_channels: int, classes: int) -> int:
    """Parameters of nnU-Net's PlainConvUNet written out: conv k x k with bias = k*k*in*out + out,
    affine instance norm = 2*out, transposed 2x2 conv = 4*in*out + out, one 1x1 head per decoder stage."""
    def conv(c_in: int, c_out: int, k: int = 3) -> int:
        return k * k * c_in * c_out + c_out

    total, c_in = 0, in_channels
    for c in widths:  # encoder: conv-norm twice
        total += conv(c_in, c) + 2 * c + conv(c, c) + 2 * c
        c_in = c
    for below, c in zip(widths[:0:-1], widths[-2::-1]):  # decoder, bottom up
        total += 4 * below * c + c + conv(2 * c, c) + 2 * c + conv(c, c) + 2 * c + conv(c, classes, 1)
    return total


def test_parameter_count_at_128_px_matches_a_count_by_formula() -> None:
    model = build_model("nnunet_2d", in_channels=3, num_classes=1, img_size=128)
    expected = _count_by_formula([32, 64, 128, 256, 512, 512], 3, 1)
    assert count_parameters(model) == expected == 20_618_661  # the docstring's 20.62 M


@pytest.mark.parametrize("name", ["nnunet_2d", "nnunet_resenc_2d"])  # the skeleton both share
def test_deep_supervision_returns_every_decoder_resolution_in_training_only(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, in_channels=1, img_size=64, base_features=4, max_features=16)
    x = torch.rand(2, 1, 64, 64)
    outputs = model.train()(x)
    assert [tuple(o.shape) for o in outputs] == [(2, 1, 64, 64), (2, 1, 32, 32), (2, 1, 16, 16), (2, 1, 8, 8)]
    sum(o.mean() for o in outputs).backward()
    assert all(p.grad is not None for p in model.parameters())  # every head is used in training
    with torch.no_grad():
        single = model.eval()(x)
        assert isinstance(single, torch.Tensor) and single.shape == (2, 1, 64, 64)
        torch.testing.assert_close(single, model.train()(x)[0])  # the full-resolution head is the eval output
    with torch.no_grad():
        torch.testing.assert_close(single, model.train()(x)[0])  # eval output = the full-resolution output


def test_without_deep_supervision_one_head_and_one_output() -> None:
    model = build_model("nnunet_2d", in_channels=1, img_size=64, base_features=4, deep_supervision=False)
    assert len(model.heads) == 1
    assert model.train()(torch.rand(1, 1, 64, 64)).shape == (1, 1, 64, 64)


def test_input_side_must_be_a_multiple_of_16_and_match_img_size() -> None:
    check_input_size("nnunet_2d", 80, {"img_size": 80})
    with pytest.raises(BusbenchError, match="nearest valid sizes: 80 or 96"):
        check_input_size("nnunet_2d", 88, {"img_size": 88})
    with pytest.raises(BusbenchError, match="set model.kwargs.img_size=128"):
        check_input_size("nnunet_2d", 128, {"img_size": 256})
