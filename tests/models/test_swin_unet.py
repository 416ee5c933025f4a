"""Swin-Unet's windows: shifted-window masks, and padding to whole windows."""

from __future__ import annotations

import torch

from busbench.models.swin_unet import SwinBlock, _merge_windows, _shift_mask, _windows


def test_shift_mask_separates_regions_that_were_not_adjacent() -> None:
    mask = _shift_mask(14, 14, window=7, shift=3, device=torch.device("cpu"))
    assert mask.shape == (4, 49, 49)
    assert (mask[0] == 0).all()  # the top-left window holds one region only
    assert (mask[3] == -100).any() and (mask.diagonal(dim1=1, dim2=2) == 0).all()


def test_windows_round_trip() -> None:
    x = torch.arange(2 * 14 * 14 * 3, dtype=torch.float32).view(2, 14, 14, 3)
    windows = _windows(x, 7)
    assert windows.shape == (8, 49, 3)
    # window order: image, then window row, then window column; pixels in raster order inside each
    torch.testing.assert_close(windows[0].view(7, 7, 3), x[0, :7, :7])
    torch.testing.assert_close(windows[1].view(7, 7, 3), x[0, :7, 7:])
    torch.testing.assert_close(windows[6].view(7, 7, 3), x[1, 7:, :7])
    torch.testing.assert_close(_merge_windows(windows, 7, 2, 14, 14), x)
    # merging works on per-window outputs of another width (attention's projection), as SwinBlock uses it
    widened = torch.cat([windows, -windows], dim=-1)
    torch.testing.assert_close(_merge_windows(widened, 7, 2, 14, 14), torch.cat([x, -x], dim=-1))


def test_block_pads_stages_that_are_not_whole_windows() -> None:
    torch.manual_seed(0)
    block = SwinBlock(dim=12, heads=2, window=7, shifted=True)
    out = block(torch.rand(1, 16, 20, 12))
    assert out.shape == (1, 16, 20, 12) and torch.isfinite(out).all()
