"""MedT: learnable gates, and a clear error for an input of another size than it was built for."""

from __future__ import annotations

import pytest
import torch

from busbench.errors import BusbenchError
from busbench.models import build_model
from busbench.models.medt import AxialAttention


def test_gates_are_learnable_and_start_as_in_the_paper() -> None:
    attention = AxialAttention(16, length=8, along_width=False, positional=True)
    assert attention.gates.requires_grad
    assert attention.gates.tolist() == pytest.approx([0.1, 0.1, 0.1, 1.0])
    out = attention(torch.rand(2, 16, 8, 8))
    out.sum().backward()
    assert out.shape == (2, 16, 8, 8) and attention.gates.grad is not None


def test_width_attention_with_stride_halves_the_map() -> None:
    attention = AxialAttention(16, length=8, along_width=True, positional=False, stride=2)
    assert attention(torch.rand(1, 16, 8, 8)).shape == (1, 16, 4, 4)


def test_input_of_another_size_names_the_setting() -> None:
    model = build_model("medt", in_channels=1, img_size=128).eval()
    with pytest.raises(BusbenchError, match="set model.kwargs.img_size to input.size"):
        model(torch.rand(1, 1, 256, 256))
