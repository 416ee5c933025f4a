"""Placing images into the network input and mapping predictions back."""

from __future__ import annotations

import numpy as np
import pytest

from busbench.data.geometry import place_image, place_mask, placement_for, to_original


def test_letterbox_keeps_aspect_ratio_and_centres() -> None:
    p = placement_for(200, 100, 64, "letterbox")
    assert (p.inner_h, p.inner_w, p.top, p.left) == (64, 32, 0, 16)
    placed = place_image(np.full((200, 100), 200, np.uint8), p)
    assert placed.shape == (64, 64)
    assert placed[:, :16].max() == 0 and placed[:, 48:].max() == 0 and placed[:, 16:48].min() == 200


def test_resize_fills_the_square() -> None:
    p = placement_for(30, 90, 32, "resize")
    assert (p.inner_h, p.inner_w, p.top, p.left) == (32, 32, 0, 0)
    assert place_image(np.zeros((30, 90, 3), np.uint8), p).shape == (32, 32, 3)


@pytest.mark.parametrize("mode", ["letterbox", "resize"])
def test_mask_round_trip_to_original_size(mode: str) -> None:
    yy, xx = np.mgrid[0:180, 0:240]
    mask = (yy - 90) ** 2 / 50**2 + (xx - 110) ** 2 / 70**2 <= 1
    p = placement_for(180, 240, 128, mode)  # type: ignore[arg-type]
    placed = place_mask(mask, p)
    assert set(np.unique(placed)) == {0, 1}
    back = to_original(placed.astype(np.float32), p) >= 0.5
    assert back.shape == mask.shape
    dice = 2 * (back & mask).sum() / (back.sum() + mask.sum())
    assert dice > 0.98


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="letterbox"):
        placement_for(10, 10, 8, "crop")  # type: ignore[arg-type]
