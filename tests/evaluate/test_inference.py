"""Test-time augmentation and fold ensembles."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from busbench.errors import BusbenchError
from busbench.evaluate.inference import ensemble_probabilities


class SymmetricConv(nn.Module):
    """A model equivariant to both flips: convolutions with kernels symmetric in both axes."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Conv2d(1, 4, 3, padding=1)
        self.second = nn.Conv2d(4, 1, 3, padding=1)
        with torch.no_grad():
            for conv in (self.first, self.second):
                w = conv.weight
                conv.weight.copy_((w + w.flip(-1) + w.flip(-2) + w.flip(-1, -2)) / 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(torch.relu(self.first(x)))


def test_tta_of_a_flip_equivariant_model_equals_the_plain_prediction() -> None:
    torch.manual_seed(0)
    model, images = SymmetricConv(), torch.rand(2, 1, 16, 20)
    plain = ensemble_probabilities([model], images)
    for tta in (["hflip"], ["vflip"], ["rot180"], ["hflip", "vflip", "rot180"]):
        torch.testing.assert_close(ensemble_probabilities([model], images, tta), plain)


def test_tta_averages_the_views_mapped_back() -> None:
    torch.manual_seed(1)
    model, images = nn.Conv2d(1, 1, 3, padding=1), torch.rand(1, 1, 8, 8)
    with torch.no_grad():
        plain = torch.sigmoid(model(images))[:, 0]
        flipped = torch.sigmoid(model(images.flip(-1))).flip(-1)[:, 0]
    got = ensemble_probabilities([model], images, ["hflip"])
    torch.testing.assert_close(got, (plain + flipped) / 2)
    assert not torch.allclose(got, plain)
    with pytest.raises(BusbenchError, match=r"eval.tta \['transpose'\]: unknown views; choose from hflip, vflip"):
        ensemble_probabilities([model], images, ["transpose"])


def test_ensemble_averages_model_probabilities() -> None:
    torch.manual_seed(2)
    models, images = [nn.Conv2d(1, 1, 1), nn.Conv2d(1, 1, 1)], torch.rand(3, 1, 5, 5)
    with torch.no_grad():
        expected = sum(torch.sigmoid(m(images))[:, 0] for m in models) / 2
    torch.testing.assert_close(ensemble_probabilities(models, images), expected)
