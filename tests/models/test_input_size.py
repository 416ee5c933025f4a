"""Each model's declared input sides: a valid side runs, an invalid one is refused before any work."""

from __future__ import annotations

import pytest
import torch

from busbench.config import load_config
from busbench.errors import BusbenchError
from busbench.models import MODELS, build_model, check_input_size

NAMES = sorted(MODELS)


def odd_multiple(name: str) -> int:
    """A valid side that is an odd multiple of the declared step: passes only if the step is not too small."""
    entry = MODELS[name]
    size = entry.size_multiple
    while size < max(entry.min_size, 48) or (size // entry.size_multiple) % 2 == 0:
        size += entry.size_multiple
    return size


def runs_at(name: str, size: int) -> bool:
    entry = MODELS[name]
    model = build_model(name, in_channels=1, **{**entry.test_kwargs, **entry.size_kwargs(size)}).eval()
    try:
        with torch.no_grad():
            return model(torch.rand(1, 1, size, size)).shape == (1, 1, size, size)
    except RuntimeError:
        return False


@pytest.mark.parametrize("name", NAMES)
def test_a_declared_size_runs_and_an_undeclared_one_is_refused(name: str) -> None:
    torch.manual_seed(0)
    entry = MODELS[name]
    valid = odd_multiple(name)
    check_input_size(name, valid, entry.size_kwargs(valid))
    assert runs_at(name, valid)
    invalid = valid + entry.size_multiple // 2
    assert not runs_at(name, invalid)  # the constraint is real, not merely declared
    with pytest.raises(BusbenchError, match=rf"input.size={invalid} .*nearest valid sizes: {valid} or "
                                            rf"{valid + entry.size_multiple}"):
        check_input_size(name, invalid, entry.size_kwargs(invalid))


def test_nearest_sizes_by_hand() -> None:
    with pytest.raises(BusbenchError, match="nearest valid sizes: 96 or 112"):
        check_input_size("unet", 100)
    with pytest.raises(BusbenchError, match="nearest valid sizes: 64 or 96"):
        check_input_size("unext", 80)
    with pytest.raises(BusbenchError, match="nearest valid sizes: 128 or 256"):
        check_input_size("medt", 224, {"img_size": 224})
    with pytest.raises(BusbenchError, match="nearest valid sizes: 128$"):
        check_input_size("medt", 64, {"img_size": 64})


def test_config_refuses_a_bad_size_when_loaded_also_in_a_grid_cell() -> None:
    assert load_config(None, ["input.size=96"]).input.size == 96
    with pytest.raises(BusbenchError, match="input.size=100 does not suit model 'unet'.*96 or 112"):
        load_config(None, ["input.size=100"])
    grid = ["input.size=64", "grid.models=[{name: unet}, {name: medt, kwargs: {img_size: 64}}]"]
    with pytest.raises(BusbenchError, match="input.size=64 does not suit model 'medt'.*128"):
        load_config(None, grid)
    with pytest.raises(BusbenchError, match=r"set model.kwargs.img_size=128"):
        load_config(None, ["input.size=128", "model.name=medt"])
    assert load_config(None, ["input.size=128", "model.name=medt", "model.kwargs.img_size=128"]).input.size == 128
