"""Every registered model, tested by being registered: shapes, gradients, size, determinism."""

from __future__ import annotations

import pytest
import torch

from busbench.errors import BusbenchError
from busbench.models import MODELS, build_model, count_parameters, resolve_model

NAMES = sorted(MODELS)


def small(name: str, in_channels: int = 1) -> torch.nn.Module:
    """The entry's reduced test configuration (same code paths, fewer channels or layers)."""
    return build_model(name, in_channels=in_channels, num_classes=1, **MODELS[name].test_kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_forward_shape_and_backward(name: str) -> None:
    size = max(64, MODELS[name].min_size)
    torch.manual_seed(0)
    model = small(name)
    x = torch.rand(2, 1, size, size, requires_grad=True)
    out = model(x)
    assert out.shape == (2, 1, size, size)
    out.mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", NAMES)
def test_rgb_input_and_several_classes(name: str) -> None:
    size = max(64, MODELS[name].min_size)
    model = build_model(name, in_channels=3, num_classes=2, **MODELS[name].test_kwargs).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, size, size)).shape == (1, 2, size, size)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_model_and_output(name: str) -> None:
    size = max(64, MODELS[name].min_size)
    x = torch.rand(1, 1, size, size)
    outputs = []
    for _ in range(2):
        torch.manual_seed(3)
        model = small(name).eval()
        with torch.no_grad():
            outputs.append(model(x))
    torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=0)


@pytest.mark.parametrize("name", [n for n in NAMES if MODELS[n].reference_params_m is not None])
def test_parameter_count_matches_the_published_one(name: str) -> None:
    entry = MODELS[name]
    ours = count_parameters(build_model(name, in_channels=3, num_classes=1)) / 1e6
    assert ours == pytest.approx(entry.reference_params_m, rel=0.02), entry.reference_source


def test_every_entry_names_its_paper() -> None:
    assert all(entry.paper for entry in MODELS.values())


def test_unknown_names_and_arguments_list_the_valid_ones() -> None:
    with pytest.raises(BusbenchError, match=r"unknown model 'unet9' \(model.name\); did you mean unet, ") as error:
        build_model("unet9")
    assert "`busbench models` lists all" in str(error.value) and "attention_unet" not in str(error.value)
    with pytest.raises(BusbenchError, match=r"model 'unet'.*base_chanels.*model.kwargs"):
        build_model("unet", base_chanels=8)


@pytest.mark.parametrize(("typed", "meant"), [("unte", "unext"), ("cmunxt", "cmunext"), ("Swin_Unet", "swin_unet"),
                                              ("attention-unet", "attention_unet")])
def test_a_mistyped_model_name_suggests_the_few_names_it_resembles(typed: str, meant: str) -> None:
    with pytest.raises(BusbenchError) as error:
        resolve_model(typed)
    guess = str(error.value).split("did you mean ", 1)[1].split("?", 1)[0].split(", ")
    assert meant in guess and len(guess) <= 3, guess
    assert len(str(error.value)) < 300  # not the whole registry
