"""nnunet_resenc_2d: nnU-Net's residual-encoder U-Net as nnUNetPlannerResEncM plans it for 256x256
single-channel images, checked against nnU-Net's own planner and network (nnunetv2) where installed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from absent import missing
from torch import nn

from busbench.config import load_config
from busbench.models import MODELS, build_model, count_parameters
from busbench.models.nnunet_resenc_2d import BasicBlockD, blocks_per_stage

TESTS = Path(__file__).parents[1]
CONFIGS = TESTS.parent / "src" / "busbench" / "configs"
PARAMS_256 = 105_915_302  # the docstring's count: 1 input channel, one output, deep supervision
PLANNERS = {"M": "nnUNetPlannerResEncM", "L": "nnUNetPlannerResEncL"}


def test_blocks_per_stage_are_the_planners() -> None:
    assert blocks_per_stage(7) == [1, 3, 4, 6, 6, 6, 6]
    assert blocks_per_stage(8) == [1, 3, 4, 6, 6, 6, 6, 6]
    assert blocks_per_stage(5) == [1, 3, 4, 6, 6]


def test_stages_blocks_and_skips_at_256_px() -> None:
    model = build_model("nnunet_resenc_2d", in_channels=1, img_size=256)
    assert model.sides == [256, 128, 64, 32, 16, 8, 4]
    assert model.widths == [32, 64, 128, 256, 512, 512, 512]
    assert [len(stage) for stage in model.encoder] == [1, 3, 4, 6, 6, 6, 6]
    first = [stage[0] for stage in model.encoder]
    assert [b.conv1[0].stride[0] for b in first] == [1, 2, 2, 2, 2, 2, 2]
    # the first block of a stage pools its skip where it strides and projects it where the width changes
    assert [[type(m).__name__ for m in b.skip] for b in first] == [
        [], *[["AvgPool2d", "Conv2d", "InstanceNorm2d"]] * 4, ["AvgPool2d"], ["AvgPool2d"]]
    later = [b for stage in model.encoder for b in stage[1:]]
    assert all(len(b.skip) == 0 and b.conv1[0].stride == (1, 1) for b in later)
    assert model.stem[0].in_channels == 1 and model.stem[0].out_channels == 32
    assert [len(stage) for stage in model.decoder] == [1] * 6  # one convolution per decoder stage


def _count_by_formula(widths: list[int], blocks: list[int], in_channels: int, classes: int) -> int:
    """Parameters of ResidualEncoderUNet written out: conv k x k with bias = k*k*in*out + out, affine
    instance norm = 2*out, 1x1 projection without bias = in*out (+ its norm), transposed 2x2 conv =
    4*in*out + out, one 1x1 head per decoder stage."""
    def conv_norm(c_in: int, c_out: int) -> int:
        return 9 * c_in * c_out + c_out + 2 * c_out

    total = conv_norm(in_channels, widths[0])  # the stem
    c_in = widths[0]
    for c, n in zip(widths, blocks):
        total += conv_norm(c_in, c) + conv_norm(c, c) + (c_in * c + 2 * c if c_in != c else 0)
        total += (n - 1) * 2 * conv_norm(c, c)
        c_in = c
    for below, c in zip(widths[:0:-1], widths[-2::-1]):  # decoder, bottom up
        total += 4 * below * c + c + conv_norm(2 * c, c) + c * classes + classes
    return total


def test_parameter_count_at_256_px_matches_a_count_by_formula() -> None:
    model = build_model("nnunet_resenc_2d", in_channels=1, num_classes=1, img_size=256)
    expected = _count_by_formula(model.widths, model.blocks, 1, 1)
    assert count_parameters(model) == expected == PARAMS_256


def test_each_residual_block_starts_as_its_skip() -> None:
    """nnU-Net zeroes the last norm of every block: at initialisation a block is act(skip(x))."""
    torch.manual_seed(0)
    model = build_model("nnunet_resenc_2d", in_channels=1, img_size=64, base_features=4, max_features=16)
    x = torch.randn(1, 8, 16, 16)
    block = model.encoder[2][0]  # strides and projects 8 -> 16
    assert isinstance(block, BasicBlockD)
    with torch.no_grad():
        torch.testing.assert_close(block(x), nn.functional.leaky_relu(block.skip(x), 0.01))
        assert block.conv2(block.conv1(x)).abs().max() == 0


def test_preset_trains_as_nnunet_2d_with_resenc_ms_batch() -> None:
    resenc = load_config(CONFIGS / "nnunet_resenc_2d.yaml").model_dump()
    plain = load_config(CONFIGS / "nnunet_2d.yaml").model_dump()
    assert resenc["model"] == {**plain["model"], "name": "nnunet_resenc_2d"}
    assert resenc["train"]["batch_size"] == 50 and plain["train"]["batch_size"] == 31
    differ = {key for key in resenc if resenc[key] != plain[key]}
    assert differ == {"name", "model", "train"}
    assert {k for k in resenc["train"] if resenc["train"][k] != plain["train"][k]} == {"batch_size"}


# nnU-Net's own planner and network as the oracle ----------------------------------------------------


@pytest.fixture(scope="module")
def nnunet_plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The 2-D configurations nnU-Net's ResEnc M and L planners make for a tiny 256x256 dataset."""
    try:
        import nnunetv2  # noqa: F401
    except ImportError:
        missing("nnunetv2 is not installed: nnU-Net's own planner and network are this test's oracle "
                "(`make install` installs it; by hand, see nnunet-oracle.txt)", "CI installs it with `make test`")
    root = tmp_path_factory.mktemp("nnunet")
    env = {**os.environ, **{name: str(root / name) for name in ("nnUNet_raw", "nnUNet_preprocessed",
                                                                  "nnUNet_results")}}
    out = root / "plans.json"
    done = subprocess.run([sys.executable, str(TESTS / "nnunet_planning.py"), str(out), *PLANNERS.values()],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    plans: dict[str, Any] = json.loads(out.read_text())
    return plans


def test_resenc_m_and_l_plan_busbenchs_network_for_256_px(nnunet_plans: dict[str, Any]) -> None:
    model = build_model("nnunet_resenc_2d", in_channels=1, img_size=256)
    n = len(model.widths)
    expected = {
        "n_stages": n, "features_per_stage": model.widths, "conv_op": "torch.nn.modules.conv.Conv2d",
        "kernel_sizes": [[3, 3]] * n, "strides": [[1, 1]] + [[2, 2]] * (n - 1), "n_blocks_per_stage": model.blocks,
        "n_conv_per_stage_decoder": [1] * (n - 1), "conv_bias": True,
        "norm_op": "torch.nn.modules.instancenorm.InstanceNorm2d", "norm_op_kwargs": {"eps": 1e-05, "affine": True},
        "dropout_op": None, "dropout_op_kwargs": None,
        "nonlin": "torch.nn.LeakyReLU", "nonlin_kwargs": {"inplace": True},  # LeakyReLU's default slope, 0.01
    }
    for preset, planner in PLANNERS.items():
        config = nnunet_plans[planner]["2d"]
        assert config["architecture"]["network_class_name"].endswith(".ResidualEncoderUNet"), preset
        assert config["architecture"]["arch_kwargs"] == expected, preset
        assert config["patch_size"] == [256, 256], preset
    # the presets differ in 2-D only in the batch size (for a training set as large as busi's)
    sizes = {p: nnunet_plans[planner]["batch_size_for_training_set"] for p, planner in PLANNERS.items()}
    assert sizes == {"M": 50, "L": 141}
    assert load_config(CONFIGS / "nnunet_resenc_2d.yaml").train.batch_size == sizes["M"]


def _nnunet_network(plans: dict[str, Any], classes: int, deep_supervision: bool, in_channels: int = 1) -> nn.Module:
    from nnunetv2.utilities.get_network_from_plans import get_network_from_plans

    arch = plans[PLANNERS["M"]]["2d"]["architecture"]
    network: nn.Module = get_network_from_plans(arch["network_class_name"], arch["arch_kwargs"],
                                                arch["_kw_requires_import"], in_channels, classes, allow_init=True,
                                                deep_supervision=deep_supervision)
    return network


def _nnunet_name(name: str, module: nn.Module) -> str:
    """busbench's module name -> the name of the same layer in nnU-Net's ResidualEncoderUNet."""
    skip = re.fullmatch(r"encoder\.(\d+)\.(\d+)\.skip\.(\d+)", name)
    if skip:  # ours: [pool,] conv, norm; nnU-Net's: [pool,] ConvDropoutNormReLU(conv, norm)
        stage, block, index = (int(g) for g in skip.groups())
        at, part = (index, "conv") if isinstance(module, nn.Conv2d) else (index - 1, "norm")
        return f"encoder.stages.{stage}.blocks.{block}.skip.{at}.{part}"
    rules = [(r"stem\.0", "encoder.stem.convs.0.conv"), (r"stem\.1", "encoder.stem.convs.0.norm"),
             (r"encoder\.(\d+)\.(\d+)\.(conv[12])\.0", r"encoder.stages.\1.blocks.\2.\3.conv"),
             (r"encoder\.(\d+)\.(\d+)\.(conv[12])\.1", r"encoder.stages.\1.blocks.\2.\3.norm"),
             (r"ups\.(\d+)", r"decoder.transpconvs.\1"), (r"decoder\.(\d+)\.0\.0", r"decoder.stages.\1.convs.0.conv"),
             (r"decoder\.(\d+)\.0\.1", r"decoder.stages.\1.convs.0.norm"), (r"heads\.(\d+)", r"decoder.seg_layers.\1")]
    for pattern, replacement in rules:
        if re.fullmatch(pattern, name):
            return re.sub(pattern, replacement, name)
    raise AssertionError(f"no nnU-Net name for {name}")


def _load_into_nnunet(ours: nn.Module, theirs: nn.Module) -> None:
    """Copy every parameter of ours into nnU-Net's network; each of theirs must be set exactly once."""
    set_ids: list[int] = []
    for name, module in ours.named_modules():
        own = dict(module.named_parameters(recurse=False))
        if not own:
            continue
        target = theirs.get_submodule(_nnunet_name(name, module))
        assert type(target) is type(module), name
        for key, value in own.items():
            param = getattr(target, key)
            assert param.shape == value.shape, f"{name}.{key}"
            param.data.copy_(value.data)
            set_ids.append(id(param))
    assert sorted(set_ids) == sorted(id(p) for p in theirs.parameters())


def test_outputs_and_parameters_match_nnunets_network(nnunet_plans: dict[str, Any]) -> None:
    """Same weights in busbench's model and nnU-Net's network from the plans (one output class both:
    nnU-Net trains 2 softmax channels for a binary problem, busbench one sigmoid logit)."""
    torch.manual_seed(0)
    ours = build_model("nnunet_resenc_2d", in_channels=1, num_classes=1, img_size=256, deep_supervision=True)
    with torch.no_grad():  # norms away from nnU-Net's 0 and 1, so every residual branch counts
        for module in ours.modules():
            if isinstance(module, nn.InstanceNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
    theirs = _nnunet_network(nnunet_plans, classes=1, deep_supervision=True)
    assert count_parameters(theirs) == count_parameters(ours) == PARAMS_256
    # nnU-Net's two softmax channels: one more weight per feature and one bias in each of the 6 heads
    two = _nnunet_network(nnunet_plans, classes=2, deep_supervision=True)
    assert count_parameters(two) - PARAMS_256 == sum(ours.widths[:-1]) + 6 == 1_510
    # the registry's count (3 channels, `busbench models`) is nnU-Net's
    rgb = count_parameters(_nnunet_network(nnunet_plans, classes=1, deep_supervision=True, in_channels=3))
    assert rgb == count_parameters(build_model("nnunet_resenc_2d", in_channels=3, img_size=256)) == 105_915_878
    assert MODELS["nnunet_resenc_2d"].reference_params_m == round(rgb / 1e6, 2)
    _load_into_nnunet(ours, theirs)
    x = torch.rand(1, 1, 256, 256)
    with torch.no_grad():
        mine, reference = ours.train()(x), theirs.train()(x)
        assert [o.shape for o in mine] == [o.shape for o in reference] and len(mine) == 6
        for a, b in zip(mine, reference):
            assert (a - b).abs().max() <= 1e-5
        theirs.decoder.deep_supervision = False  # how nnU-Net predicts
        assert (ours.eval()(x) - theirs.eval()(x)).abs().max() <= 1e-5
