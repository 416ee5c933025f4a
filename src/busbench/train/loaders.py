"""The training and validation data loaders of a fold.

Each is built once per fold. With workers (``train.workers``; ``auto`` gives them on CUDA) they
stay alive across epochs and prefetch batches, so augmentation runs while the GPU computes instead
of before it; the epoch reaches them with every index (``EpochSampler``), so the augmented batches
of an epoch are those of a loader without workers, bit for bit. Each worker computes on one thread,
torch's and OpenCV's (``one_opencv_thread``).
"""

from __future__ import annotations

import cv2
import torch
from torch.utils.data import DataLoader

from busbench.config import TrainConfig
from busbench.data.torch_dataset import CachedSegmentationDataset, EpochSampler
from busbench.train.device import resolve_workers

PREFETCH_BATCHES = 4  # per worker: enough to ride out a slow augmentation without holding much memory


def one_opencv_thread(worker_id: int) -> None:
    """Each worker's start (``worker_init_fn``): OpenCV's own thread pool down to one thread, as torch
    already does for its own in a worker. The workers run in parallel already; else each would start
    a thread per core for albumentations' warps and resizes, workers x cores threads on the cores the
    training loop needs."""
    cv2.setNumThreads(1)


def _options(tc: TrainConfig, device: torch.device) -> dict[str, object]:
    workers = resolve_workers(tc.workers, device)
    options: dict[str, object] = {"num_workers": workers, "pin_memory": device.type == "cuda",
                                  "batch_size": tc.batch_size}
    if workers:
        options.update(persistent_workers=True, prefetch_factor=PREFETCH_BATCHES, worker_init_fn=one_opencv_thread)
    return options


def training_loader(dataset: CachedSegmentationDataset, tc: TrainConfig, device: torch.device,
                    seed: int) -> DataLoader:
    """Shuffled batches, reshuffled from ``seed + epoch`` after ``loader.sampler.set_epoch(epoch)``;
    fixed-length epochs with ``train.iterations_per_epoch``; the last partial batch dropped with
    ``train.drop_last`` unless it is the only one."""
    iterations = tc.iterations_per_epoch
    sampler = EpochSampler(len(dataset), seed, iterations * tc.batch_size if iterations else None)
    # its own generator for the workers' base seeds, which busbench does not use: the global one stays untouched
    return DataLoader(dataset, sampler=sampler, generator=torch.Generator().manual_seed(seed),
                      drop_last=tc.drop_last and len(dataset) > tc.batch_size,
                      **_options(tc, device))  # type: ignore[arg-type]


def validation_loader(dataset: CachedSegmentationDataset, tc: TrainConfig, device: torch.device) -> DataLoader:
    return DataLoader(dataset, shuffle=False, **_options(tc, device))  # type: ignore[arg-type]
