"""Training speed of busbench's step against plain loops, and how near it runs to the CPU's peak.

Loops, all on the same network weights, the same image and mask tensors, size and batch:

* ``busbench``: ``busbench.train.trainer.train_step`` (the trainer's own code: autocast with the
  chosen ``--amp`` as ``train.amp`` resolves it (auto: bf16 where the CPU has native bf16, else fp32),
  ``--channels-last``, our BCE + Dice loss, gradient clipping at 1.0, AdamW)
  plus the scheduler step and loss read-out the trainer does per batch;
* ``plain fp32``: model(x), loss, backward, step; nothing else;
* ``awesome-bus``: the per-step work of the Awesome-BUS trainer (src/trainer/trainer.py of
  Jonghwan-dev/Awesome-Segmentation-in-Medical): fp32, no AMP, its BCE + global Dice loss with a
  ``pos_weight`` moved to the device each call, ``loss.item()``, then a thresholded IoU of the
  batch read back with ``.item()`` and two pandas ``MetricTracker`` updates. Its tqdm bar and
  wandb calls are left out (not installed here; wandb is off in the seeds' default config).

The loops take turns step by step (after warm-up steps) for ``--seconds`` in all, so load from
other processes falls on all of them alike; each loop's median step time counts.

Training FLOPs per image are counted, not estimated: forward and backward under torch's
``FlopCounterMode`` (about 3 x the forward; the first layer needs no input gradient). Achieved
GFLOP/s divide them by the step time and are set against the peak of a large ``torch.matmul`` in
the loop's precision (bf16 for bf16 autocast, else fp32) at the same thread count, itself timed
in the rotation: "% peak" is a ratio of two speeds under the same load. The bf16 peak is measured
only where the loop runs in bf16: a CPU without native bf16 emulates it some 300x slower.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/train_speed.py --models unext cmunext --sizes 224 256
    ... --compile   # adds busbench + torch.compile (inductor), with its compile time
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from in_turns import times_in_turns
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from busbench.config import OptimizerConfig
from busbench.losses import build_loss
from busbench.models import build_model
from busbench.train.compile import compile_network
from busbench.train.deep_supervision import DeepSupervisionLoss
from busbench.train.device import choose_precision, place_model
from busbench.train.optim import build_optimizer
from busbench.train.trainer import Update, train_step

Step = Callable[[], None]


MATMUL_SIDE = 2048


def matmul_step(dtype: torch.dtype) -> Step:
    """A large square matmul in ``dtype``: the CPU's attainable peak, timed in the same rotation as
    the training steps so that both see the same load from other processes."""
    a, b = torch.rand(MATMUL_SIDE, MATMUL_SIDE, dtype=dtype), torch.rand(MATMUL_SIDE, MATMUL_SIDE, dtype=dtype)

    def step() -> None:
        torch.matmul(a, b)

    return step


def training_flops_per_image(model: nn.Module, x: torch.Tensor, mask: torch.Tensor) -> tuple[float, float]:
    """(forward, forward + backward) FLOPs per image, counted by FlopCounterMode."""
    with FlopCounterMode(display=False) as forward:
        logits = model(x)
    with FlopCounterMode(display=False) as both:
        F.binary_cross_entropy_with_logits(model(x), mask).backward()
    model.zero_grad(set_to_none=True)
    del logits
    return forward.get_total_flops() / len(x), both.get_total_flops() / len(x)


def busbench_step(model: nn.Module, x: torch.Tensor, mask: torch.Tensor, dtype: torch.dtype | None,
                  channels_last: bool, compile_it: bool) -> Step:
    if channels_last:
        model = place_model(model, x.device, channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    network = compile_network(model, compile_it, x.device)
    loss_fn = DeepSupervisionLoss(build_loss("bce_dice"))  # as the trainer wraps it
    optimizer = build_optimizer(OptimizerConfig(), model)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    update = Update(loss_fn, optimizer, scaler, dtype, grad_clip=1.0)

    def step() -> None:
        loss = train_step(network, x, mask, update)
        scheduler.step()
        float(loss)

    return step


def plain_step(model: nn.Module, x: torch.Tensor, mask: torch.Tensor) -> Step:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> None:
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(x), mask)
        loss.backward()
        optimizer.step()

    return step


class SeedsMetricTracker:
    """The seeds' MetricTracker: running totals in a pandas DataFrame, updated per batch."""

    def __init__(self, *keys: str) -> None:
        self.data = pd.DataFrame(0.0, index=list(keys), columns=["total", "counts", "average"])

    def update(self, key: str, value: float, n: int = 1) -> None:
        data: Any = self.data  # their three .loc operations as they are (pandas' stubs type loc[row, col] narrowly)
        data.loc[key, "total"] += value * n
        data.loc[key, "counts"] += n
        data.loc[key, "average"] = data.loc[key, "total"] / data.loc[key, "counts"]


def awesome_bus_step(model: nn.Module, x: torch.Tensor, mask: torch.Tensor) -> Step:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-5)  # the seeds' config.json
    pos_weight = torch.tensor([1.0])
    bce = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    tracker = SeedsMetricTracker("loss", "iou_score")

    def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        bce.pos_weight = pos_weight.to(logits.device)
        probability = torch.sigmoid(logits)
        overlap = (probability.flatten() * target.flatten()).sum()
        dice = 1 - (2 * overlap + 1e-7) / (probability.flatten().sum() + target.flatten().sum() + 1e-7)
        loss: torch.Tensor = 0.5 * bce(logits, target) + 0.5 * dice
        return loss

    def step() -> None:
        optimizer.zero_grad()
        output = model(x)
        loss = loss_fn(output, mask.float())
        loss.backward()
        optimizer.step()
        tracker.update("loss", loss.item(), n=x.size(0))
        with torch.no_grad():
            predicted, truth = torch.sigmoid(output.detach()) > 0.5, mask > 0.5
            overlap = (predicted & truth).sum(dim=(1, 2, 3)).float()
            union = (predicted | truth).sum(dim=(1, 2, 3)).float()
            tracker.update("iou_score", ((overlap + 1e-7) / (union + 1e-7)).mean().item(), n=x.size(0))

    return step


def lesion_masks(batch: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """Elliptical lesions of random centre and radii, as binary float masks (batch, 1, size, size)."""
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    centre = torch.rand(batch, 2, generator=generator) * size * 0.5 + size * 0.25
    radii = torch.rand(batch, 2, generator=generator) * size * 0.2 + size * 0.05
    inside = (((ys - centre[:, 0, None, None]) / radii[:, 0, None, None]) ** 2
              + ((xs - centre[:, 1, None, None]) / radii[:, 1, None, None]) ** 2) <= 1
    return inside.float()[:, None]


def measure(name: str, size: int, args: argparse.Namespace) -> dict[str, object]:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch, args.channels, size, size, generator=generator)
    mask = lesion_masks(args.batch, size, generator)
    torch.manual_seed(0)
    reference = build_model(name, in_channels=args.channels, num_classes=1).train()
    forward, training = training_flops_per_image(reference, x, mask)
    loops: dict[str, tuple[Step, str]] = {}

    def copy() -> nn.Module:
        model = build_model(name, in_channels=args.channels, num_classes=1).train()
        model.load_state_dict(reference.state_dict())
        return model

    chosen = choose_precision(args.amp, x.device, "--amp")
    loops[f"busbench ({chosen.name}{', channels-last' if args.channels_last else ''})"] = (
        busbench_step(copy(), x, mask, chosen.dtype, args.channels_last, False), chosen.name)
    loops["plain fp32"] = (plain_step(copy(), x, mask), "fp32")
    loops["awesome-bus (fp32)"] = (awesome_bus_step(copy(), x, mask), "fp32")
    compile_seconds = None
    if args.compile:
        step = busbench_step(copy(), x, mask, chosen.dtype, args.channels_last, True)
        started = time.perf_counter()
        step()  # the first step compiles the forward and backward graphs
        compile_seconds = time.perf_counter() - started
        loops["busbench + compile"] = (step, chosen.name)
    for step, _ in loops.values():
        for _ in range(args.warmup):
            step()
    peak_steps = {"fp32": matmul_step(torch.float32)}
    if chosen.dtype is not None:
        peak_steps["bf16"] = matmul_step(chosen.dtype)
    times = times_in_turns({**{label: step for label, (step, _) in loops.items()}, **peak_steps}, args.seconds,
                           minimum=3)
    peaks = {precision: 2 * MATMUL_SIDE**3 / statistics.median(times[precision]) / 1e9 for precision in peak_steps}
    row: dict[str, object] = {"model": name, "size": size, "batch": args.batch, "steps": len(times["plain fp32"]),
                              "fwd GFLOP/img": forward / 1e9, "train GFLOP/img": training / 1e9,
                              "peak fp32 GFLOP/s": peaks["fp32"], "peak bf16 GFLOP/s": peaks.get("bf16")}
    base = args.batch / statistics.median(times["plain fp32"])
    for label, (_, precision) in loops.items():
        speed = args.batch / statistics.median(times[label])
        row[f"{label} img/s"] = speed
        row[f"{label} / plain"] = speed / base
        row[f"{label} % peak"] = 100 * speed * training / 1e9 / peaks[precision]
    if compile_seconds is not None:
        row["compile s"] = compile_seconds
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["unext", "cmunext"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[224, 256])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=60.0, help="of alternating steps per model and size")
    parser.add_argument("--warmup", type=int, default=2, help="steps per loop before timing")
    parser.add_argument("--amp", choices=["auto", "bf16", "off"], default="auto",
                        help="busbench's autocast, as train.amp (bf16 only where the CPU has it natively)")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--compile", action="store_true", help="also time busbench with train.compile=true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    precision = choose_precision(args.amp, torch.device("cpu"), "--amp")
    print(f"precision: {precision.name} ({precision.reason})", flush=True)
    rows = []
    for name in args.models:
        for size in args.sizes:
            rows.append(measure(name, size, args))
            print(pd.DataFrame(rows[-1:]).T.to_string(header=False, float_format=lambda v: f"{v:.3g}"), flush=True)
    table = pd.DataFrame(rows)
    ratios = [c for c in table.columns if c.endswith(("/ plain", "% peak", "img/s", "compile s", "GFLOP/s"))]
    print("\n" + table[["model", "size", "batch", *ratios]].to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
