"""train.compile: the compiled network trains like the plain one, and checkpoints stay plain."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_trainer import tiny_config
from torch import nn

from busbench.data.access import DevelopmentSplit, development_split
from busbench.data.cache import Cache, build_cache
from busbench.data.manifest import Manifest
from busbench.data.split.split_file import SplitSettings, plan_split, write_split
from busbench.errors import BusbenchError
from busbench.layout.folders import BEST
from busbench.losses import build_loss
from busbench.train import checkpoint, compile
from busbench.train.compile import compile_network
from busbench.train.deep_supervision import DeepSupervisionLoss
from busbench.train.trainer import FoldJob, Update, train_fold, train_step

CPU = torch.device("cpu")


def _tiny_network() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 1, 1))


def _train(network: nn.Module, model: nn.Module, steps: int) -> list[float]:
    generator = torch.Generator().manual_seed(1)
    image = torch.rand(4, 1, 16, 16, generator=generator)
    mask = (torch.rand(4, 1, 16, 16, generator=generator) > 0.7).float()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    loss_fn = DeepSupervisionLoss(build_loss("bce_dice"))  # as the trainer wraps it
    update = Update(loss_fn, optimizer, scaler, None, 1.0)
    return [float(train_step(network, image, mask, update)) for _ in range(steps)]


def test_compile_off_returns_the_network_itself() -> None:
    network = _tiny_network()
    assert compile_network(network, False, CPU) is network


def test_compiled_training_matches_plain_training() -> None:
    plain, original = _tiny_network(), _tiny_network()
    compiled = compile_network(original, True, CPU, backend="eager")
    assert isinstance(compiled, torch._dynamo.eval_frame.OptimizedModule) and compiled is not original
    plain_losses, compiled_losses = _train(plain, plain, 3), _train(compiled, original, 3)
    assert compiled_losses == pytest.approx(plain_losses, rel=1e-5)
    assert plain_losses[2] < plain_losses[0]  # the steps do train
    for (name, a), (other, b) in zip(plain.state_dict().items(), original.state_dict().items()):
        assert name == other and torch.allclose(a, b, atol=1e-6), name


def test_inductor_on_the_cpu_needs_a_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setattr(compile.shutil, "which", lambda _: None)
    with pytest.raises(BusbenchError, match=r"train.compile=true needs a C\+\+ compiler.*set train.compile=false"):
        compile_network(_tiny_network(), True, CPU)
    compile_network(_tiny_network(), True, CPU, backend="eager")  # no C++ needed there


@pytest.fixture(scope="module")
def fold_inputs(synthetic_manifest: Manifest, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[DevelopmentSplit, Cache]:
    base = tmp_path_factory.mktemp("compile")
    write_split(plan_split(synthetic_manifest, SplitSettings(folds=2)), base / "split.json")
    return development_split(base / "split.json", synthetic_manifest), build_cache(synthetic_manifest, 32,
                                                                                  cache_root=base)


def test_trainer_compiles_and_saves_plain_weights(fold_inputs, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    development, cache = fold_inputs
    compiled: list[nn.Module] = []
    real_compile = torch.compile

    def eager_compile(network: nn.Module, backend: str) -> nn.Module:
        compiled.append(network)
        return real_compile(network, backend="eager")

    monkeypatch.setattr(compile.torch, "compile", eager_compile)
    plain = train_fold(tiny_config(epochs=2).training_recipe(), FoldJob(development, cache, 1, tmp_path / "plain"), CPU)
    assert not compiled
    state = train_fold(tiny_config(epochs=2, compile="true").training_recipe(),
                       FoldJob(development, cache, 1, tmp_path / "compiled"), CPU)
    assert len(compiled) == 1
    assert [h["train_loss"] for h in state.history] == pytest.approx([h["train_loss"] for h in plain.history],
                                                                      rel=1e-4)
    weights = checkpoint.load(tmp_path / "compiled" / BEST)["model"]
    reference = checkpoint.load(tmp_path / "plain" / BEST)["model"]
    assert list(weights) == list(reference)  # no "_orig_mod." prefix: the checkpoint loads without compile
    assert all(torch.allclose(weights[k].float(), reference[k].float(), atol=1e-4) for k in weights)


def test_inductor_compiles_a_tiny_network() -> None:
    """The real backend, once: C++ code generated, built and run on this CPU (about 10-40 s here)."""
    network = _tiny_network().eval()
    x = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        expected, got = network(x), compile_network(network, True, CPU)(x)
    assert torch.allclose(got, expected, atol=1e-5)


def test_eval_compile_compiles_the_fold_models_for_test_inference(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from busbench.config import load_config
    from busbench.pipeline import run_experiment

    compiled: list[nn.Module] = []
    real_compile = torch.compile
    monkeypatch.setattr(compile.torch, "compile",
                        lambda network, backend: compiled.append(network) or real_compile(network, backend="eager"))
    settings = [f"output_dir={tmp_path}", "data.options.count=30", "data.options.size=40", "split.folds=2",
                "input.size=32", "model.kwargs.base_channels=4", "train.epochs=1", "eval.tta=[]",
                "eval.postprocess=false", "train.threads=1",
                # the two runs train their own folds: on CUDA (cuDNN's benchmark, kernels without a deterministic
                # backward) two trainings differ by more than 1e-5, on the CPU they repeat bit for bit
                "train.device=cpu"]
    plain = run_experiment(load_config(None, [*settings, "name=plain"]))
    assert not compiled
    scored = run_experiment(load_config(None, [*settings, "name=compiled", "eval.compile=true"]))
    assert len(compiled) >= 2 and all(not isinstance(m, torch._dynamo.eval_frame.OptimizedModule) for m in compiled)
    assert scored["dice_mean"].tolist() == pytest.approx(plain["dice_mean"].tolist(), abs=1e-5)
    with pytest.raises(BusbenchError, match="eval.compile=true needs a C"):
        monkeypatch.setattr(compile.torch, "compile", real_compile)
        monkeypatch.setattr(compile.shutil, "which", lambda _: None)
        compile_network(_tiny_network(), True, CPU, setting="eval.compile")


def test_inductor_on_cuda_needs_a_c_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    """Triton builds a C launcher per kernel: without cc/gcc/clang a one-line error, not a traceback at step 1."""
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setattr(compile.shutil, "which", lambda _: None)
    with pytest.raises(BusbenchError, match=r"train.compile=true needs a C compiler \(one of cc, gcc, clang"):
        compile_network(_tiny_network(), True, torch.device("cuda"))
    monkeypatch.setenv("CC", "/opt/gcc/bin/gcc")
    compiled = compile_network(_tiny_network(), True, torch.device("cuda"))  # compiles lazily, at the first call
    assert isinstance(compiled, torch._dynamo.eval_frame.OptimizedModule)
