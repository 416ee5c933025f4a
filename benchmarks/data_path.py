"""Cost of the data path against the training step it feeds.

Times loading one batch from the memory-mapped cache and augmenting it (the ``standard`` preset,
as the trainer does, in the main process) against one forward + backward + optimiser step of a
small U-Net (about 2 M parameters) on that batch at the same size. Goal: the data path costs at
most 10 % of the step. Uses a synthetic dataset, or real data with --dataset/--root.

    python benchmarks/data_path.py [--size 256] [--batch 8] [--dataset busi --root PATH]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from busbench.augment import PairAugmentation
from busbench.data.cache import build_cache
from busbench.data.manifest import load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.torch_dataset import CachedSegmentationDataset
from busbench.losses import build_loss
from busbench.models import build_model, count_parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--root", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="busbench-bench-"))
    options = {"count": 64, "size": args.size} if args.dataset == "synthetic" else {}
    prepare_dataset(args.dataset, args.root or work / "raw", work / "manifest", options)
    manifest = load_manifest(work / "manifest")
    cache = build_cache(manifest, args.size)
    dataset = CachedSegmentationDataset(cache, manifest.frame["case_id"].tolist(), PairAugmentation("standard"))
    model = build_model("unet", in_channels=1, base_channels=16)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = build_loss("bce_dice")

    def load_batch(step: int) -> dict[str, torch.Tensor]:
        dataset.set_epoch(step)
        items = [dataset[(step * args.batch + i) % len(dataset)] for i in range(args.batch)]
        images: list[torch.Tensor] = [torch.as_tensor(x["image"]) for x in items]
        masks: list[torch.Tensor] = [torch.as_tensor(x["mask"]) for x in items]
        return {"image": torch.stack(images), "mask": torch.stack(masks)}

    def train_step(batch: dict[str, torch.Tensor]) -> None:
        optimizer.zero_grad()
        loss_fn(model(batch["image"]), batch["mask"]).backward()
        optimizer.step()

    train_step(load_batch(0))  # warm-up
    load_time = step_time = 0.0
    for step in range(1, args.steps + 1):
        started = time.perf_counter()
        batch = load_batch(step)
        loaded = time.perf_counter()
        train_step(batch)
        load_time += loaded - started
        step_time += time.perf_counter() - loaded
    print(f"batch {args.batch} at {args.size}px, U-Net {count_parameters(model) / 1e6:.2f} M parameters, "
          f"{torch.get_num_threads()} threads")
    print(f"  load + augment from cache  {1000 * load_time / args.steps:8.1f} ms per batch")
    print(f"  forward + backward + step  {1000 * step_time / args.steps:8.1f} ms per batch")
    print(f"  ratio data/step = {load_time / step_time:.3f} (goal <= 0.10)")


if __name__ == "__main__":
    main()
