"""Inference speed of predict's model forward: PyTorch eager fp32, PyTorch bf16 autocast, ONNX Runtime.

Each figure times exactly what ``busbench predict`` runs per batch: ``ensemble_probabilities`` on
one model (forward, sigmoid), here without TTA, on a batch of random images in predict's layout
(N x 1 x S x S, grey). The model is built as a run with default settings builds it (seeded
weights); ONNX Runtime runs the file ``busbench export onnx`` writes for it (``export_checked``:
opset 17, dynamic batch, parity with PyTorch checked), with as many threads as torch uses.

The three engines take turns batch by batch (after one warm-up batch each) for ``--seconds`` per
model, at least ``--rounds`` turns, so that load from other processes falls on all of them alike;
each engine's median batch time counts. Prints images/s and the ratios to eager fp32. bf16 is
timed only where ``amp: auto`` takes it, on a CPU with native bf16: elsewhere it is emulated and
runs ~20x slower than fp32 (UNeXt: 1.3 against 30.5 img/s on an AVX2-only AMD EPYC).

    OMP_NUM_THREADS=2 PYTHONPATH=src python benchmarks/onnx_speed.py --models unext cmunext unet --size 256 --batch 8
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

import pandas as pd
import torch
from in_turns import times_in_turns

from busbench.deploy.onnx_export import export_checked
from busbench.deploy.onnx_runtime import OnnxRuntimeModel
from busbench.evaluate.inference import ensemble_probabilities
from busbench.markdown import markdown_table
from busbench.models.profile import profiled_model
from busbench.train.device import choose_precision

Forward = Callable[[], torch.Tensor]
RATIOS = [("bf16 / fp32", "pytorch bf16", "pytorch fp32"), ("onnxruntime / fp32", "onnxruntime", "pytorch fp32"),
          ("onnxruntime / bf16", "onnxruntime", "pytorch bf16")]


def engines(name: str, size: int, batch: int, bf16: bool) -> dict[str, Forward]:
    """predict's forward on one batch, per engine, for model ``name`` with seeded default weights."""
    model = profiled_model(name, size, 1, torch.device("cpu"))
    runtime = OnnxRuntimeModel(export_checked(model, 1, size, name)[0])
    images = torch.rand(batch, 1, size, size, generator=torch.Generator().manual_seed(0))
    forwards: dict[str, Forward] = {"pytorch fp32": lambda: ensemble_probabilities([model], images)}
    if bf16:
        forwards["pytorch bf16"] = lambda: ensemble_probabilities([model], images, dtype=torch.bfloat16)
    return {**forwards, "onnxruntime": lambda: ensemble_probabilities([runtime], images)}


def timed_in_turns(forwards: dict[str, Forward], seconds: float, rounds: int) -> dict[str, float]:
    """Median seconds per batch of each forward, the forwards taking turns."""
    for forward in forwards.values():
        forward()  # warm-up
    times = times_in_turns(dict(forwards), seconds, rounds)
    return {label: statistics.median(values) for label, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["unext", "cmunext", "unet"])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0, help="Timing per model (all engines together).")
    parser.add_argument("--rounds", type=int, default=3, help="Fewest turns per engine.")
    args = parser.parse_args()
    precision = choose_precision("auto", torch.device("cpu"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.size} px, batch {args.batch}, "
          f"1 channel; bf16 {'timed' if precision.dtype else 'not timed'} ({precision.reason})", flush=True)
    rows = []
    for name in args.models:
        medians = timed_in_turns(engines(name, args.size, args.batch, precision.dtype is not None), args.seconds,
                                 args.rounds)
        speeds = {label: args.batch / seconds for label, seconds in medians.items()}
        rows.append({"model": name, **{f"{label} img/s": round(speed, 2) for label, speed in speeds.items()},
                     **{label: round(speeds[a] / speeds[b], 2) for label, a, b in RATIOS if {a, b} <= set(speeds)}})
        print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
    print()
    print(markdown_table(pd.DataFrame(rows)))


if __name__ == "__main__":
    main()
