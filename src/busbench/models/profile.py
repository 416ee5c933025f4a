"""`busbench profile`: size, compute, speed and memory of each model at a given input size.

* Parameters: trainable parameters.
* MACs and GFLOPs: torch's own FLOP counter (``torch.utils.flop_counter``), which counts the
  multiply-adds of convolutions, transposed convolutions and matrix products exactly from the
  traced operations (thop over-counts transposed convolutions); GFLOPs = 2 x MACs / 1e9, the
  convention of the BUS benchmark tables. Element-wise operations are not counted, as in fvcore.
  Attention is counted on its math path: the fused fast path of ``nn.MultiheadAttention`` in
  inference is one opaque operation the counter sees as 0 FLOPs (TransUNet: 30.0 instead of 38.4
  GMACs at 256 px).
* MACs @224: the same count at 1 x C x 224 x 224, the input at which the BUS benchmark seeds call
  thop and print its MAC count as "GFLOPs", so a row can be set beside a published one. A model
  that cannot take 224 px is counted at the nearest side it accepts, which the table names.
* Throughput: images per second of inference at batch 1 and batch N, after warm-up iterations,
  with the device synchronised around each timed iteration on CUDA; the median iteration counts.
  Timing stops after ``iterations`` timed runs or ``seconds`` (warm-up included), whichever comes
  first, with at least one timed run, so a large model on a small CPU still finishes.
* Precision: ``busbench profile`` times and measures memory under autocast in the precision
  ``--amp`` gives on the device, by default what ``train.amp: auto`` gives there (as the pipeline
  infers), named in the ``precision`` column; ``profile_models`` takes the dtype (None: fp32).
  FLOPs are counted the same either way.
* cuDNN: on CUDA in its benchmark mode, which picks the fastest convolution algorithm per input
  shape during the warm-up run, as CUDA training does (``train.seeding``).
* Peak memory: on CUDA, the peak allocated by one batch-N inference after a warm-up run and
  ``reset_peak_memory_stats`` (so cuDNN workspaces and the allocator's state left by a model
  profiled before do not count); on the CPU (Linux/glibc),
  the rise of the process's peak resident memory during it (``VmHWM``, reset first). For that
  figure to mean anything, glibc's mmap threshold is fixed at 128 KiB, so every tensor larger than
  that is mapped fresh and returned when freed instead of reusing memory already resident.
  Elsewhere it is not given.
"""

from __future__ import annotations

import ctypes
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from busbench.models.precision import AutocastForward, precision_name
from busbench.models.registry import build_model, check_input_size, check_plugin_input, count_parameters, resolve_model

Report = Callable[[str], None]


@dataclass(frozen=True)
class ProfileInput:
    """The input every model is profiled on: ``batch`` images of ``channels`` x ``size`` x ``size``
    (the FLOPs and the batch-1 speed are measured on one of them)."""

    size: int = 256
    batch: int = 8
    channels: int = 3

    def shape(self) -> str:
        return f"{self.channels}x{self.size}x{self.size}"


@dataclass(frozen=True)
class Timing:
    """How each speed is measured: ``warmup`` untimed runs, then up to ``iterations`` timed ones,
    stopping once ``seconds`` have passed (at least one timed run)."""

    warmup: int = 1
    iterations: int = 10
    seconds: float = 10.0


@contextmanager
def countable_attention() -> Iterator[None]:
    """Attention as matrix products the FLOP counter sees: no fused fast path, the math kernel."""
    fast_path = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fast_path)


def count_flops(model: torch.nn.Module, x: torch.Tensor) -> int:
    """FLOPs (2 per multiply-add) of one forward pass on ``x``."""
    with torch.no_grad(), countable_attention(), FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops())


PUBLISHED_SIZE = 224


def published_size(name: str) -> int:
    """224, or the side nearest to it that model ``name`` accepts (the larger one on a tie)."""
    entry = resolve_model(name)
    if entry.accepts(PUBLISHED_SIZE):
        return PUBLISHED_SIZE
    return min(entry.nearest_sizes(PUBLISHED_SIZE), key=lambda side: (abs(side - PUBLISHED_SIZE), -side))


def published_macs(name: str, in_channels: int, **kwargs: object) -> tuple[float, int]:
    """GMACs of model ``name`` at the published convention's input, and the side used; a size
    argument in ``kwargs`` (MedT's img_size) is replaced by that side."""
    size = published_size(name)
    torch.manual_seed(0)
    model = build_model(name, in_channels=in_channels, num_classes=1,
                        **{**kwargs, **resolve_model(name).size_kwargs(size)}).eval()
    return count_flops(model, torch.zeros(1, in_channels, size, size)) / 2 / 1e9, size


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_runs(model: torch.nn.Module, x: torch.Tensor, warmup: int, iterations: int, seconds: float) -> list[float]:
    """Durations of up to ``iterations`` runs after ``warmup``, stopping once ``seconds`` have passed."""
    times: list[float] = []
    started_all = time.perf_counter()
    with torch.no_grad():
        for i in range(warmup + iterations):
            _synchronise(x.device)
            started = time.perf_counter()
            model(x)
            _synchronise(x.device)
            if i >= warmup:
                times.append(time.perf_counter() - started)
            if times and time.perf_counter() - started_all >= seconds:
                break
    return times


def images_per_second(model: torch.nn.Module, x: torch.Tensor, timing: Timing, report: Report | None = None,
                      label: str = "") -> float:
    times = timed_runs(model, x, timing.warmup, timing.iterations, timing.seconds)
    speed = x.shape[0] / statistics.median(times)
    if report:
        report(f"{label}: batch {x.shape[0]}: {speed:.2f} images/s (median of {len(times)} timed runs, "
               f"{sum(times):.1f} s)")
    return speed


M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024


def _fix_mmap_threshold() -> bool:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_memory_mb(model: torch.nn.Module, x: torch.Tensor) -> float | None:
    """Peak memory (MB) that one inference on ``x`` adds; None where it cannot be measured."""
    with torch.no_grad():
        if x.device.type == "cuda":
            model(x)  # warm-up: kernels chosen and workspaces allocated outside the measurement
            torch.cuda.synchronize(x.device)
            torch.cuda.reset_peak_memory_stats(x.device)
            allocated = torch.cuda.memory_allocated(x.device)
            model(x)
            return (torch.cuda.max_memory_allocated(x.device) - allocated) / 2**20
        if not _fix_mmap_threshold():
            return None
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        except OSError:
            return None
        before = _status_kib("VmRSS")
        model(x)
        peak = _status_kib("VmHWM")
    return None if before is None or peak is None else max(peak - before, 0) / 1024


def _ignore(_: str) -> None:
    """The default ``report``: profile silently."""


def profiled_model(name: str, size: int, in_channels: int, device: torch.device, **kwargs: object) -> torch.nn.Module:
    """Model ``name`` as profiled: seeded weights, in inference mode, its size argument set to ``size``."""
    torch.manual_seed(0)
    kwargs = {**resolve_model(name, "--model").size_kwargs(size), **kwargs}
    return build_model(name, in_channels=in_channels, num_classes=1, **kwargs).to(device).eval()


def profile_model(name: str, shape: ProfileInput, device: torch.device, timing: Timing = Timing(),
                  report: Report = _ignore, dtype: torch.dtype | None = None) -> dict[str, object]:
    """One model's row, timed in ``dtype`` (autocast; None: fp32); ``report`` receives a line as each
    figure is measured."""
    size, batch, in_channels = shape.size, shape.batch, shape.channels
    kwargs = resolve_model(name, "--model").size_kwargs(size)
    model = profiled_model(name, size, in_channels, device, **kwargs)
    params_m = count_parameters(model) / 1e6
    report(f"{name}: {params_m:.2f} M parameters; measuring peak memory at batch {batch}")
    one = torch.rand(1, in_channels, size, size, device=device)
    many = torch.rand(batch, in_channels, size, size, device=device)
    timed = AutocastForward(model, dtype)
    memory = peak_memory_mb(timed, many)  # first, before timing runs leave memory resident
    shown = "not measurable here" if memory is None else f"{memory:.0f} MB"
    report(f"{name}: peak memory at batch {batch}: {shown}")
    flops = count_flops(model, one)
    report(f"{name}: {flops / 2e9:.2f} GMACs, {flops / 1e9:.2f} GFLOPs per image")
    macs_224, side_224 = published_macs(name, in_channels, **kwargs)
    report(f"{name}: {macs_224:.2f} GMACs at {in_channels}x{side_224}x{side_224} (published 'GFLOPs')")
    return {
        "model": name,
        "params_m": params_m,
        "macs_g": flops / 2 / 1e9,
        "gflops": flops / 1e9,
        "macs_g_224": macs_224,
        "size_224": side_224,
        "precision": precision_name(dtype),
        "fps_batch1": images_per_second(timed, one, timing, report, name),
        # the memory measurement already ran batch N once: it stands for one warm-up run
        f"fps_batch{batch}": images_per_second(
            timed, many, timing if memory is None else replace(timing, warmup=max(timing.warmup - 1, 0)), report, name),
        f"peak_memory_mb_batch{batch}": memory,
        "input": shape.shape(),
        "device": str(device),
    }


@contextmanager
def cudnn_benchmark(device: torch.device) -> Iterator[None]:
    """cuDNN's benchmark mode on while profiling on CUDA, restored after."""
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = before or device.type == "cuda"
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def profile_models(names: list[str], shape: ProfileInput = ProfileInput(), device: torch.device | None = None,
                   timing: Timing = Timing(), report: Report = _ignore,
                   dtype: torch.dtype | None = None) -> pd.DataFrame:
    """Profile each model; every size is checked first, so a bad one fails before any work."""
    size, in_channels = shape.size, shape.channels
    for name in names:
        size_kwargs = resolve_model(name, "--model").size_kwargs(size)
        check_input_size(name, size, size_kwargs, setting="--size", model_setting="--model")
        check_plugin_input(name, size, in_channels, size_kwargs, "--model")
    device = device or torch.device("cpu")
    with cudnn_benchmark(device):
        return pd.DataFrame([profile_model(n, shape, device, timing, report, dtype) for n in names])
