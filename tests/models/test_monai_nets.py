"""MONAI's networks by name, in 2-D: built, run at their smallest declared side, listed, and benchmarked."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from cli_runner import run_cli

pytest.importorskip("monai", reason="MONAI is not installed: pip install 'busbench[monai]' to test its networks")

from busbench import pipeline  # noqa: E402  (after the skip)
from busbench.config import load_config  # noqa: E402
from busbench.errors import BusbenchError  # noqa: E402
from busbench.models import available_models, build_model, registry  # noqa: E402
from busbench.models.monai_nets import NEED_EINOPS, NETWORKS, dyn_unet_strides  # noqa: E402
from busbench.models.profile import ProfileInput, Timing, profile_models  # noqa: E402


def smallest_side(name: str) -> int:
    entry = available_models()[name]
    return max(entry.min_size, 16) + (-max(entry.min_size, 16)) % entry.size_multiple


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_builds_in_2d_and_trains_at_its_smallest_declared_side(name: str) -> None:
    if name in NEED_EINOPS:
        pytest.importorskip("einops", reason=f"{name} needs einops: pip install 'busbench[monai]'")
    entry = available_models()[name]
    side = smallest_side(name)
    torch.manual_seed(0)
    model = build_model(name, in_channels=1, num_classes=1, **{**entry.test_kwargs, **entry.size_kwargs(side)})
    assert not any(isinstance(m, torch.nn.Conv3d) for m in model.modules())
    out = model.train()(torch.rand(2, 1, side, side))
    assert out.shape == (2, 1, side, side)
    out.mean().backward()
    with torch.no_grad():
        assert model.eval()(torch.rand(1, 1, side, side)).shape == (1, 1, side, side)


def test_dyn_unet_halves_while_the_side_is_even_and_at_least_8_px() -> None:
    assert dyn_unet_strides(256) == [1, 2, 2, 2, 2, 2]  # 256 -> 8: five halvings, the most
    assert dyn_unet_strides(64) == [1, 2, 2, 2]  # 64 -> 32 -> 16 -> 8
    assert dyn_unet_strides(96) == [1, 2, 2, 2]  # 96 -> 48 -> 24 -> 12; 6 would be below 8
    assert dyn_unet_strides(40) == [1, 2, 2]  # 40 -> 20 -> 10; 5 is odd and below 8


def test_size_arguments_follow_the_input_side() -> None:
    pytest.importorskip("einops", reason="monai.UNETR needs einops: pip install 'busbench[monai]'")
    with pytest.raises(BusbenchError, match=r"built for img_size=256 but input.size=64: set model.kwargs.img_size=64"):
        load_config(None, ["model.name=monai.UNETR", "input.size=64"])
    with pytest.raises(BusbenchError, match=r"input.size=48 does not suit model 'monai.SwinUNETR'.*64"):
        load_config(None, ["model.name=monai.SwinUNETR", "input.size=48"])


def test_model_kwargs_override_the_2d_defaults() -> None:
    default = build_model("monai.UNet", in_channels=1)
    narrow = build_model("monai.UNet", in_channels=1, channels=(4, 8, 16, 32, 64))
    assert sum(p.numel() for p in narrow.parameters()) < sum(p.numel() for p in default.parameters()) / 10


def test_models_lists_them_with_paper_and_origin(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(registry, "MODELS", {})  # busbench's own models are listed (and timed) elsewhere
    assert run_cli(monkeypatch, "models") == 0
    printed = capsys.readouterr().out
    expected = [n for n in NETWORKS if n not in NEED_EINOPS or importlib.util.find_spec("einops")]
    assert [n for n in NETWORKS if n in printed] == expected
    assert "Myronenko" in printed and "Isensee" in printed and "MONAI 1." in printed


def test_a_short_run_with_a_monai_network_records_its_origin(tmp_path: Path) -> None:
    cfg = load_config(None, [
        "name=m", f"output_dir={tmp_path}", "data.options.count=24", "data.options.size=40", "split.folds=2",
        "input.size=32", "model.name=monai.SegResNet", "model.kwargs.init_filters=8", "train.epochs=1",
        "train.batch_size=8",
    ])
    summary = pipeline.run_experiment(cfg)
    assert summary["variant"].tolist() == ["fold models", "ensemble", "ensemble + post-processing"]
    cell = tmp_path / "m" / cfg.data.key() / cfg.model.key()
    assert cfg.model.key().startswith("monai.SegResNet-")
    origin = json.loads((cell / "environment.json").read_text())["model_origin"]
    assert origin.startswith("MONAI 1.") and origin in (cell / "summary.md").read_text()



def test_profile_builds_a_size_dependent_network_for_the_profiled_side() -> None:
    table = profile_models(["monai.DynUNet"], ProfileInput(size=32, batch=1, channels=1),
                           timing=Timing(iterations=1, seconds=0.0))
    assert table.loc[0, "input"] == "1x32x32" and table.loc[0, "gflops"] > 0
    with pytest.raises(BusbenchError, match=r"--size=36 does not suit model 'monai.DynUNet'.*32 or 40"):
        profile_models(["monai.DynUNet"], ProfileInput(size=36))
