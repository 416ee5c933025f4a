"""Device and mixed-precision choices (the CUDA branches are exercised where a GPU is present)."""

from __future__ import annotations

import threading
from contextlib import nullcontext

import pytest
import torch
from torch import nn

from busbench.environment import environment
from busbench.errors import BusbenchError
from busbench.models.precision import AutocastForward
from busbench.train import device as device_module
from busbench.train import trainer
from busbench.train.device import (
    MAX_AUTO_WORKERS,
    autocast_dtype,
    replica_devices,
    resolve_device,
    resolve_workers,
)
from busbench.train.seeding import deterministic_default, seed_everything

CUDA = torch.device("cuda")


def test_device_resolution() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(BusbenchError, match="^--device 'cuda' but this machine has no CUDA device; set --device "
                                                "to cpu$"):
            resolve_device("cuda", "--device")
    for typo in ("gpu", "cuda1", "CPU"):  # torch's parse error, as one line naming the setting
        with pytest.raises(BusbenchError, match=rf"^train.device '{typo}' is not a device; use auto, cpu, cuda or "
                                                r"cuda:N \(a GPU's number\)$"):
            resolve_device(typo)


def test_a_numbered_gpu_becomes_the_current_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Else the loaders' pin-memory thread makes a context and pinned buffers on GPU 0 (the current one)."""
    made_current: list[torch.device] = []
    monkeypatch.setattr(torch.cuda, "set_device", made_current.append)
    assert resolve_device("cpu").type == "cpu" and made_current == []
    _gpu(monkeypatch, True, count=2)
    assert resolve_device("cuda:1") == torch.device("cuda:1") and made_current == [torch.device("cuda:1")]
    assert resolve_device("cuda") == CUDA and resolve_device("auto") == CUDA  # the current GPU already
    assert made_current == [torch.device("cuda:1")]
    with pytest.raises(BusbenchError, match=r"^train.device 'cuda:2' but this machine shows 2 CUDA device\(s\), "
                                            r"numbered from 0 \(after CUDA_VISIBLE_DEVICES\); set train.device to "
                                            r"cuda:0 to cuda:1, or cuda$"):
        resolve_device("cuda:2")
    assert len(made_current) == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_autocast_dtype() -> None:
    cuda = torch.device("cuda")
    expected = torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16
    assert autocast_dtype("auto", cuda) is expected
    assert autocast_dtype("fp16", cuda) is torch.float16


def test_multi_gpu_needs_two_cuda_devices() -> None:
    from torch import nn

    from busbench.train.trainer import spread_over_gpus

    if torch.cuda.device_count() >= 2:
        assert isinstance(spread_over_gpus(nn.Conv2d(1, 1, 1).cuda(), torch.device("cuda"), None), nn.DataParallel)
        return
    with pytest.raises(BusbenchError, match="train.multi_gpu needs at least 2 CUDA devices"):
        spread_over_gpus(nn.Conv2d(1, 1, 1), torch.device("cpu"), None)


def _gpu(monkeypatch: pytest.MonkeyPatch, native_bf16: bool, count: int = 1) -> None:
    """A CPU machine that answers like a CUDA one: ``is_bf16_supported`` counts emulation unless told not to."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(torch.cuda, "device", lambda _: nullcontext())
    monkeypatch.setattr(torch.cuda, "is_bf16_supported",
                        lambda including_emulation=True: native_bf16 or including_emulation)


@pytest.mark.parametrize(("native", "expected"), [(False, torch.float16), (True, torch.bfloat16)])
def test_auto_amp_takes_fp16_where_bf16_is_only_emulated(monkeypatch: pytest.MonkeyPatch, native: bool,
                                                         expected: torch.dtype) -> None:
    """T4, V100, RTX 20xx emulate bf16 (compute capability < 8): fp16 with the scaler is their fast path."""
    _gpu(monkeypatch, native)
    assert autocast_dtype("auto", CUDA) is expected
    assert autocast_dtype("bf16", CUDA) is torch.bfloat16  # forced stays forced


class DtypeProbe(nn.Module):
    """Records the autocast state its forward runs under."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)
        self.seen: list[torch.dtype] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x)
        self.seen.append(out.dtype)
        return out


def _as_a_replica(module: nn.Module, x: torch.Tensor) -> None:
    """What nn.parallel.parallel_apply does per replica: a new thread re-entering autocast with the
    enabled flag of the caller but not its dtype (torch/nn/parallel/parallel_apply.py, _worker)."""
    def worker() -> None:
        with torch.amp.autocast("cpu", enabled=True):
            module(x)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()


def test_data_parallel_replicas_run_in_the_configured_dtype() -> None:
    # On the CPU a new thread's autocast defaults to bf16 (fp16 on CUDA), so fp16 plays the configured
    # dtype here as bf16 does on a GPU.
    probe, x = DtypeProbe(), torch.rand(2, 4)
    _as_a_replica(probe, x)
    assert probe.seen == [torch.bfloat16]  # the mechanism: the thread's default, not the run's dtype
    probe.seen.clear()
    _as_a_replica(AutocastForward(probe, torch.float16), x)
    assert probe.seen == [torch.float16]


def test_multi_gpu_replicates_from_the_chosen_device(monkeypatch: pytest.MonkeyPatch) -> None:
    assert replica_devices(torch.device("cuda:1"), 3) == [1, 0, 2]
    assert replica_devices(CUDA, 2) == [0, 1]
    _gpu(monkeypatch, True, count=2)
    made: dict[str, object] = {}
    monkeypatch.setattr(trainer.nn, "DataParallel", lambda module, device_ids, output_device: made.update(
        module=module, device_ids=device_ids, output_device=output_device) or module)
    model = nn.Conv2d(1, 1, 1)
    wrapped = trainer.spread_over_gpus(model, torch.device("cuda:1"), torch.bfloat16)
    assert made["device_ids"] == [1, 0] and made["output_device"] == 1
    assert isinstance(wrapped, AutocastForward) and wrapped.module is model and wrapped.dtype is torch.bfloat16


def test_auto_workers_use_the_available_cores_on_cuda_only(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_workers("auto", torch.device("cpu")) == 0
    assert resolve_workers(3, torch.device("cpu")) == 3
    monkeypatch.setattr(device_module.os, "sched_getaffinity", lambda _: set(range(64)), raising=False)
    assert resolve_workers("auto", CUDA) == MAX_AUTO_WORKERS
    monkeypatch.setattr(device_module.os, "sched_getaffinity", lambda _: {0, 1, 2, 3})
    assert resolve_workers("auto", CUDA) == 3  # one core left for the training loop
    monkeypatch.setattr(device_module.os, "sched_getaffinity", lambda _: {0})
    assert resolve_workers("auto", CUDA) == 1


def test_deterministic_kernels_by_default_on_the_cpu_only() -> None:
    assert deterministic_default(None, torch.device("cpu")) is True
    assert deterministic_default(None, CUDA) is False
    assert deterministic_default(True, CUDA) is True
    try:
        seed_everything(0, deterministic=False)
        assert torch.backends.cudnn.benchmark and not torch.are_deterministic_algorithms_enabled()
        seed_everything(0, deterministic=True)
        assert not torch.backends.cudnn.benchmark and torch.are_deterministic_algorithms_enabled()
    finally:
        seed_everything(0)


def test_environment_names_the_gpu_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: f"GPU {torch.device(device).index}")
    assert environment(torch.device("cuda:1"))["cuda"] == "GPU 1"
    assert environment(torch.device("cpu"))["cuda"] is None


def test_shipped_configs_leave_the_precision_to_the_device() -> None:
    """bf16 forced is emulated (slow) on a T4 and on a CPU without native bf16, and was the default of
    every shipped config, then of the demo and the benchmarks; only the seeds' recipes fix fp32."""
    from pathlib import Path

    import busbench
    from busbench.config import load_config

    fixed = {"awesome_bus": "off", "cmunext": "off", "ccf_bdci_2021": "off"}
    configs = sorted((Path(busbench.__file__).parent / "configs").glob("*.yaml"))
    benchmarks = sorted((Path(__file__).resolve().parents[2] / "benchmarks").glob("*.yaml"))
    assert len(configs) >= 10 and len(benchmarks) >= 2
    for path in configs + benchmarks:
        assert load_config(path).train.amp == fixed.get(path.stem, "auto"), path.name


@pytest.mark.parametrize(("native", "expected"), [(False, None), (True, torch.bfloat16)])
def test_the_demo_computes_in_fp32_on_a_cpu_without_native_bf16(cpu_bf16, native: bool,
                                                                expected: torch.dtype | None) -> None:
    """On an AVX2-only EPYC the demo, then fixed to bf16, took 7 min 29 s instead of 40 s in fp32."""
    from busbench.cli.options import shipped_configs
    from busbench.config import load_config

    cpu_bf16(native)
    cfg = load_config(shipped_configs()["demo"])
    assert autocast_dtype(cfg.train.amp, torch.device("cpu")) is expected
