"""Your own model without forking busbench: by import path or by a plugin package's entry point.

The plugin package is written here into a temporary folder with a ``.dist-info`` beside it, as pip
would install it, so importlib.metadata finds its distribution, version and entry point.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cli_runner import run_cli

from busbench.config import ModelConfig, load_config
from busbench.errors import BusbenchError
from busbench.models import plugins, resolve_model
from busbench.train.trainer import build_fold_model

PLUGIN = '''
"""A plugin package as a user writes one."""
import torch
from torch import nn

CALLS = []  # (training, grad enabled, input shape) of every forward pass of ``counted``


class TinyNet(nn.Module):
    def __init__(self, in_channels, num_classes, width=4):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(width, num_classes, 1))

    def forward(self, x):
        return self.body(x)


class SkipNet(nn.Module):
    """Pools by 4 and adds the input back: a side that is no multiple of 4 fails."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.inner = nn.Sequential(nn.MaxPool2d(4), nn.Conv2d(in_channels, 4, 1), nn.Upsample(scale_factor=4))
        self.out = nn.Conv2d(4 + in_channels, num_classes, 1)

    def forward(self, x):
        return self.out(torch.cat([x, self.inner(x)], dim=1))


class Counted(TinyNet):
    def forward(self, x):
        CALLS.append((self.training, torch.is_grad_enabled(), tuple(x.shape)))
        return super().forward(x)


class DeepSupervision(TinyNet):
    def forward(self, x):
        main = super().forward(x)
        return [main, main[..., ::2, ::2]]


def build_model(in_channels, num_classes, **kwargs):
    return TinyNet(in_channels, num_classes, **kwargs)


def skip_net(in_channels, num_classes):
    return SkipNet(in_channels, num_classes)


def declared(in_channels, num_classes):
    return SkipNet(in_channels, num_classes)


declared.min_size = 32
declared.size_multiple = 16


def badly_declared(in_channels, num_classes):
    return TinyNet(in_channels, num_classes)


badly_declared.size_multiple = "16"


def counted(in_channels, num_classes):
    return Counted(in_channels, num_classes)


def deep(in_channels, num_classes):
    return DeepSupervision(in_channels, num_classes)


def two_channels(in_channels, num_classes):
    return TinyNet(in_channels, 2)


def not_a_module(in_channels, num_classes):
    return "a network"


not_callable = 42
'''

LOOSE = '''
from torch import nn


def build(in_channels, num_classes):
    return nn.Conv2d(in_channels, num_classes, 3, padding=1)
'''


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``plugin_pkg`` 0.1 installed (its entry point ``tiny_plugin``), and a loose module ``loose_nets``."""
    root = tmp_path_factory.mktemp("site")
    (root / "plugin_pkg").mkdir()
    (root / "plugin_pkg" / "__init__.py").write_text(PLUGIN)
    info = root / "plugin_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plugin-pkg\nVersion: 0.1\n")
    (info / "top_level.txt").write_text("plugin_pkg\n")
    (info / "entry_points.txt").write_text("[busbench.models]\ntiny_plugin = plugin_pkg:build_model\n")
    (root / "broken_plugin.py").write_text("import not_installed_dependency_xyz\n")
    loose = tmp_path_factory.mktemp("loose")
    (loose / "loose_nets.py").write_text(LOOSE)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        patch.syspath_prepend(str(loose))
        plugins.load_plugin.cache_clear()
        plugins._entry_points.cache_clear()
        yield root
    plugins.load_plugin.cache_clear()
    plugins._entry_points.cache_clear()


def tiny_run(out: Path, model: str) -> list[str]:
    return ["name=p", f"output_dir={out}", "data.options.count=24", "data.options.size=40", "split.folds=2",
            "input.size=32", f"model.name={model}", "train.epochs=1", "train.batch_size=8"]


def test_origin_names_the_distribution_or_the_source_sha256(plugin_path: Path) -> None:
    assert resolve_model("plugin_pkg:build_model").origin == "plugin_pkg:build_model from plugin-pkg 0.1"
    assert resolve_model("tiny_plugin").origin == "plugin_pkg:build_model from plugin-pkg 0.1"
    source = next(Path(p) for p in sys.path if (Path(p) / "loose_nets.py").is_file()) / "loose_nets.py"
    digest = subprocess.run(["sha256sum", str(source)], capture_output=True, text=True, check=True).stdout.split()[0]
    assert resolve_model("loose_nets:build").origin == f"loose_nets:build, not installed: loose_nets.py sha256 {digest}"


def test_an_import_path_makes_a_readable_folder_name(plugin_path: Path) -> None:
    key = ModelConfig(name="plugin_pkg:build_model").key()
    assert key.startswith("build_model-") and len(key) == len("build_model-") + 8 and ":" not in key
    assert ModelConfig(name="plugin_pkg:build_model", kwargs={"width": 2}).key() not in (key, "build_model")
    assert ModelConfig(name="plugin_pkg:build_model", label="mine").key() == "mine"
    assert ModelConfig(name="unet").key() == "unet"  # busbench's own names are unchanged


def test_run_by_import_path_then_predict_profile_and_report(plugin_path: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    origin = "plugin_pkg:build_model from plugin-pkg 0.1"
    config = tmp_path / "mine.yaml"
    config.write_text(yaml.safe_dump({"model": {"kwargs": {"width": 3}}}))
    sets = [item for s in tiny_run(tmp_path / "runs", "plugin_pkg:build_model") for item in ("--set", s)]
    assert run_cli(monkeypatch, "run", str(config), *sets) == 0
    printed = capsys.readouterr().out
    assert origin in printed
    [cell] = list((tmp_path / "runs" / "p").glob("synthetic-*/build_model-*"))
    assert json.loads((cell / "environment.json").read_text())["model_origin"] == origin
    for summary in (cell / "summary.md", tmp_path / "runs" / "p" / "summary.md"):
        assert origin in summary.read_text()
    assert (cell / "fold-2" / "best.pt").is_file()

    images = tmp_path / "new"
    images.mkdir()
    from PIL import Image

    Image.new("L", (40, 30), 90).save(images / "scan.png")
    assert run_cli(monkeypatch, "predict", "--run", str(cell), "--input", str(images), "--out", str(tmp_path / "pred"),
                   "--device", "cpu") == 0
    assert Image.open(tmp_path / "pred" / "masks" / "scan.png").size == (40, 30)

    assert run_cli(monkeypatch, "profile", "--model", "plugin_pkg:build_model", "--size", "32", "--batch", "2",
                   "--iterations", "1", "--seconds", "0", "--channels", "1",
                   "--out", str(tmp_path / "runs" / "prof")) == 0
    profile = (tmp_path / "runs" / "prof" / "profile.csv").read_text()
    assert "plugin_pkg:build_model" in profile
    capsys.readouterr()

    assert run_cli(monkeypatch, "report", str(tmp_path / "runs"), "--out", str(tmp_path / "report")) == 0
    tables = "".join(p.read_text() for p in (tmp_path / "report" / "tables").glob("*.md"))
    # the plugin's display name (its builder's name) with its arguments; the hashed key only in the legend
    assert "build_model-" not in tables and f"build_model (width 3): {origin}." in tables
    assert cell.name in (tmp_path / "report" / "setup.md").read_text()
    assert origin in capsys.readouterr().out


def test_run_by_entry_point_name_through_jobs(plugin_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "mine.yaml"
    config.write_text(yaml.safe_dump({}))
    sets = [item for s in tiny_run(tmp_path / "runs", "tiny_plugin") for item in ("--set", s)]
    assert run_cli(monkeypatch, "jobs", str(config), *sets) == 0
    first = capsys.readouterr().out.splitlines()[0].split(" run ", 1)[1].split()
    assert run_cli(monkeypatch, "run", *first) == 0
    [done] = list((tmp_path / "runs" / "p").glob("synthetic-*/tiny_plugin/fold-1/done.json"))
    env = json.loads((done.parent.parent / "environment.json").read_text())
    assert env["model_origin"] == "plugin_pkg:build_model from plugin-pkg 0.1"


def test_models_lists_installed_plugins_and_import_paths_with_their_origin(
        plugin_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, "models", "tiny_plugin", "loose_nets:build") == 0
    printed = capsys.readouterr().out
    assert "plugin-pkg 0.1" in printed and "loose_nets.py sha256" in printed
    assert "0.00" in printed  # 1x1x3x3 + 1 = 28 parameters for the loose Conv2d at 3 input channels


def test_validation_runs_no_model_and_building_runs_one_batch_1_eval_pass_without_grad(plugin_path: Path) -> None:
    cfg = load_config(None, ["model.name=plugin_pkg:counted", "input.size=48", "input.channels=3"])
    import plugin_pkg

    assert plugin_pkg.CALLS == []  # reading a config never runs the plugin
    build_fold_model(cfg.model, cfg.input)
    assert plugin_pkg.CALLS == [(False, False, (1, 3, 48, 48))]


def test_deep_supervision_output_is_accepted(plugin_path: Path) -> None:
    assert load_config(None, ["model.name=plugin_pkg:deep", "input.size=32"]).model.name == "plugin_pkg:deep"


def test_declared_sizes_are_used_before_any_pass(plugin_path: Path) -> None:
    assert load_config(None, ["model.name=plugin_pkg:declared", "input.size=48"]).input.size == 48
    with pytest.raises(BusbenchError, match=r"input.size=40 does not suit model 'plugin_pkg:declared'.*multiple of "
                                            r"16 px, at least 32; nearest valid sizes: 32 or 48"):
        load_config(None, ["model.name=plugin_pkg:declared", "input.size=40"])


ERRORS = {
    "a module that is not there": (
        "no_such_plugin_xyz:build", r"model.name=no_such_plugin_xyz:build: cannot import module 'no_such_plugin_xyz' "
                                    r"\(ModuleNotFoundError: No module named 'no_such_plugin_xyz'\); install"),
    "a module whose own import fails": (
        "broken_plugin:build", r"cannot import module 'broken_plugin' \(ModuleNotFoundError: No module named "
                               r"'not_installed_dependency_xyz'\)"),
    "a missing attribute": ("plugin_pkg:nope", r"module 'plugin_pkg' has no attribute 'nope'; check the spelling"),
    "an attribute that is not callable": ("plugin_pkg:not_callable", r"'not_callable' is a int, not callable"),
    "no nn.Module returned": ("plugin_pkg:not_a_module", r"model.name=plugin_pkg:not_a_module: the builder returned "
                                                         r"a str, not a torch.nn.Module"),
    "a wrong output shape": ("plugin_pkg:two_channels", r"model.name=plugin_pkg:two_channels: on a 1x1x34x34 input "
                                                        r"the model returns \(1, 2, 34, 34\), expected "
                                                        r"\(1, 1, 34, 34\)"),
    "an input size it cannot take": ("plugin_pkg:skip_net", r"model.name=plugin_pkg:skip_net: the model fails on a "
                                                            r"1x1x34x34 input \(RuntimeError: .*choose an input.size"),
    "a bad size declaration": ("plugin_pkg:badly_declared", r"the builder's size_multiple must be a positive integer"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_plugins_are_one_line_errors_naming_model_name(case: str, plugin_path: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    name, message = ERRORS[case]
    with pytest.raises(BusbenchError, match=message):  # on reading the config, or where the model is built
        cfg = load_config(None, [f"model.name={name}", "input.size=34"])
        build_fold_model(cfg.model, cfg.input)
    config = tmp_path / "mine.yaml"
    config.write_text(yaml.safe_dump({"model": {"name": name}, "input": {"size": 34}, "output_dir": str(tmp_path)}))
    assert run_cli(monkeypatch, "run", str(config)) == 2
    assert capsys.readouterr().err.startswith(f"error: model.name={name}: ")
    assert not (tmp_path / "data").exists()  # refused before any data is prepared
