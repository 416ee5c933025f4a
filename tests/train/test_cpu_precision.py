"""bf16 on the CPU only where the CPU computes it natively: the probe, the choice and its one line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from busbench.errors import BusbenchError
from busbench.train import device
from busbench.train.device import autocast_dtype, choose_precision, inference_precision, log_precision

CPU = torch.device("cpu")
X86_FLAGS = "fpu vme avx2 avx512f avx512bw"


def test_auto_takes_bf16_only_where_the_cpu_has_it(cpu_bf16: Callable[[bool], None]) -> None:
    cpu_bf16(True)
    native = choose_precision("auto", CPU)
    assert native.dtype is torch.bfloat16 and not native.overridden
    assert native.reason == "train.amp=auto: the CPU has native bf16 (avx512_bf16)"
    cpu_bf16(False)
    emulated = choose_precision("auto", CPU)
    assert emulated.dtype is None and not emulated.overridden and emulated.name == "fp32"
    assert emulated.reason.startswith("train.amp=auto: the CPU (") and emulated.reason.endswith(
        "lacks native bf16 (none of amx_bf16, avx512_bf16, bf16), so fp32")


def test_bf16_asked_for_on_a_cpu_without_it_computes_in_fp32(cpu_bf16: Callable[[bool], None],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Emulated bf16 matmuls ran ~300x slower than fp32 on an AVX2-only EPYC: the demo took 7.5 min."""
    monkeypatch.setattr(device, "cpu_name", lambda: "AMD EPYC 7B12")
    cpu_bf16(False)
    chosen = choose_precision("bf16", CPU)
    assert chosen.dtype is None and chosen.overridden
    assert chosen.reason.startswith("train.amp=bf16 ignored: the CPU (AMD EPYC 7B12) lacks native bf16")
    assert "~300x slower than fp32; computing in fp32 instead" in chosen.reason
    assert autocast_dtype("bf16", CPU) is None  # what the trainer, the folds' scoring and the ensemble use
    assert choose_precision("bf16", CPU, "--amp").reason.startswith("--amp=bf16 ignored")
    cpu_bf16(True)
    assert choose_precision("bf16", CPU).dtype is torch.bfloat16


def test_off_unknown_and_fp16_on_the_cpu(cpu_bf16: Callable[[bool], None]) -> None:
    cpu_bf16(True)
    assert choose_precision("off", CPU).dtype is None
    with pytest.raises(BusbenchError, match="train.amp=fp16 needs a CUDA device; use train.amp=auto"):
        choose_precision("fp16", CPU)
    with pytest.raises(BusbenchError, match="--amp=fp32: unknown precision; choose from auto, off, bf16, fp16"):
        inference_precision("fp32", CPU, "--amp")


@pytest.mark.parametrize("native", [True, False])
def test_inference_follows_the_same_rule(cpu_bf16: Callable[[bool], None], native: bool) -> None:
    """A run trained in fp16 on a GPU is predicted in fp32 on the CPU; bf16 only where it is native."""
    cpu_bf16(native)
    assert inference_precision("fp16", CPU).dtype is None
    assert inference_precision("bf16", CPU).dtype is (torch.bfloat16 if native else None)
    assert inference_precision("auto", CPU).dtype is (torch.bfloat16 if native else None)


@pytest.mark.parametrize(("native", "level", "line"), [
    (True, logging.INFO, "precision: bf16 (train.amp=bf16: the CPU has native bf16 (avx512_bf16))"),
    (False, logging.WARNING, "warning: train.amp=bf16 ignored: the CPU ("),
])
def test_the_choice_is_one_line(cpu_bf16: Callable[[bool], None], monkeypatch: pytest.MonkeyPatch,
                                caplog: pytest.LogCaptureFixture, native: bool, level: int, line: str) -> None:
    cpu_bf16(native)
    with caplog.at_level(logging.INFO, logger="busbench"):
        log_precision(choose_precision("bf16", CPU))
    assert [(r.levelno, r.getMessage()[:len(line)]) for r in caplog.records] == [(level, line)]


def _no_torch_probe(monkeypatch: pytest.MonkeyPatch, cpuinfo: str | None, tmp_path: Path) -> None:
    """An older torch (no ``torch.cpu.get_capabilities``) on a Linux whose /proc/cpuinfo reads ``cpuinfo``."""
    monkeypatch.delattr(torch.cpu, "get_capabilities", raising=False)
    path = tmp_path / "cpuinfo"
    if cpuinfo is not None:
        path.write_text(cpuinfo)
    monkeypatch.setattr(device, "CPUINFO", path)


@pytest.mark.parametrize(("cpuinfo", "features"), [
    (f"model name\t: AMD EPYC 7B12\nflags\t\t: {X86_FLAGS}\n", []),  # Zen 2: AVX2 only
    (f"model name\t: AMD EPYC 9B14\nflags\t\t: {X86_FLAGS} avx512_bf16\n", ["avx512_bf16"]),  # Zen 4
    (f"model name\t: Intel Xeon\nflags\t\t: {X86_FLAGS} avx512_bf16 amx_bf16 amx_tile\n", ["amx_bf16", "avx512_bf16"]),
    ("processor\t: 0\nFeatures\t: fp asimd sve i8mm bf16\n", ["bf16"]),  # Graviton 3
    ("processor\t: 0\nFeatures\t: fp asimd\n", []),
    (None, []),  # no /proc/cpuinfo (macOS, Windows): fp32, the safe side
])
def test_without_torchs_probe_the_flags_of_proc_cpuinfo_decide(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                               cpuinfo: str | None, features: list[str]) -> None:
    _no_torch_probe(monkeypatch, cpuinfo, tmp_path)
    assert device.cpu_bf16_features() == features


def test_the_cpu_is_named_by_its_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _no_torch_probe(monkeypatch, f"model name\t: AMD EPYC 7B12\nflags\t\t: {X86_FLAGS}\n", tmp_path)
    assert device.cpu_name() == "AMD EPYC 7B12"


def test_torchs_probe_is_read_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cpu, "get_capabilities",
                        lambda: {"avx2": True, "avx512_bf16": False, "amx_bf16": True, "cpu_name": "Xeon"},
                        raising=False)
    monkeypatch.setattr(device, "CPUINFO", Path("/nonexistent/cpuinfo"))
    assert device.cpu_bf16_features() == ["amx_bf16"] and device.cpu_name() == "Xeon"


@pytest.mark.skipif(not (hasattr(torch.cpu, "get_capabilities") and device.CPUINFO.is_file()),
                    reason="needs torch's CPU probe and /proc/cpuinfo")
def test_torchs_probe_and_proc_cpuinfo_agree_on_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    from_torch = device.cpu_bf16_features()
    monkeypatch.delattr(torch.cpu, "get_capabilities")
    assert device.cpu_bf16_features() == from_torch
