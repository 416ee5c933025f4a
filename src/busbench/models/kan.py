"""Kolmogorov-Arnold network layers: Z. Liu et al., "KAN: Kolmogorov-Arnold networks",
arXiv:2404.19756 (2024), in the "efficient KAN" form U-KAN uses.

Each of the in x out edges carries a learnable function: a weighted SiLU (the base branch) plus a
B-spline of order ``spline_order`` on a uniform grid of ``grid_size`` intervals over
``grid_range`` (extended by ``spline_order`` knots on each side), scaled per edge. The B-spline
basis is computed by the Cox-de Boor recursion. Parameters per layer: in x out x (grid_size +
spline_order + 2), no bias.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class KANLinear(nn.Module):
    grid: Tensor  # a buffer: the spline knots of every input

    def __init__(self, in_features: int, out_features: int, grid_size: int = 5, spline_order: int = 3,
                 grid_range: tuple[float, float] = (-1.0, 1.0), scale_noise: float = 0.1) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.spline_order = spline_order
        step = (grid_range[1] - grid_range[0]) / grid_size
        knots = torch.arange(-spline_order, grid_size + spline_order + 1, dtype=torch.float32) * step + grid_range[0]
        self.register_buffer("grid", knots.expand(in_features, -1).contiguous())
        self.base_weight = nn.Parameter(torch.empty(out_features, in_features))
        self.spline_weight = nn.Parameter(torch.empty(out_features, in_features, grid_size + spline_order))
        self.spline_scaler = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.base_weight, a=math.sqrt(5))
        nn.init.kaiming_uniform_(self.spline_scaler, a=math.sqrt(5))
        # the reference fits the spline to noise of this amplitude; drawing the coefficients directly
        # gives splines of the same scale
        nn.init.uniform_(self.spline_weight, -scale_noise / grid_size, scale_noise / grid_size)

    def b_splines(self, x: Tensor) -> Tensor:
        """B-spline basis values (N, in, grid_size + spline_order) of ``x`` (N, in)."""
        grid = self.grid
        x = x.unsqueeze(-1)
        bases = ((x >= grid[:, :-1]) & (x < grid[:, 1:])).to(x.dtype)
        for k in range(1, self.spline_order + 1):
            left = (x - grid[:, :-(k + 1)]) / (grid[:, k:-1] - grid[:, :-(k + 1)]) * bases[:, :, :-1]
            right = (grid[:, k + 1:] - x) / (grid[:, k + 1:] - grid[:, 1:-k]) * bases[:, :, 1:]
            bases = left + right
        return bases

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        x = x.reshape(-1, self.in_features)
        base = F.linear(F.silu(x), self.base_weight)
        weights = (self.spline_weight * self.spline_scaler.unsqueeze(-1)).reshape(self.out_features, -1)
        spline = F.linear(self.b_splines(x).reshape(x.shape[0], -1), weights)
        return (base + spline).reshape(*shape[:-1], self.out_features)
