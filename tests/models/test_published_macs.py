"""MACs at the published convention's input (1 x C x 224 x 224), checked against formulas by hand."""

from __future__ import annotations

import pytest
from torch import nn

from busbench.models.profile import ProfileInput, Timing, profile_models, published_macs, published_size
from busbench.models.registry import MODELS, ModelEntry


def _conv_then_transposed(in_channels: int, num_classes: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(in_channels, 4, 3, padding=1, bias=False),
                         nn.ConvTranspose2d(4, num_classes, 2, stride=2, bias=False))


def _register(monkeypatch: pytest.MonkeyPatch, name: str, size_multiple: int) -> None:
    monkeypatch.setitem(MODELS, name, ModelEntry(name, _conv_then_transposed, "by hand", size_multiple=size_multiple,
                                                 min_size=size_multiple))


@pytest.mark.parametrize(("channels", "size_multiple", "side"), [(1, 16, 224), (3, 16, 224), (1, 96, 192)])
def test_macs_at_224_by_formula(monkeypatch: pytest.MonkeyPatch, channels: int, size_multiple: int,
                                side: int) -> None:
    _register(monkeypatch, "hand", size_multiple)
    # 3x3 conv, C -> 4, same padding: each of the side^2 x 4 outputs takes 9 C multiply-adds.
    conv = side * side * 4 * 9 * channels
    # 2x2 stride-2 transposed conv, 4 -> 1: each of the side^2 x 4 inputs meets a 1 x 2 x 2 kernel slice once.
    transposed = side * side * 4 * 4
    macs, used = published_macs("hand", channels)
    assert used == side  # 224 is no multiple of 96: 192 is nearer than 288
    assert macs * 1e9 == pytest.approx(conv + transposed, abs=0.5)


def test_nearest_side_prefers_the_closer_then_the_larger(monkeypatch: pytest.MonkeyPatch) -> None:
    _register(monkeypatch, "by_64", 64)  # 192 and 256 are both 32 px away
    assert published_size("by_64") == 256
    assert published_size("medt") == 256  # multiples of 128: 256 is 32 px away, 128 is 96
    assert published_size("unext") == 224


def test_profile_rows_hold_the_224_column(monkeypatch: pytest.MonkeyPatch) -> None:
    _register(monkeypatch, "hand", 16)
    table = profile_models(["hand"], ProfileInput(size=32, batch=1, channels=1),
                           timing=Timing(iterations=1, seconds=0.1))
    assert table.loc[0, "size_224"] == 224
    assert table.loc[0, "macs_g_224"] * 1e9 == pytest.approx(224 * 224 * (4 * 9 + 4 * 4), abs=0.5)
    assert table.loc[0, "macs_g"] * 1e9 == pytest.approx(32 * 32 * (4 * 9 + 4 * 4), abs=0.5)
