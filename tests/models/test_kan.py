"""The KAN layer: B-spline basis properties, the edge functions, and the parameter count."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from busbench.models.kan import KANLinear


def test_b_spline_basis_is_a_partition_of_unity_inside_the_grid() -> None:
    layer = KANLinear(3, 2, grid_size=5, spline_order=3)
    x = torch.linspace(-0.999, 0.999, 101)[:, None].repeat(1, 3)
    bases = layer.b_splines(x)
    assert bases.shape == (101, 3, 8)
    torch.testing.assert_close(bases.sum(-1), torch.ones(101, 3))
    assert (bases >= 0).all()
    assert ((bases > 0).sum(-1) <= 4).all()  # cubic splines: at most order + 1 non-zero


def test_without_splines_it_is_a_silu_linear_layer() -> None:
    torch.manual_seed(0)
    layer = KANLinear(4, 3)
    with torch.no_grad():
        layer.spline_weight.zero_()
    x = torch.randn(5, 4)
    torch.testing.assert_close(layer(x), F.silu(x) @ layer.base_weight.T)


def test_parameters_per_edge_and_batch_shapes() -> None:
    layer = KANLinear(6, 4, grid_size=5, spline_order=3)
    assert sum(p.numel() for p in layer.parameters()) == 6 * 4 * (5 + 3 + 2)
    assert layer(torch.randn(2, 7, 6)).shape == (2, 7, 4)


def test_gradients_reach_the_spline_coefficients() -> None:
    layer = KANLinear(2, 2)
    layer(torch.rand(8, 2) * 2 - 1).sum().backward()
    assert layer.spline_weight.grad is not None and layer.spline_weight.grad.abs().sum() > 0
    assert layer.spline_scaler.grad is not None


@pytest.mark.parametrize("dims", [(128, 160, 256)])
def test_ukan_count_by_layer_shapes(dims: tuple[int, int, int]) -> None:
    from busbench.models import build_model, count_parameters

    e0, e1, e2 = dims
    kan = 3 * 10 * (e1 * e1 + e2 * e2 + e1 * e1 + e0 * e0)  # block1, block2, dblock1, dblock2
    model = build_model("ukan", embed_dims=dims)
    kan_params = sum(p.numel() for n, p in model.named_parameters() if ".kans." in n)
    assert kan_params == kan
    assert count_parameters(model) / 1e6 == pytest.approx(6.36, abs=0.01)
