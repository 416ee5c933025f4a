"""Images per second the training loader delivers, per augmentation preset and number of workers.

A GPU trains a 256-px UNeXt at thousands of images per second; the loader (cache read, augmentation,
collation) must keep up, which one process cannot for the heavier presets. This builds the
trainer's own loader (``busbench.train.loaders.training_loader``, persistent workers) over a
synthetic cache and times whole epochs after a first one that starts the workers.

    OMP_NUM_THREADS=1 python benchmarks/loader_speed.py [--size 256] [--images 128] [--workers 0 1 2]
        [--preset standard nnunet ...] [--epochs 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import get_args

import torch

from busbench.augment import PairAugmentation
from busbench.config import TrainConfig
from busbench.data.cache import build_cache
from busbench.data.manifest import load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.torch_dataset import CachedSegmentationDataset
from busbench.train.loaders import training_loader

PRESETS = [p for p in get_args(TrainConfig.model_fields["augmentation"].annotation) if p != "none"]


def images_per_second(dataset: CachedSegmentationDataset, workers: int, batch: int, epochs: int) -> float:
    loader = training_loader(dataset, TrainConfig(workers=workers, batch_size=batch), torch.device("cpu"), seed=0)
    seen, seconds = 0, 0.0
    for epoch in range(epochs + 1):  # epoch 0 starts the workers and is not timed
        loader.sampler.set_epoch(epoch)  # type: ignore[attr-defined]
        started = time.perf_counter()
        count = sum(len(b["image"]) for b in loader)
        if epoch:
            seen, seconds = seen + count, seconds + time.perf_counter() - started
    return seen / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--preset", nargs="+", default=PRESETS, choices=PRESETS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="busbench-loader-"))
    prepare_dataset("synthetic", work / "raw", work / "manifest", {"count": args.images, "size": args.size})
    manifest = load_manifest(work / "manifest")
    cache = build_cache(manifest, args.size, cache_root=work)
    ids = manifest.frame["case_id"].tolist()
    print(f"{len(ids)} synthetic images at {args.size} px, batch {args.batch}, {args.epochs} timed epochs; "
          f"{torch.get_num_threads()} torch thread(s) per process")
    print("| preset | " + " | ".join(f"{w} workers (img/s)" for w in args.workers) + " |")
    print("|---|" + "---:|" * len(args.workers))
    for preset in args.preset:
        dataset = CachedSegmentationDataset(cache, ids, PairAugmentation(preset), seed=0)
        speeds = [images_per_second(dataset, w, args.batch, args.epochs) for w in args.workers]
        print(f"| {preset} | " + " | ".join(f"{s:.0f}" for s in speeds) + " |", flush=True)


if __name__ == "__main__":
    main()
