"""UNeXt's shifted MLP: the shift moves channel groups with zero fill."""

from __future__ import annotations

import torch

from busbench.models.unext import shift_groups


def test_shift_moves_each_channel_group_by_its_offset() -> None:
    x = torch.arange(5 * 6 * 6, dtype=torch.float32).view(1, 5, 6, 6)
    down = shift_groups(x, 2)
    torch.testing.assert_close(down[0, 2], x[0, 2])  # the middle group stays
    torch.testing.assert_close(down[0, 0, :4], x[0, 0, 2:])  # offset -2: up by two rows
    assert (down[0, 0, 4:] == 0).all()
    torch.testing.assert_close(down[0, 4, 2:], x[0, 4, :4])  # offset +2: down by two rows
    right = shift_groups(x, 3)
    torch.testing.assert_close(right[0, 3, :, 1:], x[0, 3, :, :5])
    assert (right[0, 3, :, 0] == 0).all()
