"""HD95 and Dice on 500 lesion-like mask pairs of 256x256: busbench vs medpy and MONAI.

Prints the time of each, the speed-up ratios measured in this run, and the largest difference
between our values and each reference in the matching convention (medpy: pooled; MONAI:
max of the directed percentiles). Goal: at least 5x faster than medpy with identical values.

    python benchmarks/metrics_speed.py [--pairs 500] [--size 256]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from scipy.ndimage import binary_dilation, binary_erosion, gaussian_filter

from busbench.metrics.per_image import MetricRules, image_metrics


def lesion_pairs(n: int, size: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Ground truth: a smooth blob covering 0.5-25 % of the image. Prediction: the truth with a
    perturbed boundary (grown or shrunk by up to 3 px, with smooth local errors) and 0-3 small
    false-positive islands elsewhere, as a trained model's output looks."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    while len(pairs) < n:
        radius = size * np.sqrt(rng.uniform(0.005, 0.25) / np.pi)
        cy, cx = rng.uniform(radius, size - radius, 2)
        wobble = gaussian_filter(rng.standard_normal((size, size)), 8) * radius * 3
        truth = np.hypot(yy - cy, xx - cx) + wobble < radius
        grown = int(rng.integers(-3, 4))
        pred = binary_dilation(truth, iterations=grown) if grown > 0 else (
            binary_erosion(truth, iterations=-grown) if grown < 0 else truth.copy())
        band = binary_dilation(truth, iterations=4) & ~binary_erosion(truth, iterations=4)
        pred ^= band & (gaussian_filter(rng.standard_normal((size, size)), 2) > 0.25)
        for _ in range(int(rng.integers(0, 4))):
            r, (y, x) = rng.uniform(2, 6), rng.uniform(0, size, 2)
            pred |= np.hypot(yy - y, xx - x) < r
        if truth.any() and pred.any():
            pairs.append((pred, truth))
    return pairs


Pair = tuple[np.ndarray, np.ndarray]
Measure = Callable[[np.ndarray, np.ndarray], tuple[float, float]]


def timed(fn: Measure, pairs: list[Pair]) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    values = [fn(p, t) for p, t in pairs]
    return time.perf_counter() - started, np.array(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(1)
    pairs = lesion_pairs(args.pairs, args.size)

    from medpy.metric.binary import dc, hd95
    from monai.metrics.hausdorff_distance import compute_hausdorff_distance
    from monai.metrics.meandice import compute_dice

    def ours_pooled(p: np.ndarray, t: np.ndarray) -> tuple[float, float]:
        m = image_metrics(p, t, MetricRules("pooled"))
        return float(m["dice"]), float(m["hd95"])

    def ours_max(p: np.ndarray, t: np.ndarray) -> tuple[float, float]:
        m = image_metrics(p, t, MetricRules("max-directed"))
        return float(m["dice"]), float(m["hd95"])

    def medpy(p: np.ndarray, t: np.ndarray) -> tuple[float, float]:
        return float(dc(p, t)), float(hd95(p, t))

    def monai(p: np.ndarray, t: np.ndarray) -> tuple[float, float]:
        pt, tt = torch.from_numpy(p)[None, None], torch.from_numpy(t)[None, None]
        return (float(compute_dice(pt, tt, include_background=True)),
                float(compute_hausdorff_distance(pt, tt, include_background=True, percentile=95)))

    t_ours, v_ours = timed(ours_pooled, pairs)
    t_medpy, v_medpy = timed(medpy, pairs)
    t_ours_max, v_ours_max = timed(ours_max, pairs)
    t_monai, v_monai = timed(monai, pairs)
    print(f"{len(pairs)} mask pairs of {args.size}x{args.size}, Dice + HD95, one thread")
    print(f"  busbench (pooled)       {t_ours:7.3f} s")
    print(f"  medpy dc + hd95         {t_medpy:7.3f} s   ratio medpy/busbench = {t_medpy / t_ours:5.1f}x")
    print(f"  busbench (max-directed) {t_ours_max:7.3f} s")
    print(f"  MONAI                   {t_monai:7.3f} s   ratio MONAI/busbench = {t_monai / t_ours_max:5.1f}x")
    print(f"  max |ours - medpy|: Dice {np.abs(v_ours[:, 0] - v_medpy[:, 0]).max():.2e}, "
          f"HD95 {np.abs(v_ours[:, 1] - v_medpy[:, 1]).max():.2e}")
    relative = np.abs(v_ours_max - v_monai) / np.maximum(np.abs(v_monai), 1e-12)
    print(f"  max relative |ours - MONAI| (MONAI computes in float32): Dice {relative[:, 0].max():.2e}, "
          f"HD95 {relative[:, 1].max():.2e}")


if __name__ == "__main__":
    main()
