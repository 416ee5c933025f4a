"""Model profiling: FLOP counts by hand (transposed convolutions included), the table's fields."""

from __future__ import annotations

import subprocess
import sys
import time
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from cli_runner import run_cli
from torch import nn

from busbench.errors import BusbenchError
from busbench.models import profile
from busbench.models.profile import ProfileInput, Timing, count_flops, peak_memory_mb, profile_models, timed_runs


def test_flops_by_hand() -> None:
    conv = nn.Conv2d(1, 2, 3, padding=1)
    assert count_flops(conv, torch.zeros(1, 1, 4, 4)) == 2 * (2 * 9 * 16)  # 2 x MACs
    transposed = nn.ConvTranspose2d(3, 5, kernel_size=2, stride=2)
    # each of the 3 x 2 x 2 input values meets a 5 x 2 x 2 kernel slice once: 240 MACs
    assert count_flops(transposed, torch.zeros(1, 3, 2, 2)) == 2 * 240
    linear = nn.Linear(10, 4)
    assert count_flops(linear, torch.zeros(3, 10)) == 2 * 3 * 10 * 4


def test_attention_flops_by_hand() -> None:
    # in-projections of q, k, v and the out-projection: 4 L E^2 MACs; q k^T and attention x v: 2 L^2 E
    length, dim = 10, 16
    attention = nn.MultiheadAttention(dim, num_heads=2, batch_first=True).eval()

    class SelfAttention(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return attention(x, x, x, need_weights=False)[0]

    expected_macs = 4 * length * dim**2 + 2 * length**2 * dim
    assert count_flops(SelfAttention(), torch.zeros(1, length, dim)) == 2 * expected_macs
    assert torch.backends.mha.get_fastpath_enabled()  # the fast path is restored for real inference


class Sleeper(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(0.05)
        return x


def test_timing_stops_at_the_iteration_or_time_limit() -> None:
    x = torch.zeros(1, 1)
    assert len(timed_runs(Sleeper(), x, warmup=1, iterations=3, seconds=float("inf"))) == 3
    started = time.perf_counter()
    times = timed_runs(Sleeper(), x, warmup=1, iterations=1000, seconds=0.3)
    assert 1 <= len(times) <= 6 and time.perf_counter() - started < 1.0
    assert len(timed_runs(Sleeper(), x, warmup=1, iterations=5, seconds=0.0)) == 1  # at least one timed run


def test_profile_table_fields() -> None:
    table = profile_models(["cmunext_s", "unext"], ProfileInput(size=64, batch=2, channels=1),
                           timing=Timing(warmup=1, iterations=2))
    assert list(table["model"]) == ["cmunext_s", "unext"]
    assert {"params_m", "macs_g", "gflops", "fps_batch1", "fps_batch2", "peak_memory_mb_batch2"} <= set(table)
    assert (table["gflops"] == 2 * table["macs_g"]).all()
    assert (table["fps_batch1"] > 0).all() and (table["fps_batch2"] > 0).all()
    assert table.loc[0, "params_m"] == pytest.approx(0.418, abs=0.001)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS is read from /proc")
def test_cpu_peak_memory_grows_with_the_batch() -> None:
    # Measured in a fresh interpreter, as `busbench profile` runs: inside a long pytest process the
    # allocator's state left by earlier tests can hide the rise of the resident peak.
    code = (
        "import torch; from torch import nn; from busbench.models.profile import peak_memory_mb\n"
        "model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 1, 3, padding=1))\n"
        "print(peak_memory_mb(model, torch.rand(1, 1, 128, 128)), peak_memory_mb(model, torch.rand(16, 1, 128, 128)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    small, large = (float(v) for v in done.stdout.split())
    assert large > small and large >= 16 * 32 * 128 * 128 * 4 / 2**20 * 0.9  # at least one activation


def test_models_and_profile_commands(tmp_path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    def run(*args: str) -> int:
        return run_cli(monkeypatch, *args)

    assert run("models") == 0
    printed = capsys.readouterr().out
    assert "34.53" in printed and "Ronneberger" in printed
    assert run("profile", "--model", "cmunext_s", "--size", "32", "--batch", "2", "--iterations", "1",
               "--out", str(tmp_path)) == 0
    assert (tmp_path / "profile.csv").is_file() and "cmunext_s" in (tmp_path / "profile.md").read_text()
    printed = capsys.readouterr().out
    for line in ("cmunext_s: 0.", "M parameters", "GMACs", "cmunext_s: batch 1:", "cmunext_s: batch 2:"):
        assert line in printed  # a line per measurement, also when the output is not a terminal
    assert run("profile", "--model", "resnet") == 2
    assert "unknown model 'resnet' (--model); did you mean " in capsys.readouterr().err
    assert run("profile", "--model", "unext", "--size", "48") == 2
    assert "--size=48 does not suit model 'unext'" in capsys.readouterr().err
    assert run("profile", "--help") == 0
    assert "under a minute" in capsys.readouterr().out


def test_profile_passes_the_size_argument_itself() -> None:
    table = profile_models(["medt"], ProfileInput(size=128, batch=1, channels=1),
                           timing=Timing(iterations=1, seconds=0.0))
    assert table.loc[0, "input"] == "1x128x128" and table.loc[0, "gflops"] > 0
    with pytest.raises(BusbenchError, match="--size=224 does not suit model 'medt'.*128 or 256"):
        profile_models(["medt"], ProfileInput(size=224))


def test_profile_times_in_the_requested_precision(tmp_path, monkeypatch: pytest.MonkeyPatch, cpu_bf16,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    cpu_bf16(True)  # bf16 only where the CPU has it natively
    plain = profile_models(["unext"], ProfileInput(size=32, batch=2, channels=1), timing=Timing(iterations=1))
    assert list(plain["precision"]) == ["fp32"]
    assert run_cli(monkeypatch, "profile", "--model", "unext", "--size", "32", "--batch", "2", "--channels", "1",
                   "--iterations", "1", "--amp", "bf16", "--device", "cpu", "--out", str(tmp_path)) == 0
    mixed = pd.read_csv(tmp_path / "profile.csv")
    assert list(mixed["precision"]) == ["bf16"]
    assert "precision: bf16 (--amp=bf16: the CPU has native bf16 (avx512_bf16))" in capsys.readouterr().out
    assert mixed.loc[0, "macs_g"] == pytest.approx(plain.loc[0, "macs_g"], abs=1e-4)  # FLOPs: precision-free
    assert run_cli(monkeypatch, "profile", "--model", "unext", "--amp", "fp16", "--device", "cpu") == 2


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16"), (False, "fp32")])
def test_profile_times_in_the_precision_a_run_would_use_by_default(tmp_path, monkeypatch: pytest.MonkeyPatch, cpu_bf16,
                                                                   native: bool, expected: str) -> None:
    """--amp defaults to auto: the precision `busbench run` trains and infers in on this device."""
    cpu_bf16(native)
    assert run_cli(monkeypatch, "profile", "--model", "unext", "--size", "32", "--batch", "1", "--channels", "1",
                   "--iterations", "1", "--seconds", "0", "--device", "cpu", "--out", str(tmp_path)) == 0
    assert list(pd.read_csv(tmp_path / "profile.csv")["precision"]) == [expected]
    assert f"| {expected} |" in (tmp_path / "profile.md").read_text()


@pytest.mark.parametrize(("device", "benchmark"), [("cuda", True), ("cpu", False)])
def test_cudnn_picks_its_fastest_algorithms_while_profiling_on_cuda(monkeypatch: pytest.MonkeyPatch, device: str,
                                                                    benchmark: bool) -> None:
    """As CUDA training does; the setting is restored after."""
    seen: list[bool] = []
    monkeypatch.setattr(profile, "profile_model", lambda *args: seen.append(torch.backends.cudnn.benchmark) or {})
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    profile_models(["unext"], ProfileInput(size=32), torch.device(device))
    assert seen == [benchmark] and torch.backends.cudnn.benchmark is False


class CallLog(nn.Module):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def forward(self, x: object) -> None:
        self.log.append("forward")


def test_cuda_peak_memory_is_measured_after_a_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first run of a model allocates cuDNN workspaces and fills the caching allocator: the peak
    counts from a reset after it, so it no longer depends on which model was profiled first."""
    log: list[str] = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: None)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device=None: log.append("reset"))
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: 2**20)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 3 * 2**20)
    x = SimpleNamespace(device=torch.device("cuda"))
    assert peak_memory_mb(CallLog(log), x) == 2.0  # type: ignore[arg-type]
    assert log == ["forward", "reset", "forward"]
